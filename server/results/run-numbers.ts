/**
 * Runs as people name them: by their number within the experiment (#1…#N), the number the CLI's
 * `--run`, the pages and the model folders use. An unknown number is answered with the valid ones.
 */
import { NotFoundError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Run, RunKind, RunStore } from '../storage/run-store.js';

/** `#1–#12, #14`: run numbers, consecutive ones as ranges. */
export function formatRunNumbers(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `#${sorted[i]}` : `#${sorted[i]}–#${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * The run numbered `number` in the experiment, of `kind` when given.
 * @throws {NotFoundError} naming the experiment's valid run numbers.
 */
export function runByNumber(
  runs: Pick<RunStore, 'byNumber' | 'list'>,
  experiment: Pick<Experiment, 'experimentId' | 'name'>,
  number: number,
  kind?: RunKind,
): Run {
  const run = runs.byNumber(experiment.experimentId, number);
  if (run && (kind === undefined || run.kind === kind)) return run;
  const kinds: RunKind[] = kind === undefined ? ['search', 'refit'] : [kind];
  const valid = kinds.flatMap((k) => runs.list(experiment.experimentId, k)).map((r) => r.number);
  const what = kind === 'search' ? 'search run' : 'run';
  throw new NotFoundError(
    `run #${number} is not a ${what} of "${experiment.name}"; ` +
      (valid.length > 0 ? `its ${what}s are ${formatRunNumbers(valid)}` : `it has no ${what}s yet`),
  );
}
