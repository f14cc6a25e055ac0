/**
 * A refit trains the configuration its experiment's search chose on that search's data. When the
 * CSV file (or MovieLens folder) has been edited since, the model would come from data no fold
 * was scored on: the refit is refused, naming the file and both digests.
 */
import { ConflictError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';

const shortSha = (sha256: string) => `${sha256.slice(0, 12)}…`;

/**
 * `nowSha256`: the data's digest as the refit starts (null when it cannot be read). Experiments whose
 * search recorded no digest (generated data, or searched before digests were kept) pass.
 * @throws {ConflictError}
 */
export function assertSameData(experiment: Pick<Experiment, 'spec' | 'dataSha256'>, nowSha256: string | null): void {
  const then = experiment.dataSha256;
  if (then === null || then === nowSha256) return;
  const { dataset } = experiment.spec;
  const where = 'path' in dataset ? `${dataset.kind === 'movielens' ? 'data folder' : 'data file'} ${dataset.path}` : 'data';
  const now = nowSha256 === null ? 'unreadable now' : `${shortSha(nowSha256)} now`;
  throw new ConflictError(
    `the ${where} changed since the search (sha256 ${shortSha(then)} then, ${now}): run the search again ` +
      '(as a new experiment, or after deleting this one), or put the original data back',
  );
}
