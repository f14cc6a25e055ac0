import type { ExperimentSpec } from '../../worker/contract/spec.js';
import { leaderboardColumns } from '../search/grid.js';
import type { Run } from '../storage/run-store.js';

export function formatScore(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
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

/** The leaderboard as text: one column per searched hyperparameter, then score, epochs, size, time, status. */
export function formatLeaderboard(
  spec: ExperimentSpec,
  metric: string,
  ranked: readonly Run[],
  others: readonly Run[],
  limit = 20,
): string {
  const columns = leaderboardColumns(spec);
  const header = ['#', 'run', ...columns, `${metric} mean ± std`, 'epochs', 'params', 'train time', 'status'];
  const rows = [...ranked.slice(0, limit), ...others].map((run, index) => {
    const { params } = run;
    return [
      index < ranked.length ? String(index + 1) : '',
      String(run.runId),
      ...columns.map((name) => String(params[name])),
      run.scoreMean === null ? '—' : `${formatScore(run.scoreMean)} ± ${formatScore(run.scoreStd)}`,
      run.refitEpochs === null ? '—' : String(run.refitEpochs),
      run.paramCount === null ? '—' : String(run.paramCount),
      formatDuration(run.trainMs),
      run.status,
    ];
  });
  const more = ranked.length > limit ? `\n… ${ranked.length - limit} more finished runs (see the dashboard)` : '';
  return textTable(header, rows) + more;
}
