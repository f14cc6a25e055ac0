/**
 * Nested cross-validation in the CLI's words: what it will cost before `foldwise run` starts, and
 * the outer estimate of the procedure beside the inner score of what it chose (`foldwise show`).
 */
import { foldsLabel, type ExperimentSpec } from '../../worker/contract/spec.js';
import { paramValueText, type ParamName } from '../../worker/contract/vocabulary.js';
import { nestedTaskCount } from '../coordinator/outer-folds.js';
import type { NestedEstimate, OuterFoldEstimate } from '../selection/nested-estimate.js';
import { formatMeanStd, formatScore, textTable } from './format.js';

/** The tasks nested CV adds, said before anything trains; null without `validation.outer`. */
export function nestedCostLine(spec: ExperimentSpec, runs: number): string | null {
  const { k, searchTasks, refits } = nestedTaskCount(spec, runs);
  if (k === 0) return null;
  return (
    `Nested CV (validation.outer.k = ${k}): then the same search (${runs} × ${foldsLabel(spec.validation)}), selection and refit ` +
    `again on each outer fold's training part: ${searchTasks} more search tasks and ${refits} refits, ` +
    `${k + 1}× the tasks of the search alone.`
  );
}

const STATE_TEXT: Record<Exclude<OuterFoldEstimate['state'], 'scored'>, string> = {
  pending: 'not searched yet',
  'no-finished-run': 'no configuration finished',
  'refit-failed': 'refit failed',
};

/** The outer estimate next to the inner score, the optimism between them, and a row per outer fold. */
export function nestedLines(estimate: NestedEstimate, searched: readonly ParamName[]): string[] {
  const { metric, k, scored } = estimate;
  const lines = [
    '',
    `Nested CV over ${k} outer folds (the test split untouched): each searched, selected and refitted on its training part, ` +
      `scored on the outer fold.`,
  ];
  if (scored === 0) lines.push('No outer fold is scored yet.');
  else {
    const outer = formatMeanStd(estimate.outerMean, estimate.outerStd, scored);
    const inner = formatMeanStd(estimate.innerMean, estimate.innerStd, scored);
    lines.push(
      `Outer estimate of the procedure: ${metric} ${outer} over ${scored} outer fold${scored === 1 ? '' : 's'}; ` +
        `the inner CV score of what it chose: ${inner}; optimism (how much better the inner score looked): ` +
        `${formatScore(estimate.optimism)}.`,
    );
  }
  const params = (fold: OuterFoldEstimate) =>
    fold.selectedParams === null
      ? '—'
      : searched.map((name) => `${name} ${paramValueText(fold.selectedParams![name])}`).join(', ') || 'the fixed model';
  lines.push(
    textTable(
      ['outer fold', 'experiment', 'selected', `inner ${metric}`, `outer ${metric}`],
      estimate.folds.map((fold) => [
        String(fold.outerFold),
        fold.name,
        fold.selectedRunNumber === null ? '—' : `#${fold.selectedRunNumber} (${params(fold)})`,
        formatScore(fold.innerScore),
        fold.state === 'scored' ? formatScore(fold.outerScore) : `— (${STATE_TEXT[fold.state]}${fold.error ? `: ${fold.error}` : ''})`,
      ]),
    ),
  );
  return lines;
}
