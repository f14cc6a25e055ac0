/**
 * Which refit model `foldwise predict`, `show` and `export` (and the ONNX download) use. By
 * default the refit of the configuration the experiment's selection rule chose (server/selection/),
 * never merely the newest one: after `refit --run 17` of a runner-up, `predict` still uses the
 * selected configuration's model unless told otherwise. A run number (`--run N`: a search run's
 * refit, or a refit run's own model), a run id (the HTTP routes) or a model id (`--model ID`)
 * chooses another. When the choice has no model, the error says which command makes one.
 */
import { NotFoundError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { ModelRecord } from '../storage/model-store.js';
import type { Run } from '../storage/run-store.js';
import type { Storage } from '../storage/storage.js';
import { selectionOf, type Selection } from '../selection/selection.js';
import { formatRunNumbers, runByNumber } from './run-numbers.js';

/** How a model is asked for. */
export type ModelChoice =
  | { readonly by: 'selected' }
  | { readonly by: 'runNumber'; readonly number: number }
  | { readonly by: 'runId'; readonly runId: number }
  | { readonly by: 'modelId'; readonly modelId: number };

export type ChosenModel = {
  readonly model: ModelRecord;
  /** The refit run that trained it. */
  readonly refitRun: Run;
  /** The search run whose configuration it refitted. */
  readonly sourceRun: Run | null;
  /** Its configuration is the one the selection rule chose. */
  readonly selected: boolean;
  readonly selection: Selection;
};

type Stores = Pick<Storage, 'runs' | 'models'>;

/** @throws {NotFoundError} for a run or model that is not the experiment's, or a choice without a refit model. */
export function refitModelFor(storage: Stores, experiment: Experiment, choice: ModelChoice = { by: 'selected' }): ChosenModel {
  const models = storage.models.ofExperiment(experiment.experimentId);
  const selection = selectionOf(experiment, storage.runs);
  const chosen = (model: ModelRecord): ChosenModel => ({
    model,
    refitRun: storage.runs.get(model.runId),
    sourceRun: model.sourceRunId === null ? null : storage.runs.get(model.sourceRunId),
    selected: model.sourceRunId !== null && model.sourceRunId === selection.selected?.runId,
    selection,
  });
  const name = experiment.name;
  const refitted = () => {
    const numbers = models.flatMap((m) => (m.sourceRunId === null ? [] : [storage.runs.get(m.sourceRunId).number]));
    return numbers.length > 0
      ? `runs with a refit model: ${formatRunNumbers(numbers)}`
      : `it has no refit model yet: run \`foldwise refit ${name}\``;
  };
  switch (choice.by) {
    case 'modelId': {
      const model = models.find((m) => m.modelId === choice.modelId);
      if (model) return chosen(model);
      const ids = models.map((m) => m.modelId).sort((a, b) => a - b);
      throw new NotFoundError(
        `model ${choice.modelId} is not a model of "${name}"; ` +
          (ids.length > 0 ? `its models are ${ids.join(', ')}` : `it has no refit model yet: run \`foldwise refit ${name}\` first`),
      );
    }
    case 'selected': {
      const target = selection.selected;
      if (!target) throw new NotFoundError(`experiment "${name}" has no finished run, so no refit model yet`);
      const model = models.find((m) => m.sourceRunId === target.runId);
      if (model) return chosen(model);
      const others = models.length > 0 ? `; or choose another with --run (${refitted()})` : '';
      throw new NotFoundError(
        `the selected configuration of "${name}" (run #${target.number}, rule ${selection.appliedRule}) has no refit model: ` +
          `run \`foldwise refit ${name}\` first${others}`,
      );
    }
    case 'runId':
    case 'runNumber': {
      let run: Run;
      if (choice.by === 'runNumber') run = runByNumber(storage.runs, experiment, choice.number);
      else {
        const found = [...storage.runs.list(experiment.experimentId), ...storage.runs.list(experiment.experimentId, 'refit')].find(
          (r) => r.runId === choice.runId,
        );
        if (!found) throw new NotFoundError(`run id ${choice.runId} is not a run of "${name}"; ${refitted()}`);
        run = found;
      }
      const model = models.find((m) => m.sourceRunId === run.runId) ?? models.find((m) => m.runId === run.runId);
      if (model) return chosen(model);
      if (run.kind === 'refit') throw new NotFoundError(`refit run #${run.number} of "${name}" has no model (it did not finish)`);
      if (run.status !== 'done')
        throw new NotFoundError(
          `run #${run.number} of "${name}" is ${run.status} and has no refit model (only finished runs can be refitted)`,
        );
      throw new NotFoundError(
        `run #${run.number} of "${name}" has no refit model: run \`foldwise refit ${name} --run ${run.number}\` first`,
      );
    }
  }
}

/**
 * One line saying which model was used: model id, refit run, source run and whether it is the
 * selected configuration, the hyperparameters that differ across the grid, and a binary model's
 * operating threshold.
 */
export function describeChosenModel(chosen: ChosenModel, searched: readonly string[]): string {
  const { model, refitRun, sourceRun, selection } = chosen;
  const source = sourceRun ? `run #${sourceRun.number}` : 'a deleted run';
  const which = chosen.selected
    ? `the selected configuration (rule ${selection.appliedRule})`
    : `not the selected configuration${selection.selected ? ` (that is run #${selection.selected.number})` : ''}`;
  const params = sourceRun ?? refitRun;
  const config = searched.map((name) => `${name} ${JSON.stringify((params.params as Record<string, unknown>)[name])}`).join(', ');
  const threshold = model.decision
    ? `; threshold ${model.decision.threshold.toPrecision(4)} for "${model.decision.positiveClass}"` +
      (model.decision.objective ? ` (${model.decision.objective.objective})` : ' (the default 0.5)')
    : '';
  return `model ${model.modelId}: refit run #${refitRun.number} of ${source}, ${which}${config ? `; ${config}` : ''}${threshold}`;
}
