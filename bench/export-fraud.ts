/**
 * Writes the fraud benchmark data set to CSV, so that the Python baselines (bench/python/) train
 * and score on exactly the data foldwise generates for itself, and on the same test rows.
 *
 *   node --import tsx bench/export-fraud.ts [--out bench/out/fraud.csv] [--seed 42]
 *
 * Two files:
 *   - `fraud.csv`: header `f0,…,f29,label`, one line per generated row, in generator order.
 *     Values are float32 printed with 9 significant digits, which round-trips float32 exactly,
 *     so Python reads the very numbers foldwise trains on. The file has no extra column, so
 *     foldwise itself can also load it as `{kind: csv, target: label}`.
 *   - `fraud.split.json` beside it: the seed, the generator parameters, and the 0-based row
 *     indices of foldwise's stratified 20 % test split (`splitTest(y, 'binary', 0.2, seed)`),
 *     plus the training rows. Python scores the refit model on those test rows only.
 *
 * The data set is `{kind: 'fraud', rows: 20000, features: 30, positiveRate: 0.03}`, the one of
 * issue 6. Prints a one-line JSON summary on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../worker/data/load.js';
import { splitTest } from '../worker/data/splits.js';

export const FRAUD_DATASET = { kind: 'fraud', rows: 20_000, features: 30, positiveRate: 0.03 } as const;
export const TEST_FRACTION = 0.2;
export const DEFAULT_SEED = 42;
export const DEFAULT_CSV = fileURLToPath(new URL('./out/fraud.csv', import.meta.url));

export type ExportSummary = {
  readonly csv: string;
  readonly split: string;
  readonly seed: number;
  readonly rows: number;
  readonly features: number;
  readonly positives: number;
  readonly trainRows: number;
  readonly testRows: number;
  readonly testPositives: number;
};

/** The split file's path for a CSV path: `x/fraud.csv` → `x/fraud.split.json`. */
export function splitPathFor(csvPath: string): string {
  return `${csvPath.replace(/\.csv$/i, '')}.split.json`;
}

/** Shortest text that parses back to the same float32 (9 significant digits always suffice). */
function float32Text(value: number): string {
  return String(Number(value.toPrecision(9)));
}

export async function exportFraud(options: { readonly out?: string; readonly seed?: number } = {}): Promise<ExportSummary> {
  const csvPath = resolve(options.out ?? DEFAULT_CSV);
  const seed = options.seed ?? DEFAULT_SEED;
  const table = await loadDataset(FRAUD_DATASET, seed);
  const { nRows, nFeatures, x, y } = table;
  const { train, test } = splitTest(y, 'binary', TEST_FRACTION, seed);

  const header = [...Array.from({ length: nFeatures }, (_, j) => `f${j}`), 'label'].join(',');
  const lines: string[] = [header];
  for (let r = 0; r < nRows; r++) {
    const cells: string[] = [];
    for (let j = 0; j < nFeatures; j++) cells.push(float32Text(x[r * nFeatures + j]!));
    cells.push(String(y[r]));
    lines.push(cells.join(','));
  }
  mkdirSync(dirname(csvPath), { recursive: true });
  writeFileSync(csvPath, `${lines.join('\n')}\n`);

  const sorted = (rows: Int32Array): number[] => Array.from(rows).sort((a, b) => a - b);
  const positivesIn = (rows: Int32Array): number => rows.reduce((sum, r) => sum + (y[r] === 1 ? 1 : 0), 0);
  const splitPath = splitPathFor(csvPath);
  const summary: ExportSummary = {
    csv: csvPath,
    split: splitPath,
    seed,
    rows: nRows,
    features: nFeatures,
    positives: y.reduce((sum, v) => sum + (v === 1 ? 1 : 0), 0),
    trainRows: train.length,
    testRows: test.length,
    testPositives: positivesIn(test),
  };
  writeFileSync(
    splitPath,
    `${JSON.stringify({
      dataset: FRAUD_DATASET,
      seed,
      testFraction: TEST_FRACTION,
      featureNames: table.encoding.featureNames,
      note:
        'row indices are 0-based positions in the CSV data lines (the header is not counted); test = splitTest(y, ' +
        '"binary", 0.2, seed) from worker/splits.ts',
      summary: { ...summary, csv: undefined, split: undefined },
      train: sorted(train),
      test: sorted(test),
    })}\n`,
  );
  return summary;
}

function parseArgs(argv: readonly string[]): { out?: string; seed?: number } {
  const options: { out?: string; seed?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--out' && value !== undefined) {
      options.out = value;
      i++;
    } else if (flag === '--seed' && value !== undefined && Number.isInteger(Number(value))) {
      options.seed = Number(value);
      i++;
    } else {
      throw new Error(`usage: export-fraud.ts [--out path.csv] [--seed N] (bad argument: ${flag})`);
    }
  }
  return options;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const summary = await exportFraud(parseArgs(process.argv.slice(2)));
  console.log(JSON.stringify(summary));
}
