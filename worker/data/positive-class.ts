/**
 * The positive class of a binary task: the label the model's probability, the threshold,
 * precision, recall and PR AUC are about. The spec names it (`positiveClass`), or it is `1`,
 * `true` or `yes` when a label is one of them, or else the minority class of the non-test rows,
 * so the test split never decides it (DESIGN.md, decision rules).
 *
 * A table keeps its labels in their own order (encode.ts: sorted), which the splits stratify by,
 * so choosing another positive class never moves a row between splits. The model's targets are
 * then 1 for the positive class and 0 for the other (`binaryTargets`), and its classes are
 * listed negative first, positive second (`modelClasses`): output index 1 is P(positive).
 */
import { positiveClassLabel, type ExperimentSpec } from '../contract/spec.js';
import { parseNumber, quote, summariseValues } from './cells.js';
import { splitTest } from './splits.js';
import { DataError, type Table } from './table.js';

/** Labels taken as the positive class when the spec names none (compared in lower case). */
const POSITIVE_LABELS = ['1', 'true', 'yes'];

/** The reason of a positive class the spec names. */
export const NAMED_POSITIVE = 'named by positiveClass';

export type PositiveClass = {
  /** Index of the positive class in the table's labels (`encoding.classes`). */
  readonly index: number;
  readonly label: string;
  /** Why it is the positive class, as a clause: `named by positiveClass`, `the minority class …`. */
  readonly reason: string;
};

/**
 * The positive class of a binary table under `spec`.
 * @throws {DataError} naming `positiveClass` when the spec names a label the target does not have.
 */
export function positiveClassOf(table: Table, spec: Pick<ExperimentSpec, 'positiveClass' | 'testSplit' | 'seed'>): PositiveClass {
  const classes = table.encoding.classes;
  if (table.task !== 'binary' || classes === null || classes.length !== 2)
    throw new Error(`a positive class is chosen for binary tables only (this one is ${table.task})`);
  const named = positiveClassLabel(spec);
  if (named !== undefined) {
    const index = labelIndex(classes, named);
    if (index < 0)
      throw new DataError(
        `positiveClass: ${quote(named)} is not a label of the target column ${quote(table.encoding.target)} ` +
          `(its labels: ${summariseValues(classes)})`,
      );
    return { index, label: classes[index]!, reason: NAMED_POSITIVE };
  }
  const conventional = classes.findIndex((label) => POSITIVE_LABELS.includes(label.toLowerCase()));
  if (conventional >= 0) return { index: conventional, label: classes[conventional]!, reason: 'a usual positive label: 1, true or yes' };

  const { train } = splitTest(table.y, table.task, spec.testSplit.fraction, spec.seed);
  let second = 0;
  for (const row of train) if (table.y[row] === 1) second++;
  // The minority; on a tie the second label, as before the positive class could be chosen.
  const index = second <= train.length - second ? 1 : 0;
  const share = ((index === 1 ? second : train.length - second) / train.length) * 100;
  return { index, label: classes[index]!, reason: `the minority class of the non-test rows, ${share.toFixed(1)} %` };
}

/**
 * The index of a label as written in the spec (`positiveClass`, a `classWeight` key) among the
 * data's: the same text, or the same number (`1.0` is `1`); −1 when it is none of them.
 */
export function labelIndex(classes: readonly string[], named: string): number {
  const exact = classes.indexOf(named);
  if (exact >= 0) return exact;
  const number = parseNumber(named.trim());
  return number === null ? -1 : classes.findIndex((label) => parseNumber(label) === number);
}

/** The model's binary targets: 1 where the table's label is the positive class, else 0. */
export function binaryTargets(y: Float32Array, positive: PositiveClass): Float32Array {
  return y.map((label) => (label === positive.index ? 1 : 0));
}

/** The binary model's classes by output index: the other class, then the positive one. */
export function modelClasses(classes: readonly string[], positive: PositiveClass): string[] {
  return [classes[1 - positive.index]!, classes[positive.index]!];
}
