// Experiments list: while a search runs, refresh the rows every few seconds.
import { $, refreshFragments } from './lib.js';

const table = $('#experiments-table');

async function poll() {
  await refreshFragments(['experiment-rows']).catch(() => []);
  if (document.querySelector('#experiment-rows .badge-running')) setTimeout(poll, 2500);
}

if (table?.dataset.live === 'true') setTimeout(poll, 2500);
