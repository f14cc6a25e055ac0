/**
 * One page of a leaderboard, sorted by any of its columns and filtered by status and tag, and the
 * sample of it the experiment page's charts draw. Pure functions over rows already ranked
 * (experiment-queries.ts): at 10,000 runs the page and the API send 50 rows, not all of them.
 */
import type { Direction, ParamName } from '../../worker/contract/vocabulary.js';
import type { RunStatus } from '../storage/run-store.js';

/** The columns a leaderboard sorts by besides its searched hyperparameters: rank is the leaderboard's own order. */
export const LEADERBOARD_SORTS = ['rank', 'number', 'score', 'refitEpochs', 'paramCount', 'trainMs', 'status'] as const;
export type LeaderboardSort = (typeof LEADERBOARD_SORTS)[number] | ParamName;
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** Rows on a page when a page is asked for without a size, and on the experiment page. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** The experiment page's charts draw at most this many finished runs: every one of the best CHART_TOP, then an even spread of the rest. */
export const CHART_SAMPLE = 800;
export const CHART_TOP = 200;
export const MAX_CHART_SAMPLE = 5000;
/** The leading unfinished runs and the running ones a sample carries after the finished ones (the learning curves plot a few). */
const SAMPLE_LEADERS = 10;

export type LeaderboardQuery = {
  readonly sort: LeaderboardSort;
  readonly order: SortOrder;
  /** Only runs with one of these statuses; null: every status. */
  readonly status: readonly RunStatus[] | null;
  /** Only runs carrying this tag; null: every run. */
  readonly tag: string | null;
  /** 1-based, clamped to the last page; null (with pageSize null): every row on one page. */
  readonly page: number | null;
  readonly pageSize: number | null;
};

/** Where a page sits: what was asked (the page as clamped) and how many rows there are. */
export type PageInfo = {
  readonly sort: LeaderboardSort;
  readonly order: SortOrder;
  readonly status: readonly RunStatus[] | null;
  readonly tag: string | null;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
  /** Rows that pass the filters. */
  readonly total: number;
  /** Rows before the filters: every search run. */
  readonly runsTotal: number;
};

/** What sorting and sampling read of a row. */
export type SortableRow = {
  readonly runId: number;
  readonly number: number;
  readonly rank: number | null;
  readonly selected: boolean;
  readonly status: RunStatus;
  readonly scoreMean: number | null;
  readonly refitEpochs: number | null;
  readonly paramCount: number | null;
  readonly trainMs: number | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly provisional: { readonly rank: number } | null;
};

/** The whole leaderboard in its own order: what the API answers without paging parameters. */
export const WHOLE_LEADERBOARD: LeaderboardQuery = { sort: 'rank', order: 'asc', status: null, tag: null, page: null, pageSize: null };

/** Which way a column sorts first: the score best first, the others ascending. */
export function defaultOrder(sort: LeaderboardSort, direction: Direction): SortOrder {
  return sort === 'score' && direction === 'maximize' ? 'desc' : 'asc';
}

/** Where a status sorts: finished runs first, failed last (the leaderboard's order after the ranked runs). */
export const STATUS_ORDER: Readonly<Record<RunStatus, number>> = { done: 0, running: 1, queued: 2, interrupted: 3, pruned: 4, failed: 5 };

/** A row's value in a column; null sorts last either way. Unfinished runs rank after the finished ones, by their provisional rank. */
function cellValue(row: SortableRow, sort: LeaderboardSort): number | string | null {
  switch (sort) {
    case 'rank':
      return row.rank ?? (row.provisional ? 1_000_000 + row.provisional.rank : null);
    case 'number':
      return row.number;
    case 'score':
      return row.scoreMean;
    case 'refitEpochs':
      return row.refitEpochs;
    case 'paramCount':
      return row.paramCount;
    case 'trainMs':
      return row.trainMs;
    case 'status':
      return STATUS_ORDER[row.status];
    default: {
      const value = row.params[sort];
      return typeof value === 'number' || typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
    }
  }
}

const collator = new Intl.Collator('en', { numeric: true });

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1; // numbers before text in a mixed column
  if (typeof b === 'number') return 1;
  return collator.compare(a, b);
}

/**
 * The rows of one page: filtered by status and by tag (`tagged`: the runs carrying `query.tag`),
 * sorted (ties and empty cells in the leaderboard's order, empty cells last either way), sliced.
 */
export function leaderboardPage<R extends SortableRow>(
  rows: readonly R[],
  query: LeaderboardQuery,
  tagged: ReadonlySet<number> | null,
): { readonly rows: R[]; readonly info: PageInfo } {
  const statuses = query.status === null ? null : new Set(query.status);
  const kept = rows.filter(
    (row) => (statuses === null || statuses.has(row.status)) && (query.tag === null || (tagged?.has(row.runId) ?? false)),
  );
  const sign = query.order === 'asc' ? 1 : -1;
  const keyed = kept.map((row, index) => ({ row, index, value: cellValue(row, query.sort) }));
  keyed.sort((a, b) => {
    if (a.value === null || b.value === null) return a.value === b.value ? a.index - b.index : a.value === null ? 1 : -1;
    return sign * compareValues(a.value, b.value) || a.index - b.index;
  });
  const total = keyed.length;
  const pageSize = query.pageSize ?? (query.page === null ? Math.max(1, total) : DEFAULT_PAGE_SIZE);
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const page = Math.min(query.page ?? 1, pages);
  const start = (page - 1) * pageSize;
  return {
    rows: keyed.slice(start, start + pageSize).map((entry) => entry.row),
    info: {
      sort: query.sort,
      order: query.order,
      status: query.status,
      tag: query.tag,
      page,
      pageSize,
      pages,
      total,
      runsTotal: rows.length,
    },
  };
}

/** A sample's size: finished runs in the sample, of how many, and how many of the best it holds whole. */
export type SampleInfo = { readonly shown: number; readonly finished: number; readonly top: number; readonly sampled: boolean };

/**
 * The rows the experiment page's charts and curves read: the finished runs when there are at most
 * `size` of them; else the best `top` and an even spread of the rest (the worst included), `size`
 * in all, plus the selected run wherever it ranks; then the leading unfinished and running runs.
 * In the leaderboard's order.
 */
export function chartSample<R extends SortableRow>(
  rows: readonly R[],
  size: number,
  top = CHART_TOP,
): { readonly rows: R[]; readonly info: SampleInfo } {
  const finished = rows.filter((row) => row.rank !== null);
  const best = Math.min(top, size);
  let chosen: R[];
  if (finished.length <= size) chosen = finished;
  else {
    const rest = finished.slice(best);
    const spread = size - best;
    const picked = new Set<number>();
    for (let i = 0; i < spread; i++) picked.add(spread === 1 ? rest.length - 1 : Math.round((i * (rest.length - 1)) / (spread - 1)));
    chosen = [...finished.slice(0, best), ...rest.filter((row, index) => picked.has(index) || row.selected)];
  }
  const provisional = rows.filter((row) => row.rank === null && row.provisional !== null).slice(0, SAMPLE_LEADERS);
  const running = rows.filter((row) => row.status === 'running' && row.provisional === null).slice(0, SAMPLE_LEADERS);
  return {
    rows: [...chosen, ...provisional, ...running],
    info: {
      shown: chosen.length,
      finished: finished.length,
      top: Math.min(best, finished.length),
      sampled: chosen.length < finished.length,
    },
  };
}
