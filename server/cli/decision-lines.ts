/**
 * A binary model's operating point in plain words, for `show`, `run` and `refit`: the threshold
 * and how it was chosen (with its cross-validation estimate), and the test split's confusion
 * matrix at it. The metrics at the threshold, beside their CV estimates, are in the refit table.
 */
import type { Decision } from '../../worker/contract/protocol.js';
import { operatingPointOf } from '../results/operating-point.js';
import { formatScore, textTable } from './format.js';

/** The lines under the refit table: the threshold, any note, and the test confusion matrix. */
export function decisionLines(decision: Decision): string[] {
  const point = operatingPointOf(decision);
  const { threshold, confusion, objective } = point;
  const positive = JSON.stringify(point.positiveClass);
  const lines: string[] = [];
  if (!point.chosen) {
    lines.push(`Operating threshold ${threshold} (${point.chosenBy}): a row is ${positive} when p(${positive}) > ${threshold}.`);
  } else {
    const estimate =
      objective?.cvMean == null
        ? ''
        : `; cross-validation ${objective.label} ${formatScore(objective.cvMean)}` +
          (objective.cvStd === null ? ' on the one split' : ` ± ${formatScore(objective.cvStd)} over folds`);
    lines.push(
      `Operating threshold ${formatScore(threshold)} for ${positive}: ${point.chosenBy} (${formatScore(objective?.pooled)}${estimate}).`,
    );
  }
  if (point.note) lines.push(`Note: ${point.note}.`);
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
