/**
 * The leaderboard's query parameters, read alike by GET /api/experiments/:id/runs and the
 * experiment page (and its row fragments): `page`, `pageSize`, `sort`, `order`, `status`, `tag`,
 * and `sample` for the rows the page's charts draw. A bad value is a 400 naming the parameter.
 */
import { ValidationError } from '../errors.js';
import type { Direction, ParamName } from '../../worker/contract/vocabulary.js';
import type { RunStatus } from '../storage/run-store.js';
import {
  defaultOrder,
  LEADERBOARD_SORTS,
  MAX_CHART_SAMPLE,
  MAX_PAGE_SIZE,
  SORT_ORDERS,
  STATUS_ORDER,
  type LeaderboardQuery,
  type LeaderboardSort,
  type SortOrder,
} from '../services/leaderboard-page.js';
import type { DashboardServices } from '../services/dashboard-services.js';
import type { LeaderboardPage } from '../services/experiment-queries.js';
import { parseTagQuery } from './note-params.js';

const invalid = (path: string, message: string) => new ValidationError(`${path}: ${message}`, [{ path, message }]);

type Query = Readonly<Record<string, unknown>>;

/** One text value of a parameter; undefined when absent or empty. */
function text(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(name, 'expected one value');
  return value.trim();
}

function wholeNumber(query: Query, name: string, max: number): number | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  const number = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= 1 && number <= max))
    throw invalid(name, `expected a whole number from 1 to ${max}, got ${JSON.stringify(value.slice(0, 40))}`);
  return number;
}

const STATUSES = Object.keys(STATUS_ORDER) as RunStatus[];

export type LeaderboardDefaults = {
  /** The board's searched hyperparameters: the other columns `sort` accepts. */
  readonly columns: readonly ParamName[];
  readonly direction: Direction;
  /** Rows on a page when neither `page` nor `pageSize` is given; null: every row. */
  readonly pageSize: number | null;
};

/**
 * `?page=2&pageSize=50&sort=paramCount&order=desc&status=done,running&tag=wide`. Without `order`,
 * a column sorts its own way first (the score best first); `page` without `pageSize` pages by 50.
 * @throws {ValidationError} naming the parameter
 */
export function parseLeaderboardQuery(query: Query, defaults: LeaderboardDefaults): LeaderboardQuery {
  const sortText = text(query, 'sort') ?? 'rank';
  const sorts: readonly string[] = [...LEADERBOARD_SORTS, ...defaults.columns];
  if (!sorts.includes(sortText)) throw invalid('sort', `expected one of ${sorts.join(', ')}, got ${JSON.stringify(sortText.slice(0, 40))}`);
  const sort = sortText as LeaderboardSort;
  const orderText = text(query, 'order');
  if (orderText !== undefined && !(SORT_ORDERS as readonly string[]).includes(orderText))
    throw invalid('order', `expected asc or desc, got ${JSON.stringify(orderText.slice(0, 40))}`);
  const statusText = text(query, 'status');
  const status =
    statusText === undefined
      ? null
      : [...new Set(statusText.split(',').map((part) => part.trim()))].map((part) => {
          if (!(STATUSES as string[]).includes(part))
            throw invalid('status', `expected some of ${STATUSES.join(', ')}, got ${JSON.stringify(part.slice(0, 40))}`);
          return part as RunStatus;
        });
  const page = wholeNumber(query, 'page', 1_000_000);
  const pageSize = wholeNumber(query, 'pageSize', MAX_PAGE_SIZE);
  const paged = page !== undefined || pageSize !== undefined;
  return {
    sort,
    order: (orderText as SortOrder | undefined) ?? defaultOrder(sort, defaults.direction),
    status,
    tag: parseTagQuery(query.tag),
    page: page ?? (paged || defaults.pageSize !== null ? 1 : null),
    pageSize: pageSize ?? (paged ? null : defaults.pageSize),
  };
}

/** The parameters a chart sample cannot be asked for with: it is always the whole board's. */
const NOT_WITH_SAMPLE = ['page', 'pageSize', 'sort', 'order', 'status', 'tag'] as const;

/**
 * `?sample=800`: the size of the charts' sample, or null when not asked for.
 * @throws {ValidationError} naming `sample`, or a paging parameter given with it
 */
export function parseSampleSize(query: Query): number | null {
  const size = wholeNumber(query, 'sample', MAX_CHART_SAMPLE);
  if (size === undefined) return null;
  const clash = NOT_WITH_SAMPLE.find((name) => text(query, name) !== undefined);
  if (clash) throw invalid(clash, 'not with sample: the charts sample the whole leaderboard');
  return size;
}

/**
 * The leaderboard page a request asks for (`pageSize`: rows per page when it asks for none; null:
 * every row). @throws {ValidationError} naming a bad parameter; {NotFoundError}
 */
export function leaderboardFor(
  services: Pick<DashboardServices, 'queries' | 'notes'>,
  experimentId: number,
  query: Query,
  pageSize: number | null,
): LeaderboardPage {
  const { columns, direction } = services.queries.shape(experimentId);
  const parsed = parseLeaderboardQuery(query, { columns, direction, pageSize });
  const tagged = parsed.tag === null ? null : services.notes.runsTagged(experimentId, parsed.tag);
  return services.queries.page(experimentId, parsed, tagged);
}
