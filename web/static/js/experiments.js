// Experiments list: the rows refresh when any experiment changes, in this process or another
// (Server-Sent Events of /api/events: status changes and finished runs, never epochs).
import { $, liveStream, refreshFragments, throttle } from './lib.js';

const refresh = throttle(async () => {
  // The first experiment of an empty list: the table is not on the page yet.
  if (!$('#experiment-rows')) return location.reload();
  await refreshFragments(['experiment-rows']).catch(() => []);
}, 1500);

let connections = 0;
liveStream('/api/events', {
  // Changes between rendering the page and subscribing (or during a reconnect) were missed: catch up.
  hello: () => {
    connections++;
    if (connections > 1 || $('#experiments-table')?.dataset.live === 'true') refresh();
  },
  experiment: refresh,
  run: refresh,
  search: refresh,
  resync: refresh,
});
