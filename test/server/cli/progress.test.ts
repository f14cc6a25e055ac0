import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoordinatorEventBus } from '../../../server/coordinator/events.js';
import { createSearchProgressBar, followRefitProgress, ThrottledLines } from '../../../server/cli/progress.js';

/** A log file as cli code sees it: not a terminal, lines collected. */
function logStream(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) };
  return { stream: stream as unknown as NodeJS.WriteStream, lines };
}

test('ThrottledLines: the first line at once, then at most one per interval and only when the state changed', () => {
  let now = 0;
  const printed: string[] = [];
  const lines = new ThrottledLines(
    (line) => printed.push(line.trim()),
    5000,
    () => now,
  );
  lines.offer('a', 'A');
  for (now = 1; now < 20_000; now += 100) lines.offer('a', 'A again'); // unchanged for 20 s: nothing
  assert.deepEqual(printed, ['A']);
  now = 20_000;
  lines.offer('b', 'B'); // changed and due
  now = 20_100;
  lines.offer('c', 'C'); // changed but not due: held back…
  now = 21_000;
  lines.offer('d', 'D'); // …and replaced by the newer state
  assert.deepEqual(printed, ['A', 'B']);
  lines.finish(); // the last state is never lost
  assert.deepEqual(printed, ['A', 'B', 'D']);
  lines.finish();
  assert.deepEqual(printed, ['A', 'B', 'D']);
});

test('search progress in a log: hundreds of updates a second become a few lines, the final state last', () => {
  const { stream, lines } = logStream();
  let now = 0;
  const bar = createSearchProgressBar('auc', stream, { intervalMs: 5000, now: () => now });
  for (let i = 0; i <= 1000; i++) {
    now = i * 10; // an update every 10 ms for 10 s
    bar.update({ experimentId: 1, tasksDone: Math.floor(i / 100), tasksTotal: 10, elapsedMs: now, best: null, leading: null });
  }
  bar.stop();
  assert.ok(lines.length <= 4, lines.join('\n'));
  assert.match(lines[0]!, /^search 0\/10 tasks \| 0:00 elapsed \| ETA — \| best auc —$/);
  assert.match(lines.at(-1)!, /^search 10\/10 tasks \| 0:10 elapsed/);
});

test('search progress: the best finished run, and apart from it the leading unfinished one with its folds', () => {
  const { stream, lines } = logStream();
  const bar = createSearchProgressBar('auc', stream, { intervalMs: 0 });
  const progress = { experimentId: 1, tasksTotal: 10, elapsedMs: 1000 };
  const leading = { runId: 17, number: 7, score: 0.95123, foldsDone: 2, nFolds: 5 };
  bar.update({ ...progress, tasksDone: 2, best: null, leading });
  bar.update({ ...progress, tasksDone: 6, best: { runId: 13, number: 3, score: 0.93, foldsDone: 5, nFolds: 5 }, leading });
  bar.update({ ...progress, tasksDone: 10, best: { runId: 17, number: 7, score: 0.94, foldsDone: 5, nFolds: 5 }, leading: null });
  bar.stop();
  assert.match(lines[0]!, /\| best auc — \| leading 0\.9512 \(run #7, 2\/5 folds\)$/);
  assert.match(lines[1]!, /\| best auc 0\.9300 \(run #3\) \| leading 0\.9512 \(run #7, 2\/5 folds\)$/);
  assert.match(lines[2]!, /\| best auc 0\.9400 \(run #7\)$/);
});

test('refit progress follows the refit run announced on the event bus, epoch by epoch', () => {
  const { stream, lines } = logStream();
  const events = new CoordinatorEventBus();
  const stop = followRefitProgress(events, 7, stream);
  events.emit('epoch', { experimentId: 7, runId: 3, foldIndex: 0, epoch: 0, metrics: { loss: 1 } }); // a search run: ignored
  events.emit('refit', { experimentId: 7, runId: 9, sourceRunId: 3, epochs: 12 });
  for (let epoch = 0; epoch < 12; epoch++)
    events.emit('epoch', { experimentId: 7, runId: 9, foldIndex: 0, epoch, metrics: { loss: 1 / (epoch + 1) } });
  stop();
  assert.match(lines[0]!, /^refit epoch 1\/12 \| loss 1\.0000 \| 0:00 elapsed$/);
  assert.match(lines.at(-1)!, /^refit epoch 12\/12 \| loss 0\.0833/);
});
