/** leaderboardPage and chartSample (services/leaderboard-page.ts) on hand-made rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chartSample,
  leaderboardPage,
  WHOLE_LEADERBOARD,
  type LeaderboardQuery,
  type SortableRow,
} from '../../../server/services/leaderboard-page.js';
import type { RunStatus } from '../../../server/storage/run-store.js';

/** Rows in leaderboard order: `finished` ranked ones (scores falling), then two running, one queued and one failed. */
function rows(finished: number): SortableRow[] {
  const ranked = Array.from({ length: finished }, (_, i) => ({
    runId: 100 + i,
    number: finished - i,
    rank: i + 1,
    selected: false,
    status: 'done' as RunStatus,
    scoreMean: 0.9 - i * 0.01,
    refitEpochs: 10,
    paramCount: [300, 100, 200][i % 3]!,
    trainMs: 1000 + i,
    params: { activation: ['tanh', 'relu'][i % 2]!, width: [16, 8][i % 2]! },
    provisional: null,
  }));
  const rest = (['running', 'running', 'queued', 'failed'] as const).map((status, i) => ({
    runId: 900 + i,
    number: finished + 1 + i,
    rank: null,
    selected: false,
    status,
    scoreMean: null,
    refitEpochs: null,
    paramCount: null,
    trainMs: null,
    params: { activation: 'relu', width: 4 },
    provisional: i === 0 ? { rank: 1 } : null,
  }));
  return [...ranked, ...rest];
}

const query = (change: Partial<LeaderboardQuery>): LeaderboardQuery => ({ ...WHOLE_LEADERBOARD, ...change });
const ids = (list: readonly SortableRow[]) => list.map((row) => row.runId);

test('leaderboardPage: every row in order without paging; pages of a size, the last one short, a page past the end clamped', () => {
  const board = rows(10);
  const whole = leaderboardPage(board, WHOLE_LEADERBOARD, null);
  assert.deepEqual(ids(whole.rows), ids(board));
  assert.deepEqual([whole.info.page, whole.info.pages, whole.info.total, whole.info.runsTotal], [1, 1, 14, 14]);
  const second = leaderboardPage(board, query({ page: 2, pageSize: 5 }), null);
  assert.deepEqual(ids(second.rows), ids(board.slice(5, 10)));
  assert.deepEqual([second.info.page, second.info.pages], [2, 3]);
  const past = leaderboardPage(board, query({ page: 99, pageSize: 5 }), null);
  assert.deepEqual([past.info.page, ids(past.rows)], [3, ids(board.slice(10))]);
  const empty = leaderboardPage(board, query({ page: 1, pageSize: 5, status: ['pruned'] }), null);
  assert.deepEqual([empty.rows.length, empty.info.page, empty.info.pages, empty.info.total], [0, 1, 1, 0]);
});

test('leaderboardPage: sorts by a column either way with empty cells last, ties in leaderboard order', () => {
  const board = rows(6);
  const up = leaderboardPage(board, query({ sort: 'paramCount', order: 'asc' }), null).rows;
  assert.deepEqual(
    up.map((row) => row.paramCount),
    [100, 100, 200, 200, 300, 300, null, null, null, null],
  );
  assert.deepEqual(ids(up.slice(0, 2)), [101, 104], 'equal values keep the leaderboard order');
  const down = leaderboardPage(board, query({ sort: 'paramCount', order: 'desc' }), null).rows;
  assert.deepEqual(
    down.map((row) => row.paramCount),
    [300, 300, 200, 200, 100, 100, null, null, null, null],
  );
  assert.deepEqual(ids(down.slice(0, 2)), [100, 103], 'ties stay in leaderboard order when descending too');
  const byText = leaderboardPage(board, query({ sort: 'activation', order: 'asc' }), null).rows;
  assert.deepEqual([...new Set(byText.map((row) => row.params.activation))], ['relu', 'tanh']);
  const byRank = leaderboardPage(board, query({ sort: 'rank', order: 'desc' }), null).rows;
  assert.deepEqual(ids(byRank).slice(0, 7), [900, 105, 104, 103, 102, 101, 100], 'the provisional run ranks after the finished ones');
  assert.deepEqual(ids(byRank).slice(7), [901, 902, 903], 'runs with no rank at all last');
  const byStatus = leaderboardPage(board, query({ sort: 'status', order: 'desc' }), null).rows;
  assert.deepEqual(
    byStatus.map((row) => row.status),
    ['failed', 'queued', 'running', 'running', 'done', 'done', 'done', 'done', 'done', 'done'],
  );
});

test('leaderboardPage: filters by status and by the runs carrying a tag before paging', () => {
  const board = rows(8);
  const running = leaderboardPage(board, query({ status: ['running', 'failed'] }), null);
  assert.deepEqual(ids(running.rows), [900, 901, 903]);
  assert.deepEqual([running.info.total, running.info.runsTotal], [3, 12]);
  const tagged = leaderboardPage(board, query({ tag: 'keep', page: 2, pageSize: 2 }), new Set([101, 103, 105, 901]));
  assert.deepEqual(ids(tagged.rows), [105, 901]);
  assert.equal(tagged.info.total, 4);
});

test(
  'chartSample: every finished run up to the size; ' +
    'past it the best `top` whole, an even spread of the rest with the worst, the selected run',
  () => {
    const few = chartSample(rows(5), 10, 3);
    assert.deepEqual(ids(few.rows), [100, 101, 102, 103, 104, 900, 901]);
    assert.deepEqual(few.info, { shown: 5, finished: 5, top: 3, sampled: false });

    const many = rows(23).map((row) => (row.runId === 110 ? { ...row, selected: true } : row));
    const sampled = chartSample(many, 6, 3);
    // The best 3, then 3 of the other 20 evenly (the first, the middle and the worst), and the selected run in its place.
    assert.deepEqual(ids(sampled.rows), [100, 101, 102, 103, 110, 113, 122, 900, 901]);
    assert.deepEqual(sampled.info, { shown: 7, finished: 23, top: 3, sampled: true });
    assert.ok(
      sampled.rows.every((row) => row.status !== 'queued' && row.status !== 'failed'),
      'unfinished rows: the leading and the running only',
    );
  },
);
