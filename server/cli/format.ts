import { paramValueText } from '../../worker/contract/vocabulary.js';
import type { ExperimentSpec } from '../../worker/contract/spec.js';
import { leaderboardColumns } from '../search/grid.js';
import type { Selection } from '../selection/selection.js';
import type { ProvisionalRank } from '../selection/provisional.js';
import type { Run } from '../storage/run-store.js';

export function formatScore(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/**
 * The spread part of a score over folds, `± 0.0040`, or '' where there is no spread to show: a
 * single score (`count` < 2: a holdout's one split, a run with one finished fold) or no std. A
 * holdout printed as `0.9184 ± 0.0000` would claim a spread that was never measured.
 */
export function formatSpread(std: number | null | undefined, count = 2): string {
  return count < 2 || std === null || std === undefined || !Number.isFinite(std) ? '' : `± ${formatScore(std)}`;
}

/** A score over `count` folds as the CLI and the pages show it: `mean ± std`, or just the score (see formatSpread). */
export function formatMeanStd(mean: number | null | undefined, std: number | null | undefined, count = 2): string {
  const spread = formatScore(mean) === '—' ? '' : formatSpread(std, count);
  return spread ? `${formatScore(mean)} ${spread}` : formatScore(mean);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** Plain-text table: columns padded to their widest cell, numbers right-aligned. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (/^[-\d.±\s—%]+$/.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A p-value as people read it: 4 decimals, and `< 0.0001` below that. */
export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

/** How a ranked run stands against the best: `best`, `tied` (not significantly different), `worse`, or empty without a test. */
export function standing(selection: Selection, run: Run): string {
  if (run.runId === selection.best?.runId) return 'best';
  const tied = selection.comparisons.get(run.runId)?.tied;
  return tied === true ? 'tied' : tied === false ? 'worse' : '';
}

/**
 * The leaderboard as text: rank, run number (`*` marks the selected run), one column per searched
 * hyperparameter, then score, the Holm-adjusted p-value against the best and the standing
 * (best / tied / worse), epochs, size, time, status. Unfinished runs in `provisional` (among
 * `others`) show their provisional rank in brackets and their mean over the folds they have finished.
 */
export function formatLeaderboard(
  spec: ExperimentSpec,
  metric: string,
  selection: Selection,
  others: readonly Run[],
  limit = 20,
  provisional: readonly ProvisionalRank[] = [],
): string {
  const provisionalOf = new Map(provisional.map((entry) => [entry.run.runId, entry]));
  const { ranked } = selection;
  const columns = leaderboardColumns(spec);
  const scoreHeader = spec.validation.kind === 'holdout' ? metric : `${metric} mean ± std`;
  const header = ['#', 'run', ...columns, scoreHeader, 'p vs best', 'vs best', 'epochs', 'params', 'train time', 'status'];
  // The selected run is always shown, also when it ranks below the limit.
  const shown = ranked.filter((run, index) => index < limit || run.runId === selection.selected?.runId);
  const rows = [...shown, ...others].map((run) => {
    const { params } = run;
    const rank = ranked.indexOf(run);
    const partial = provisionalOf.get(run.runId);
    return [
      rank >= 0 ? String(rank + 1) : partial ? `(${partial.rank})` : '',
      `#${run.number}${run.runId === selection.selected?.runId ? ' *' : ''}`,
      ...columns.map((name) => paramValueText(params[name])),
      partial
        ? `${formatMeanStd(partial.scoreMean, partial.scoreStd, partial.foldsDone)} (${partial.foldsDone}/${partial.nFolds} folds)`
        : formatMeanStd(run.scoreMean, run.scoreStd, run.nFolds),
      rank >= 0 ? formatPValue(selection.comparisons.get(run.runId)?.adjustedP) : '',
      rank >= 0 ? standing(selection, run) : '',
      run.refitEpochs === null ? '—' : String(run.refitEpochs),
      run.paramCount === null ? '—' : String(run.paramCount),
      formatDuration(run.trainMs),
      run.status,
    ];
  });
  const more = ranked.length > shown.length ? `\n… ${ranked.length - shown.length} more finished runs (see the dashboard)` : '';
  return textTable(header, rows) + more;
}
