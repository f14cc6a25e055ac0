import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experimentGlance } from '../../../server/services/experiment-glance.js';
import type { NestedEstimate } from '../../../server/selection/nested-estimate.js';
import type { RunComparison, Selection } from '../../../server/selection/selection.js';
import type { ModelRecord } from '../../../server/storage/model-store.js';
import type { Run } from '../../../server/storage/run-store.js';

const run = (runId: number, scoreMean: number, scoreStd = 0.01, nFolds = 5) =>
  ({ runId, number: runId + 100, scoreMean, scoreStd, nFolds }) as Run;

/** Finished runs best first; `tied` marks which are not significantly worse than the best. */
function selection(ranked: readonly Run[], tied: readonly boolean[], extra: Partial<Selection> = {}): Selection {
  const comparisons = new Map<number, RunComparison>(
    ranked.map((r, i) => [
      r.runId,
      { runId: r.runId, sharedFolds: 5, meanDifference: 0, pValue: null, adjustedP: null, tied: tied[i]! } satisfies RunComparison,
    ]),
  );
  return {
    rule: 'best',
    appliedRule: 'best',
    alpha: 0.05,
    ranked,
    best: ranked[0] ?? null,
    selected: ranked[0] ?? null,
    standardError: null,
    warning: null,
    testNote: null,
    comparisons,
    ...extra,
  };
}

const model = (sourceRunId: number, test: number) => ({ sourceRunId, testMetrics: { test_auc: test } }) as unknown as ModelRecord;

test('glance: the tied group best first with links and a compare page, counted past 12', () => {
  const ranked = Array.from({ length: 20 }, (_, i) => run(i + 1, 0.9 - i * 0.001));
  const tied = ranked.map((_, i) => i < 15 && i !== 3);
  const glance = experimentGlance('auc', 'maximize', selection(ranked, tied), [], null);
  assert.equal(glance.tied!.count, 14);
  assert.equal(glance.tied!.finished, 20);
  assert.deepEqual(
    glance.tied!.runs.map((r) => r.number),
    [101, 102, 103, 105, 106, 107, 108, 109, 110, 111, 112, 113],
  );
  assert.equal(glance.tied!.more, 2);
  assert.deepEqual(glance.tied!.compareRunIds, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.equal(glance.optimism, null, 'not refitted yet');
  assert.equal(glance.nested, null);
});

test('glance: a holdout has no tied group; the best alone has no compare page', () => {
  const ranked = [run(1, 0.9), run(2, 0.8)];
  const holdout = selection(ranked, [true, false], { testNote: 'a holdout has one split: no paired test against the best is possible' });
  assert.equal(experimentGlance('auc', 'maximize', holdout, [], null).tied, null);
  assert.equal(experimentGlance('auc', 'maximize', selection(ranked, [true, false]), [], null).tied!.compareRunIds, null);
  assert.equal(experimentGlance('auc', 'maximize', selection([], []), [], null).tied, null, 'nothing finished');
});

test('glance: the selected run estimate against its newest refit, signed so that positive means the estimate looked better', () => {
  const ranked = [run(1, 0.92, 0.02), run(2, 0.91)];
  // Newest first: the selected run's newest refit is the one compared; another run's refit is ignored.
  const models = [model(2, 0.99), model(1, 0.9), model(1, 0.5)];
  const glance = experimentGlance('auc', 'maximize', selection(ranked, [true, true]), models, null);
  assert.equal(glance.optimism!.test, 0.9);
  assert.equal(glance.optimism!.runNumber, 101);
  assert.ok(Math.abs(glance.optimism!.gap - 0.02) < 1e-12);
  assert.equal(glance.optimism!.cvLookedBetter, true);
  assert.equal(glance.optimism!.cvStd, 0.02);
  // RMSE: lower is better, so a test RMSE below the estimate is the test split scoring better (a negative gap).
  const loss = experimentGlance(
    'rmse',
    'minimize',
    selection([run(1, 0.3, 0.01, 1)], [true]),
    [{ sourceRunId: 1, testMetrics: { test_rmse: 0.25 } } as unknown as ModelRecord],
    null,
  );
  assert.ok(Math.abs(loss.optimism!.gap + 0.05) < 1e-12);
  assert.equal(loss.optimism!.cvLookedBetter, false);
  assert.equal(loss.optimism!.cvStd, null, 'one split: no spread');
});

test('glance: nested CV passes the outer estimate through, scored or not', () => {
  const nested = { k: 3, scored: 0, outerMean: null } as unknown as NestedEstimate;
  assert.equal(experimentGlance('auc', 'maximize', selection([], []), [], nested).nested, nested);
});
