// New experiment: preview the chosen spec file, switch between file and pasted text.
import { $, $$, fetchJson, pageData, refreshFragments } from './lib.js';

const select = $('#specFile');
const preview = $('#spec-preview');
const description = $('#spec-description');
const editCopy = $('#edit-copy');
const textarea = $('#specText');
const radios = $$('input[name=source]');

function source() {
  return radios.find((r) => r.checked)?.value ?? 'text';
}

function syncFields() {
  const isFile = source() === 'file';
  $('#field-specFile').classList.toggle('inactive', !isFile);
  $('#field-specText').classList.toggle('inactive', isFile);
  // The file's text only while a file is the source: pasted text and its errors stay in view.
  if (preview.textContent) preview.hidden = !isFile;
  if (editCopy && preview.textContent) editCopy.hidden = !isFile;
}

async function showPreview() {
  if (!select?.value) return;
  try {
    const { text } = await fetchJson(`/api/specs/${encodeURIComponent(select.value)}`);
    preview.textContent = text;
    preview.hidden = source() !== 'file';
    editCopy.hidden = source() !== 'file';
    const described = /^description:\s*(.+)$/m.exec(text);
    description.textContent = described ? described[1] : '';
  } catch (error) {
    preview.hidden = true;
    editCopy.hidden = true;
    description.textContent = error.message;
  }
}

for (const radio of radios) radio.addEventListener('change', syncFields);
select?.addEventListener('change', () => {
  radios.find((r) => r.value === 'file').checked = true;
  syncFields();
  void showPreview();
});
textarea.addEventListener('focus', () => {
  radios.find((r) => r.value === 'text').checked = true;
  syncFields();
});
editCopy?.addEventListener('click', () => {
  textarea.value = preview.textContent;
  radios.find((r) => r.value === 'text').checked = true;
  syncFields();
  textarea.focus();
});

syncFields();
void showPreview();
document.querySelector('.field-errors')?.scrollIntoView({ block: 'center' });

// ── CSV uploads: send the file's bytes, list it, and write its `csv` dataset into the pasted spec.
const { uploadLimitBytes, uploadLimitMb } = pageData();
const fileInput = $('#upload-file');
const uploadStatus = $('#upload-status');

function say(text, isError = false) {
  uploadStatus.textContent = text;
  uploadStatus.classList.toggle('error', isError);
  uploadStatus.classList.toggle('success', !isError);
  uploadStatus.setAttribute('role', isError ? 'alert' : 'status');
  uploadStatus.hidden = text === '';
}

const sizeText = (bytes) => (bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`);

/** A YAML scalar: plain when that reads back as the same string, else double-quoted (JSON strings are YAML). */
function yamlScalar(value) {
  return /^[A-Za-z0-9_./][A-Za-z0-9_./ -]*$/.test(value) && !/ $/.test(value) && !/^(true|false|null|yes|no|~|[\d.]+)$/i.test(value)
    ? value
    : JSON.stringify(value);
}

/** An experiment name from a file name: the spec's rule is 1-64 letters, digits, `.`, `_`, `-`. */
function nameFrom(fileName) {
  const stem = fileName
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return stem.slice(0, 64) || 'uploaded-csv';
}

/** What a starter spec holds after its dataset: a small grid, 5-fold CV with early stopping. */
const STARTER_REST = [
  'grid:',
  '  depth: [1, 2]',
  '  width: [16, 64]',
  '  epochs: 40',
  'validation:',
  '  kind: kfold',
  '  k: 5',
  '  earlyStopping: { monitor: val_loss, patience: 5 }',
  '',
].join('\n');

function datasetYaml(path, target) {
  return `dataset:\n  kind: csv\n  path: ${yamlScalar(path)}\n  target: ${target === null ? '# a column name' : yamlScalar(target)}\n`;
}

/**
 * The spec text with its dataset replaced by this CSV: a starter spec when the box is empty, the
 * `dataset:` block swapped in YAML (added after `name:` when there is none), the key set in JSON.
 */
function withDataset(text, { path, target, fileName }) {
  if (text.trim() === '') {
    return `name: ${nameFrom(fileName)}\n${datasetYaml(path, target)}${STARTER_REST}`;
  }
  if (text.trim().startsWith('{')) {
    const spec = JSON.parse(text);
    spec.dataset = { kind: 'csv', path, target: target ?? '' };
    return `${JSON.stringify(spec, null, 2)}\n`;
  }
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /^dataset\s*:/.test(line));
  const block = datasetYaml(path, target).trimEnd().split('\n');
  if (start < 0) {
    const after = lines.findIndex((line) => /^name\s*:/.test(line)) + 1;
    lines.splice(after, 0, ...block);
    return lines.join('\n');
  }
  let end = start + 1;
  while (end < lines.length && (lines[end].trim() === '' || /^\s/.test(lines[end]))) end++;
  while (end > start + 1 && lines[end - 1].trim() === '') end--; // blank lines before the next key stay
  lines.splice(start, end - start, ...block);
  return lines.join('\n');
}

function useUpload(row) {
  const target = $('.upload-target', row)?.value ?? null;
  const upload = { path: row.dataset.path, target, fileName: row.dataset.name };
  try {
    textarea.value = withDataset(textarea.value, upload);
  } catch {
    say('The pasted spec is not valid JSON, so its dataset could not be replaced: fix it or empty the box.', true);
    return false;
  }
  radios.find((r) => r.value === 'text').checked = true;
  syncFields();
  textarea.scrollIntoView({ block: 'center' });
  return true;
}

async function upload(file) {
  if (file.size > uploadLimitBytes) {
    say(`${file.name} is ${sizeText(file.size)}; the upload limit is ${uploadLimitMb} MB.`, true);
    return;
  }
  say(`Uploading ${file.name} (${sizeText(file.size)})…`);
  try {
    const response = await fetchJson(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      // Whatever the browser calls the file (Windows says application/vnd.ms-excel), its bytes are the CSV.
      headers: { 'Content-Type': 'text/csv' },
      body: file,
    });
    await refreshFragments(['upload-list'], '/experiments/new');
    const row = $$('#upload-list tr[data-sha256]').find((tr) => tr.dataset.sha256 === response.upload.sha256);
    const stored = response.reused
      ? `${file.name} was uploaded before (as ${response.upload.fileName}): reusing it`
      : `Stored ${file.name}`;
    if (row && useUpload(row)) say(`${stored}; its dataset is in the pasted spec above (target: the last column; pick another below).`);
    else say(`${stored}.`);
  } catch (error) {
    say(`Not uploaded: ${error.message}`, true);
  } finally {
    fileInput.value = '';
  }
}

fileInput?.addEventListener('change', () => {
  const [file] = fileInput.files;
  if (file) void upload(file);
});
// The list is swapped after an upload: listen on the document, not the rows.
document.addEventListener('click', (event) => {
  const row = event.target.closest?.('.use-upload')?.closest('tr');
  if (row && useUpload(row)) say(`The dataset of ${row.dataset.name} is in the pasted spec above.`);
});
// Another target for the file the spec already uses: rewrite it there too.
document.addEventListener('change', (event) => {
  const row = event.target.closest?.('.upload-target') ? event.target.closest('tr') : null;
  if (row && textarea.value.includes(row.dataset.path) && useUpload(row)) say(`Target set to ${event.target.value}.`);
});
