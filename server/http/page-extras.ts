/**
 * What the experiment and run pages show beside their own context for the search views and the
 * notes: the notes cards, the leaderboard's tag filter, the run tags in its rows, and whether the
 * search views are drawn. Kept apart from page-routes.ts so that each page adds one spread.
 */
import type { DashboardServices } from '../services/dashboard-services.js';
import type { LeaderboardPage } from '../services/experiment-queries.js';
import { MAX_TAGS, NOTE_MAX_CHARS, TAG_RULE, type Notes } from '../services/notes.js';

type Services = Pick<DashboardServices, 'notes' | 'searchViews'>;

/** A notes card: what is written, where its form posts (no JavaScript) and where the page script posts. */
function notesCard(notes: Notes, subject: 'experiment' | 'run', pagePath: string, experimentId: number) {
  return {
    ...notes,
    subject,
    action: `${pagePath}/notes`,
    api: `/api${pagePath}/notes`,
    tagsText: notes.tags.join(', '),
    // A run's tags link to the leaderboard filtered by them.
    tagBase: subject === 'run' ? `/experiments/${experimentId}` : null,
    maxChars: NOTE_MAX_CHARS,
    hint: `Tags: up to ${MAX_TAGS}, separated by commas or spaces; ${TAG_RULE}.`,
  };
}

/** The experiment page's extras for its leaderboard page `board` (already filtered by its tag). */
export function experimentExtras(services: Services, board: LeaderboardPage, preload: readonly string[]) {
  const id = board.experimentId;
  const notes = services.notes.ofRuns(id);
  // Only the rows shown carry their notes.
  const runNotes = Object.fromEntries(board.runs.filter((run) => notes.has(run.runId)).map((run) => [run.runId, notes.get(run.runId)]));
  const strategy = services.searchViews.strategyOf(id);
  const trialsUrl = `/api/experiments/${id}/trials`;
  return {
    runNotes,
    notes: notesCard(services.notes.ofExperiment(id), 'experiment', `/experiments/${id}`, id),
    tagFilter: { active: board.tag, tags: services.notes.runTags(id) },
    // History and importance for every strategy; slices for sampled ones (a grid has its parallel coordinates).
    searchViews: { strategy, slices: strategy !== 'grid', url: trialsUrl },
    preload: [...preload, trialsUrl],
  };
}

/** The run page's notes card. @throws {NotFoundError} */
export function runExtras(services: Services, experimentId: number, runId: number) {
  return { notes: notesCard(services.notes.ofRun(experimentId, runId), 'run', `/experiments/${experimentId}/runs/${runId}`, experimentId) };
}
