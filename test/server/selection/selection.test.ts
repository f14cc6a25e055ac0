import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PARAMS, SpecError, validateSpec, type ExperimentSpec } from '../../../worker/contract/spec.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { correctedResampledTTest, holmAdjust } from '../../../server/selection/paired-test.js';
import { rankRuns, sameScore } from '../../../server/selection/ranking.js';
import { selectConfiguration, testTrainRatio, type FoldScores } from '../../../server/selection/selection.js';
import type { Run } from '../../../server/storage/run-store.js';

/** Student's t CDF in closed form for 2 and 4 degrees of freedom: the hand computation the library is checked against. */
const tCdf: Record<number, (t: number) => number> = {
  2: (t) => 0.5 + t / (2 * Math.sqrt(2 + t * t)),
  4: (t) => {
    const x = t / Math.sqrt(1 + (t * t) / 4);
    return 0.5 + (3 / 8) * x * (1 - (t * t) / (12 * (1 + (t * t) / 4)));
  },
};

test('corrected resampled t-test: the variance inflated by n_test/n_train, checked by hand', () => {
  // Differences over 5 folds: mean 0.02, sample variance 2.5e-4; 5-fold CV → n_test/n_train = 1/4.
  const differences = [0.02, 0.01, 0.03, 0.0, 0.04];
  const result = correctedResampledTTest(differences, 1 / 4)!;
  const t = 0.02 / Math.sqrt((1 / 5 + 1 / 4) * 2.5e-4); // 1.8856…
  assert.ok(Math.abs(result.t - t) < 1e-12, `t ${result.t} vs ${t}`);
  assert.equal(result.df, 4);
  assert.ok(Math.abs(result.pValue - 2 * (1 - tCdf[4]!(t))) < 1e-9, `p ${result.pValue}`);
  assert.ok(Math.abs(result.pValue - 0.13242) < 1e-5);
  // Uncorrected (ratio 0) the same differences look far more significant: the correction matters.
  const naive = correctedResampledTTest(differences, 0)!;
  assert.ok(Math.abs(naive.t - 0.02 / Math.sqrt(2.5e-4 / 5)) < 1e-12);
  assert.ok(naive.pValue < 0.05 && result.pValue > 0.1);

  // 3-fold CV: ratio 1/2, df 2; differences −0.01, 0.02, 0.05 → mean 0.02, variance 9e-4.
  const three = correctedResampledTTest([-0.01, 0.02, 0.05], 1 / 2)!;
  const t3 = 0.02 / Math.sqrt((1 / 3 + 1 / 2) * 9e-4);
  assert.ok(Math.abs(three.t - t3) < 1e-12);
  assert.ok(Math.abs(three.pValue - 2 * (1 - tCdf[2]!(t3))) < 1e-9);
});

test('corrected resampled t-test: one split gives no test; equal differences give p 1 (all zero) or 0', () => {
  assert.equal(correctedResampledTTest([0.01], 0.25), null);
  assert.equal(correctedResampledTTest([], 0.25), null);
  assert.equal(correctedResampledTTest([0, 0, 0, 0, 0], 0.25)!.pValue, 1);
  assert.equal(correctedResampledTTest([0.01, 0.01, 0.01], 0.5)!.pValue, 0);
  assert.equal(correctedResampledTTest([-0.01, 0.01], 1)!.pValue, 1, 'mean 0');
});

test('Holm: sorted p times (m − i + 1), made monotone, capped at 1, in the input order', () => {
  assert.deepEqual(holmAdjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02]);
  // 0.3·1 would fall below 0.2·2: an adjusted p is never below the one before it.
  assert.deepEqual(holmAdjust([0.2, 0.001, 0.3]), [0.4, 0.003, 0.4]);
  assert.deepEqual(holmAdjust([0.6, 0.9]), [1, 1]);
  assert.deepEqual(holmAdjust([]), []);
  assert.deepEqual(holmAdjust([0.02]), [0.02]);
});

test('testTrainRatio: 1/(k−1) for k-fold, fraction/(1 − fraction) for a holdout', () => {
  assert.equal(testTrainRatio(specWith({ validation: { kind: 'kfold', k: 5 } })), 1 / 4);
  assert.equal(testTrainRatio(specWith({ validation: { kind: 'kfold', k: 10 } })), 1 / 9);
  assert.equal(testTrainRatio(specWith({ validation: { kind: 'holdout', fraction: 0.2 } })), 0.25);
  // Repeats do not change one split's proportions: still 1/(k−1), with n = k·repeats (Bouckaert & Frank 2004).
  assert.equal(testTrainRatio(specWith({ validation: { kind: 'kfold', k: 5, repeats: 3 } })), 1 / 4);
});

test('repeated k-fold: the paired test against the best uses all k·n folds, with n = k·n and ratio 1/(k−1)', () => {
  const spec = specWith({ validation: { kind: 'kfold', k: 3, repeats: 2 } });
  const best = finished([0.9, 0.92, 0.91, 0.93, 0.9, 0.92], 100);
  const other = finished([0.89, 0.9, 0.91, 0.9, 0.88, 0.91], 100);
  const selection = select(spec, [best, other]);
  const comparison = selection.comparisons.get(other.run.runId)!;
  assert.equal(comparison.sharedFolds, 6);
  const differences = [-0.01, -0.02, 0, -0.03, -0.02, -0.01]; // other − best, fold by fold
  const expected = correctedResampledTTest(differences, 1 / 2)!;
  assert.equal(expected.df, 5);
  assert.ok(Math.abs(comparison.pValue! - expected.pValue) < 1e-12, `p ${comparison.pValue} vs ${expected.pValue}`);
  // By hand: mean −0.015, sample variance 1.1e-4, t = −0.015 / √((1/6 + 1/2)·1.1e-4).
  const t = -0.015 / Math.sqrt((1 / 6 + 1 / 2) * 1.1e-4);
  assert.ok(Math.abs(expected.t - t) < 1e-9, `t ${expected.t} vs ${t}`);
  // The first repeat alone (3 folds) is another test: the extra repeat's folds are counted.
  const firstRepeat = correctedResampledTTest(differences.slice(0, 3), 1 / 2)!;
  assert.notEqual(firstRepeat.pValue, comparison.pValue);
});

function specWith(fields: Record<string, unknown>): ExperimentSpec {
  return validateSpec({ name: 'constructed', dataset: { kind: 'iris' }, task: 'multiclass', ...fields });
}

let nextId = 1;
/** A finished search run with these fold scores (mean and population std as the store computes them). */
function finished(scores: readonly number[], paramCount: number, extra: { epochs?: number; refitEpochs?: number; width?: number } = {}) {
  const runId = nextId++;
  const params = { ...DEFAULT_PARAMS, width: extra.width ?? runId, epochs: extra.epochs ?? DEFAULT_PARAMS.epochs };
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const run: Run = {
    runId,
    experimentId: 1,
    number: runId,
    kind: 'search',
    paramsJson: canonicalParamsJson(params),
    params,
    status: 'done',
    nFolds: scores.length,
    scoreMean: mean,
    scoreStd: std,
    refitEpochs: extra.refitEpochs ?? 10,
    paramCount,
    backend: 'cpu',
    error: null,
    sourceRunId: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: 0,
    trainMs: 1,
    foldsDone: scores.length,
  } as Run;
  return { run, scores: new Map(scores.map((score, index) => [index, score])) };
}

function select(spec: ExperimentSpec, entries: readonly ReturnType<typeof finished>[], direction: 'maximize' | 'minimize' = 'maximize') {
  const foldScores: FoldScores = new Map(entries.map((entry) => [entry.run.runId, entry.scores]));
  return selectConfiguration(
    { selectionDirection: direction, spec },
    entries.map((entry) => entry.run),
    foldScores,
  );
}

test('ties within 1e-9 relative go to fewer parameters, then fewer epochs: never to rounding noise (iris-multiclass)', () => {
  assert.ok(sameScore(0.9666666666666667, 0.9666666666666666));
  assert.ok(!sameScore(0.9666, 0.9667));
  const spec = specWith({ validation: { kind: 'kfold', k: 3 } });
  // The regression: the same three fold accuracies summed in another order; the big model's mean is larger in the 16th digit only.
  const big = finished([0.9, 0.9, 0.8666666666666667], 1315);
  const small = finished([0.8666666666666667, 0.9, 0.9], 67);
  assert.ok(big.run.scoreMean! > small.run.scoreMean!, `${big.run.scoreMean} > ${small.run.scoreMean}`);
  const shorter = finished([0.8666666666666667, 0.9, 0.9], 67, { epochs: 10 });
  const clearlyBetter = finished([0.9, 0.93, 0.9], 5000);
  const ranked = rankRuns({ selectionDirection: 'maximize', spec }, [big.run, small.run, shorter.run, clearlyBetter.run]);
  assert.deepEqual(
    ranked.map((run) => run.runId),
    [clearlyBetter.run.runId, shorter.run.runId, small.run.runId, big.run.runId],
    'a better score first; then the tie: 67 parameters and 10 epochs, 67 and 20, 1315',
  );
  // Same order whatever order the runs come in.
  const reversed = rankRuns({ selectionDirection: 'maximize', spec }, [clearlyBetter.run, big.run, shorter.run, small.run].reverse());
  assert.deepEqual(
    reversed.map((run) => run.runId),
    ranked.map((run) => run.runId),
  );
});

test('best and one-standard-error on a constructed leaderboard', () => {
  const folds = (mean: number, spread: readonly number[]) => spread.map((d) => mean + d);
  const spread = [-0.01, 0.01, 0, 0.02, -0.02]; // sample std 0.015811…, SE over 5 folds 0.0070711
  const best = finished(folds(0.91, spread), 5000);
  const near = finished(folds(0.905, [0.0, 0.01, -0.005, 0.01, -0.015]), 800);
  const nearSmall = finished(folds(0.904, [0.01, -0.01, 0.0, 0.005, -0.005]), 500, { refitEpochs: 12 });
  const nearSmallShort = finished(folds(0.9035, [0.01, -0.01, 0.0, 0.005, -0.005]), 500, { refitEpochs: 8 });
  const far = finished(folds(0.88, spread), 50);
  const entries = [best, near, nearSmall, nearSmallShort, far];

  const plain = select(specWith({ validation: { kind: 'kfold', k: 5 } }), entries);
  assert.equal(plain.rule, 'best');
  assert.equal(plain.selected?.runId, best.run.runId);
  assert.equal(plain.best?.runId, best.run.runId);

  // With early stopping a refit trains the epochs the folds chose (refitEpochs): the "fewer epochs" of the rule.
  const earlyStopping = { monitor: 'val_accuracy', patience: 3 };
  const oneSe = select(
    specWith({ validation: { kind: 'kfold', k: 5, earlyStopping }, selection: { rule: 'one-standard-error' } }),
    entries,
  );
  assert.equal(oneSe.appliedRule, 'one-standard-error');
  assert.ok(Math.abs(oneSe.standardError! - Math.sqrt(2.5e-4 / 5)) < 1e-12);
  assert.equal(oneSe.best?.runId, best.run.runId, 'plain best is still reported');
  assert.equal(oneSe.selected?.runId, nearSmallShort.run.runId, 'within 0.91 − 0.00707: the fewest parameters, then fewer epochs');
  assert.equal(oneSe.warning, null);

  // Minimising: within one SE above the best's mean.
  const losses = [finished([0.3, 0.32, 0.31], 900), finished([0.312, 0.318, 0.315], 90), finished([0.4, 0.41, 0.42], 9)];
  const minimised = select(
    specWith({ validation: { kind: 'kfold', k: 3 }, selection: { rule: 'one-standard-error' } }),
    losses,
    'minimize',
  );
  assert.equal(minimised.best?.runId, losses[0]!.run.runId);
  assert.equal(minimised.selected?.runId, losses[1]!.run.runId);
});

test('one-standard-error with fewer than 2 finished configurations, or on a holdout: a warning, and best', () => {
  const lone = finished([0.9, 0.91, 0.92], 100);
  const single = select(specWith({ validation: { kind: 'kfold', k: 3 }, selection: { rule: 'one-standard-error' } }), [lone]);
  assert.equal(single.appliedRule, 'best');
  assert.equal(single.selected?.runId, lone.run.runId);
  assert.match(single.warning!, /needs at least 2 finished configurations \(1 finished\): chose the best/);

  const holdoutSpec = specWith({ validation: { kind: 'holdout', fraction: 0.2 }, selection: { rule: 'one-standard-error' } });
  const a = finished([0.9], 1000);
  const b = finished([0.899], 10);
  const holdout = select(holdoutSpec, [a, b]);
  assert.equal(holdout.selected?.runId, a.run.runId);
  assert.match(holdout.warning!, /a holdout has one split/);
  assert.match(holdout.testNote!, /a holdout has one split: no paired test/);
  assert.ok(
    [...holdout.comparisons.values()].every((c) => c.tied === null && c.pValue === null),
    'no test invented',
  );
  assert.equal(select(specWith({}), []).selected, null);
});

test('tied with the best: each run against rank 1 over shared folds, Holm-adjusted, p > alpha', () => {
  const spec = specWith({ validation: { kind: 'kfold', k: 5 } });
  const best = finished([0.9, 0.92, 0.91, 0.93, 0.89], 100);
  const close = finished([0.89, 0.925, 0.905, 0.92, 0.895], 100);
  const worse = finished([0.8, 0.81, 0.79, 0.82, 0.8], 100);
  const selection = select(spec, [best, close, worse]);
  const raw = [close, worse].map(
    (entry) =>
      correctedResampledTTest(
        [...entry.scores.values()].map((score, i) => score - best.scores.get(i)!),
        1 / 4,
      )!.pValue,
  );
  const adjusted = holmAdjust(raw);
  assert.deepEqual(selection.comparisons.get(best.run.runId)?.tied, true);
  assert.equal(selection.comparisons.get(close.run.runId)?.pValue, raw[0]);
  assert.equal(selection.comparisons.get(close.run.runId)?.adjustedP, adjusted[0]);
  assert.equal(selection.comparisons.get(close.run.runId)?.tied, true);
  assert.equal(selection.comparisons.get(worse.run.runId)?.adjustedP, adjusted[1]);
  assert.equal(selection.comparisons.get(worse.run.runId)?.tied, false);
  assert.ok(adjusted[1]! < 0.05 && adjusted[0]! > 0.05);
  // A stricter alpha widens the tied group; a looser one (0.5) narrows it.
  const loose = select(specWith({ validation: { kind: 'kfold', k: 5 }, selection: { alpha: 0.5 } }), [best, close, worse]);
  assert.equal(loose.alpha, 0.5);
  assert.equal(loose.comparisons.get(close.run.runId)?.tied, adjusted[0]! > 0.5);
});

test('selection.rule and selection.alpha: bad values name the field and what was expected', () => {
  const issues = (selection: unknown) => {
    try {
      specWith({ selection });
      return [];
    } catch (error) {
      assert.ok(error instanceof SpecError);
      return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
  };
  assert.match(issues({ rule: 'simplest' }).join('\n'), /selection\.rule: .*best.*one-standard-error/);
  assert.match(issues({ alpha: 1.5 }).join('\n'), /selection\.alpha: /);
  assert.match(issues({ alpha: 0 }).join('\n'), /selection\.alpha: /);
  assert.deepEqual(issues({ rule: 'one-standard-error', alpha: 0.1 }), [], 'metric may be left to the task default');
});
