// Notes and tags on an experiment or a run: the notes form saves through the API and the card is
// re-rendered by the server. The form works without this module too (a POST answered by a
// redirect); the leaderboard's tag filter is experiment.js's.
import { $, postJson, refreshFragments } from './lib.js';

document.addEventListener('submit', async (event) => {
  const form = event.target.closest?.('.notes-form');
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector('button[type=submit]');
  const status = $('.notes-status', form);
  for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');
  button.disabled = true;
  status.classList.remove('error');
  status.textContent = 'Saving…';
  try {
    await postJson(form.dataset.api, { note: form.elements.note.value, tags: form.elements.tags.value });
    await refreshFragments(['notes-card']);
    $('#notes details')?.removeAttribute('open');
  } catch (error) {
    button.disabled = false;
    status.classList.add('error');
    status.textContent = error.message;
    const field = error.issues?.[0]?.path?.split('.')[0];
    if (field && form.elements[field]) form.elements[field].setAttribute('aria-invalid', 'true');
  }
});
