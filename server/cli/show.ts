/**
 * What `foldwise show` (and `run` and `refit`, after they finish) print: the leaderboard with the
 * runs tied with the best, the selection rule and what it chose, and the refit model used with
 * its test metrics beside their cross-validation estimates.
 */
import { foldsLabel } from '../../worker/contract/spec.js';
import { searchedParamNames } from '../search/grid.js';
import { selectConfiguration, type Selection } from '../selection/selection.js';
import { rankProvisional } from '../selection/provisional.js';
import { nestedEstimate } from '../selection/nested-estimate.js';
import { describeChosenModel, refitModelFor, type ModelChoice } from '../results/refit-model.js';
import { cvVersusTest } from '../services/cv-versus-test.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { experimentNoteLines, runNoteLines } from './note-lines.js';
import { decisionLines } from './decision-lines.js';
import { nestedLines } from './nested-lines.js';
import { formatLeaderboard, formatMeanStd, formatScore, textTable } from './format.js';
import { warmStartLine } from '../coordinator/warm-start.js';

/** The selection in plain words: the rule, its choice, plain best's choice, the tied group, and any warning. */
export function selectionLines(selection: Selection): string[] {
  const { selected, best } = selection;
  if (!selected || !best) return [];
  const lines: string[] = [];
  if (selection.appliedRule === 'one-standard-error') {
    lines.push(
      `Selected run #${selected.number} by rule one-standard-error: the simplest configuration whose mean is within one ` +
        `standard error (${formatScore(selection.standardError)}) of the best's; ` +
        (best.runId === selected.runId ? 'plain best chooses the same run.' : `plain best would choose run #${best.number}.`),
    );
  } else {
    lines.push(`Selected run #${selected.number} by rule best (the highest-ranked; ties within 1e-9 go to fewer parameters).`);
  }
  if (selection.warning) lines.push(`Warning: ${selection.warning}.`);
  if (selection.testNote) lines.push(`Tied with the best: not tested (${selection.testNote}).`);
  else {
    const tied = [...selection.comparisons.values()].filter((c) => c.tied === true).length;
    lines.push(
      `Tied with the best: ${tied} of ${selection.ranked.length} finished runs (best included) are not significantly different ` +
        `from run #${best.number} at α = ${selection.alpha} (corrected resampled t-test over shared folds, Holm-adjusted p).`,
    );
  }
  return lines;
}

/** The leaderboard, ranked and marked (`*` = selected), then the selection lines. */
export function printLeaderboard(storage: Storage, experiment: Experiment): void {
  const { runs, foldScores } = storage.runs.searchRunsWithFoldScores(experiment.experimentId);
  const selection = selectConfiguration(experiment, runs, foldScores);
  // Unfinished runs with finished folds come next, ranked apart by the mean over those folds.
  const provisional = rankProvisional(experiment, runs, foldScores);
  const apart = new Set([...selection.ranked, ...provisional.map((entry) => entry.run)].map((run) => run.runId));
  const others = [...provisional.map((entry) => entry.run), ...runs.filter((run) => !apart.has(run.runId))];
  console.log(
    `\nExperiment "${experiment.name}" — ${experiment.task}, ${experiment.status}; ` +
      `ranked by ${experiment.selectionMetric} (${experiment.selectionDirection}); validation: ${foldsLabel(experiment.spec.validation)}`,
  );
  if (experiment.warmStart) console.log(`  ${warmStartLine(experiment.warmStart)}`);
  for (const line of experimentNoteLines(storage, experiment.experimentId)) console.log(line);
  console.log(formatLeaderboard(experiment.spec, experiment.selectionMetric, selection, others, undefined, provisional));
  if (provisional.length > 0)
    console.log(`(N): ${provisional.length} unfinished runs, ranked apart by the mean over the folds they have finished.`);
  for (const line of selectionLines(selection)) console.log(line);
  const nested = nestedEstimate(storage, experiment);
  for (const line of nested ? nestedLines(nested, searchedParamNames(experiment.spec)) : []) console.log(line);
  for (const line of runNoteLines(storage, experiment.experimentId, runs)) console.log(line);
}

/**
 * The refit model `choice` picks (the selected configuration's by default): which one it is, and
 * its test metrics beside their cross-validation estimates. Without any refit model yet it prints
 * nothing by default; a model that was asked for and is missing is an error.
 * @throws {NotFoundError}
 */
export function printModel(storage: Storage, experiment: Experiment, choice: ModelChoice = { by: 'selected' }): void {
  const models = storage.models.ofExperiment(experiment.experimentId);
  if (choice.by === 'selected' && models.length === 0) return;
  let chosen: ReturnType<typeof refitModelFor>;
  try {
    chosen = refitModelFor(storage, experiment, choice);
  } catch (error) {
    // `show` without --run: say the selected run has no refit, and still show the leaderboard's answer.
    if (choice.by === 'selected' && error instanceof NotFoundError) return console.log(`\n${error.message}`);
    throw error;
  }
  const { model } = chosen;
  console.log(`\nModel used: ${describeChosenModel(chosen, searchedParamNames(experiment.spec))}`);
  console.log(
    textTable(
      ['metric', 'cross-validation estimate', 'test split (refit model)'],
      cvVersusTest(storage.runs, model).map((m) => [m.name, formatMeanStd(m.cvMean, m.cvStd), formatScore(m.test)]),
    ),
  );
  for (const line of model.decision ? decisionLines(model.decision) : []) console.log(line);
  console.log(`Model saved in ${model.path}`);
}

/**
 * `--run N` / `--model ID` as a model choice; neither: the selected configuration's refit.
 * @throws {ValidationError} when both are given.
 */
export function modelChoiceFrom(flags: { readonly run?: number; readonly model?: number }): ModelChoice {
  if (flags.run !== undefined && flags.model !== undefined) throw new ValidationError('--run and --model: choose the model one way');
  if (flags.run !== undefined) return { by: 'runNumber', number: flags.run };
  if (flags.model !== undefined) return { by: 'modelId', modelId: flags.model };
  return { by: 'selected' };
}
