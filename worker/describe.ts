import type { DatasetInfo } from './contract/protocol.js';
import { decisionIssues, type ExperimentSpec, type Params } from './contract/spec.js';
import { spaceChoiceValues } from './contract/search-spec.js';
import { quote } from './data/cells.js';
import { OTHER_LEVEL } from './data/pipeline.js';
import { modelClasses, NAMED_POSITIVE, type PositiveClass, positiveClassOf } from './data/positive-class.js';
import { DataError } from './data/table.js';
import { classWeightsOf } from './training/class-weights.js';
import { loadDescribedTable } from './training/task-data.js';
import { splitTest, validationSplits } from './data/splits.js';
import type { Table } from './data/table.js';
import { injectDescribeFault } from './fault-injection.js';

/**
 * Loads the spec's dataset and cuts its splits once, so that bad data (a missing column, a
 * single class, fewer rows than folds) is reported before the coordinator writes anything; so is
 * a spec field that does not fit the task the data implies (a positiveClass, a threshold or class
 * weights where they do not apply, a label the data does not have).
 * @throws {DataError}
 */
export async function describeDataset(spec: ExperimentSpec): Promise<DatasetInfo> {
  injectDescribeFault();
  // Kept in this worker's table cache: the search that follows trains on it without reading the file again.
  const table = await loadDescribedTable(spec);
  const { train, test } = splitTest(table.y, table.task, spec.testSplit.fraction, spec.seed);
  validationSplits(table.y, train, spec.validation, table.task, spec.seed);
  const [issue] = decisionIssues(spec, table.task);
  if (issue !== undefined) throw new DataError(`${issue.path.join('.')}: ${issue.message}`);
  const positive = table.task === 'binary' ? positiveClassOf(table, spec) : null;
  if (table.encoding.classes !== null) {
    const classes = positive === null ? table.encoding.classes : modelClasses(table.encoding.classes, positive);
    for (const weights of classWeightsNamed(spec)) classWeightsOf(weights, classes, new Float32Array(0));
  }
  return {
    task: table.task,
    nRows: table.nRows,
    nFeatures: table.nFeatures,
    testRows: test.length,
    classes: table.encoding.classes === null ? null : [...table.encoding.classes],
    featureNames: [...table.encoding.featureNames],
    notes: [...(positive === null ? [] : [positiveClassNote(positive)]), ...groupingNotes(table)],
    ...(positive === null ? {} : { positiveClass: { label: positive.label, reason: positive.reason } }),
  };
}

/** The line `run` prints about the positive class: which, why, and how to choose the other. */
function positiveClassNote(positive: PositiveClass): string {
  const named = positive.reason === NAMED_POSITIVE;
  return `positive class ${quote(positive.label)} (${positive.reason})${named ? '' : '; positiveClass in the spec chooses the other'}`;
}

/** Every class-weight map the spec names (fixed, grid values, space choices): their labels are checked against the data. */
function classWeightsNamed(spec: ExperimentSpec): Params['classWeight'][] {
  const values = [spec.model.classWeight, spec.grid.classWeight, spaceChoiceValues(spec.space?.classWeight)].flat();
  return values.filter((value): value is Exclude<Params['classWeight'], string> => typeof value === 'object' && value !== null);
}

/**
 * One line per categorical column with more categories than `maxCategories` (counted over all
 * rows: each training part groups its own least frequent ones).
 */
function groupingNotes(table: Table): string[] {
  if (table.raw === undefined) return [];
  const { maxCategories } = table.raw;
  return table.encoding.columns.flatMap((column) =>
    column.kind === 'categorical' && column.other !== undefined
      ? [
          `column "${column.name}": ${column.categories.length + column.other.grouped} categories, more than maxCategories ` +
            `(${maxCategories}): each training part keeps its ${maxCategories - 1} most frequent and groups the rest as "${OTHER_LEVEL}"`,
        ]
      : [],
  );
}
