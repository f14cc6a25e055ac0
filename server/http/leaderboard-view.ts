/**
 * What the experiment page's leaderboard shows around its rows: the column headers as links that
 * sort on the server, the pager, and the status filter. Every link keeps the other parameters, so
 * the page works without JavaScript; experiment.js follows the same links and swaps the rows in.
 */
import type { LeaderboardPage } from '../services/experiment-queries.js';
import { defaultOrder, LEADERBOARD_SORTS, STATUS_ORDER, type LeaderboardSort } from '../services/leaderboard-page.js';
import type { RunStatus } from '../storage/run-store.js';

type Link = { readonly href: string; readonly ariaSort: 'ascending' | 'descending' | null };

/** The page's URL for these leaderboard parameters: defaults left out, the leaderboard in view. */
function hrefOf(board: LeaderboardPage, change: Partial<Record<'sort' | 'order' | 'status' | 'tag' | 'page', string | null>>): string {
  const values = {
    sort: board.sort,
    order: board.order,
    status: board.status?.join(',') ?? null,
    tag: board.tag,
    page: String(board.page),
    ...change,
  };
  const params = new URLSearchParams();
  if (values.sort !== 'rank') params.set('sort', values.sort!);
  if (values.order !== defaultOrder((values.sort ?? 'rank') as LeaderboardSort, board.direction)) params.set('order', values.order!);
  if (values.status) params.set('status', values.status);
  if (values.tag) params.set('tag', values.tag);
  if (values.page !== '1') params.set('page', values.page!);
  const query = params.toString();
  return `/experiments/${board.experimentId}${query ? `?${query}` : ''}#leaderboard-card`;
}

/** Each column's header link: the first click sorts it its own way (the score best first), the next the other way; back to page 1. */
function sortLinks(board: LeaderboardPage): Record<string, Link> {
  const links: Record<string, Link> = {};
  for (const key of [...LEADERBOARD_SORTS, ...board.columns]) {
    const current = board.sort === key;
    const order = current ? (board.order === 'asc' ? 'desc' : 'asc') : defaultOrder(key, board.direction);
    links[key] = {
      href: hrefOf(board, { sort: key, order, page: '1' }),
      ariaSort: current ? (board.order === 'asc' ? 'ascending' : 'descending') : null,
    };
  }
  return links;
}

export type Pager = {
  readonly page: number;
  readonly pages: number;
  /** Rows shown, 1-based, and how many pass the filters. */
  readonly from: number;
  readonly to: number;
  readonly total: number;
  readonly runsTotal: number;
  readonly filtered: boolean;
  readonly first: string | null;
  readonly previous: string | null;
  readonly next: string | null;
  readonly last: string | null;
};

function pagerOf(board: LeaderboardPage): Pager {
  const { page, pages } = board;
  const at = (n: number) => hrefOf(board, { page: String(n) });
  return {
    page,
    pages,
    from: board.total === 0 ? 0 : (page - 1) * board.pageSize + 1,
    to: (page - 1) * board.pageSize + board.runs.length,
    total: board.total,
    runsTotal: board.runsTotal,
    filtered: board.status !== null || board.tag !== null,
    first: page > 1 ? at(1) : null,
    previous: page > 1 ? at(page - 1) : null,
    next: page < pages ? at(page + 1) : null,
    last: page < pages ? at(pages) : null,
  };
}

/** The status filter's choices: every status, or one (several at once through the URL or the API). */
function statusChoices(board: LeaderboardPage): { readonly value: string; readonly selected: boolean }[] {
  const chosen = board.status?.join(',') ?? '';
  const statuses = Object.keys(STATUS_ORDER) as RunStatus[];
  const choices = ['', ...statuses, ...(chosen.includes(',') ? [chosen] : [])];
  return choices.map((value) => ({ value, selected: value === chosen }));
}

/** The leaderboard's headers, pager and filter for the experiment page. */
export function leaderboardView(board: LeaderboardPage) {
  return {
    sortLinks: sortLinks(board),
    pager: pagerOf(board),
    filter: {
      statuses: statusChoices(board),
      // The filter form is a GET: it carries the sort along.
      hidden: [
        ...(board.sort === 'rank' ? [] : [{ name: 'sort', value: board.sort }]),
        ...(board.order === defaultOrder(board.sort, board.direction) ? [] : [{ name: 'order', value: board.order }]),
      ],
    },
  };
}
