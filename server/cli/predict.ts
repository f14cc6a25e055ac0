import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ValidationError } from '../errors.js';

/**
 * Predicts the rows of a CSV with a saved refit model and writes them as CSV: the id column (or
 * the row number) first, then the predictions. Runs TensorFlow.js in this process: a one-shot
 * command needs no worker pool. (A deliberate exception to "server imports only the worker's
 * contract files": loaded lazily, so other commands never load TF.) Categories the model never
 * saw are a warning on stderr, one line per column, or with `strict` a bad input.
 * Returns the number of rows predicted.
 */
export async function writePredictions(
  modelDir: string,
  inputPath: string,
  outputPath?: string,
  options: { readonly strict?: boolean; readonly force?: boolean } = {},
): Promise<number> {
  if (!existsSync(inputPath)) throw new ValidationError(`--input: file not found: ${inputPath}`);
  if (outputPath) checkOutput(inputPath, outputPath, options.force === true);
  let rows: Record<string, string>[];
  try {
    rows = parse(readFileSync(inputPath, 'utf8'), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    throw new ValidationError(`--input: ${(error as Error).message}`);
  }
  if (rows.length === 0) throw new ValidationError(`--input: ${inputPath} has no data rows`);
  const { selectBackend } = await import('../../worker/backend.js');
  const { describeUnseen, predictFromCsv } = await import('../../worker/models/model-files.js');
  const { failureKindOf } = await import('../../worker/failures.js');
  const { tf } = await selectBackend();
  let table: Awaited<ReturnType<typeof predictFromCsv>>;
  try {
    table = await predictFromCsv(tf, modelDir, rows, { source: inputPath, strict: options.strict === true });
  } catch (error) {
    // The worker's one rule for what counts as the user's bad input (worker/failures.ts).
    if (failureKindOf(error) === 'data') throw new ValidationError(`--input: ${(error as Error).message}`);
    throw error;
  }
  for (const unseen of table.unseen) console.error(`warning: ${inputPath}: ${describeUnseen(unseen)} (--strict refuses them)`);
  const text = stringify([table.header, ...table.rows]);
  if (outputPath) writeWhole(outputPath, text);
  else process.stdout.write(text);
  return table.rows.length;
}

/**
 * The output may not be the input (under any name: a link, `./x.csv` for `x.csv`), nor an
 * existing file unless `force`; a missing folder is made. Checked before anything is computed.
 * @throws {ValidationError}
 */
function checkOutput(inputPath: string, outputPath: string, force: boolean): void {
  if (existsSync(outputPath)) {
    if (statSync(outputPath).isDirectory()) throw new ValidationError(`--output: ${outputPath} is a folder; expected a file name`);
    if (realpathSync(outputPath) === realpathSync(inputPath) || sameFile(inputPath, outputPath))
      throw new ValidationError(`--output: ${outputPath} is the input file; write the predictions to another file`);
    if (!force) throw new ValidationError(`--output: ${outputPath} exists; pass --force to overwrite it`);
  }
  mkdirSync(dirname(resolve(outputPath)), { recursive: true });
}

/** Hard links: two names, one file. */
function sameFile(a: string, b: string): boolean {
  const [x, y] = [statSync(a), statSync(b)];
  return x.dev === y.dev && x.ino === y.ino;
}

/** Writes beside the target and renames: an interrupted write never leaves half a file. */
function writeWhole(path: string, text: string): void {
  const staging = join(dirname(resolve(path)), `.${process.pid}.foldwise-predict.tmp`);
  try {
    writeFileSync(staging, text);
    renameSync(staging, path);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
}
