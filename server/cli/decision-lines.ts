/**
 * A binary model's operating point in plain words, for `show`, `run` and `refit`: the threshold
 * and how it was chosen (with its cross-validation estimate), and the test split's confusion
 * matrix at it. The metrics at the threshold, beside their CV estimates, are in the refit table.
 */
import type { Decision } from '../../worker/contract/protocol.js';
import type { ThresholdSpec } from '../../worker/contract/spec.js';
import { metricLabel, objectiveMetricName } from '../../worker/contract/vocabulary.js';
import { meanAndStd } from '../storage/run-store.js';
import { formatScore, textTable } from './format.js';

/** What a threshold objective asks for, as a clause. */
export function describeObjective(objective: ThresholdSpec): string {
  switch (objective.objective) {
    case 'recall_at_precision':
      return `the highest recall with precision ≥ ${objective.value}`;
    case 'precision_at_recall':
      return `the highest precision with recall ≥ ${objective.value}`;
    case 'cost':
      return `the least cost ${objective.falsePositive}·FP + ${objective.falseNegative}·FN`;
    default:
      return `the best ${metricLabel(objective.objective)}`;
  }
}

/** The lines under the refit table: the threshold, any note, and the test confusion matrix. */
export function decisionLines(decision: Decision): string[] {
  const { objective, positiveClass, threshold, confusion } = decision;
  const lines: string[] = [];
  const positive = JSON.stringify(positiveClass);
  if (objective === null) {
    lines.push(
      `Operating threshold ${threshold} (the default: no selection.threshold): a row is ${positive} when p(${positive}) > ${threshold}.`,
    );
  } else {
    const metric = objectiveMetricName(objective.objective);
    const { mean, std } = meanAndStd(decision.folds[metric] ?? []);
    const estimate = mean === null ? '' : `; cross-validation ${metricLabel(metric)} ${formatScore(mean)} ± ${formatScore(std)} over folds`;
    lines.push(
      `Operating threshold ${formatScore(threshold)} for ${positive}: ${describeObjective(objective)} on the pooled out-of-fold ` +
        `predictions (${formatScore(decision.pooled)}${estimate}).`,
    );
  }
  if (decision.note) lines.push(`Note: ${decision.note}.`);
  lines.push(`Test split at the threshold (positive ${positive}):`);
  lines.push(
    textTable(
      ['', 'predicted positive', 'predicted negative'],
      [
        ['actual positive', String(confusion.tp), String(confusion.fn)],
        ['actual negative', String(confusion.fp), String(confusion.tn)],
      ],
    ),
  );
  return lines;
}
