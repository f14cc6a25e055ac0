import type { DatasetInfo } from './contract/protocol.js';
import type { ExperimentSpec } from './contract/spec.js';
import { loadDataset } from './data/load.js';
import { OTHER_LEVEL } from './data/pipeline.js';
import { splitTest, validationSplits } from './data/splits.js';
import type { Table } from './data/table.js';
import { injectDescribeFault } from './fault-injection.js';

/**
 * Loads the spec's dataset and cuts its splits once, so that bad data (a missing column, a
 * single class, fewer rows than folds) is reported before the coordinator writes anything.
 * @throws {DataError}
 */
export async function describeDataset(spec: ExperimentSpec): Promise<DatasetInfo> {
  injectDescribeFault();
  const table = await loadDataset(spec.dataset, spec.seed, spec.task);
  const { train, test } = splitTest(table.y, table.task, spec.testSplit.fraction, spec.seed);
  validationSplits(table.y, train, spec.validation, table.task, spec.seed);
  return {
    task: table.task,
    nRows: table.nRows,
    nFeatures: table.nFeatures,
    testRows: test.length,
    classes: table.encoding.classes === null ? null : [...table.encoding.classes],
    featureNames: [...table.encoding.featureNames],
    notes: groupingNotes(table),
  };
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
