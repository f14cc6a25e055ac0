/**
 * A binary model's operating point as people read it, for `foldwise show` (cli/decision-lines.ts)
 * and the dashboard's model card alike: the threshold, how it was chosen, the objective's
 * cross-validation estimate at it (mean ± std over the source run's folds), and the test split's
 * confusion matrix at it.
 */
import type { Confusion, Decision } from '../../worker/contract/protocol.js';
import type { ThresholdSpec } from '../../worker/contract/spec.js';
import { metricLabel, objectiveMetricName } from '../../worker/contract/vocabulary.js';
import { meanAndStd } from '../storage/run-store.js';

export type OperatingPoint = {
  /** A row is `positiveClass` when p(positiveClass) > threshold. */
  readonly threshold: number;
  readonly positiveClass: string;
  /** False: the default 0.5 (no `selection.threshold`). */
  readonly chosen: boolean;
  /** How it was chosen, a clause: `the best F1 on the pooled out-of-fold predictions`, or the default. */
  readonly chosenBy: string;
  /**
   * The objective's label (`F1`, `recall`, `cost per row`), its value on the pooled predictions,
   * its mean ± std over folds (std null with one split).
   */
  readonly objective: {
    readonly label: string;
    readonly pooled: number | null;
    readonly cvMean: number | null;
    readonly cvStd: number | null;
  } | null;
  readonly confusion: Confusion;
  readonly note: string | null;
};

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

export function operatingPointOf(decision: Decision): OperatingPoint {
  const { objective } = decision;
  const metric = objective === null ? null : objectiveMetricName(objective.objective);
  const values = metric === null ? [] : (decision.folds[metric] ?? []);
  // One split (a holdout) has no spread to show.
  const cv = metric === null ? null : { ...meanAndStd(values), ...(values.length < 2 ? { std: null } : {}) };
  return {
    threshold: decision.threshold,
    positiveClass: decision.positiveClass,
    chosen: objective !== null,
    chosenBy:
      objective === null ? 'the default: no selection.threshold' : `${describeObjective(objective)} on the pooled out-of-fold predictions`,
    objective:
      metric === null || cv === null ? null : { label: metricLabel(metric), pooled: decision.pooled, cvMean: cv.mean, cvStd: cv.std },
    confusion: decision.confusion,
    note: decision.note,
  };
}
