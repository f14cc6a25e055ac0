// New experiment: preview the chosen spec file, switch between file and pasted text.
import { $, $$, fetchJson } from './lib.js';

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
