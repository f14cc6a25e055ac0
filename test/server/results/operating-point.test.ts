import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '../../../worker/contract/protocol.js';
import { decisionLines } from '../../../server/cli/decision-lines.js';
import { describeObjective, operatingPointOf } from '../../../server/results/operating-point.js';

const chosen: Decision = {
  threshold: 0.3125,
  objective: { objective: 'recall_at_precision', value: 0.9 },
  positiveClass: 'churned',
  pooled: 0.55,
  folds: { recall: [0.5, 0.6, 0.55], precision: [0.9, 0.92, 0.91] },
  confusion: { tp: 11, fp: 1, tn: 80, fn: 8 },
  note: null,
};

test('operatingPointOf: how the threshold was chosen and the objective over folds (mean ± population std)', () => {
  const point = operatingPointOf(chosen);
  assert.equal(point.chosenBy, 'the highest recall with precision ≥ 0.9 on the pooled out-of-fold predictions');
  assert.equal(point.objective?.label, 'recall');
  assert.ok(Math.abs(point.objective!.cvMean! - 0.55) < 1e-12);
  assert.ok(Math.abs(point.objective!.cvStd! - Math.sqrt(0.005 / 3)) < 1e-12);
  assert.equal(describeObjective({ objective: 'cost', falsePositive: 1, falseNegative: 20 }), 'the least cost 1·FP + 20·FN');
  assert.equal(describeObjective({ objective: 'mcc' }), 'the best MCC');
});

test('decisionLines: the chosen threshold with its CV estimate, or the default said as such; the confusion matrix', () => {
  const lines = decisionLines(chosen).join('\n');
  assert.match(lines, /^Operating threshold 0\.3125 for "churned": the highest recall with precision ≥ 0\.9 on the pooled out-of-fold/);
  assert.match(lines, /\(0\.5500; cross-validation recall 0\.5500 ± 0\.0408 over folds\)/);
  assert.match(lines, /actual positive\s+11\s+8\nactual negative\s+1\s+80/);
  const byDefault = decisionLines({ ...chosen, threshold: 0.5, objective: null, pooled: null, folds: {} }).join('\n');
  assert.match(
    byDefault,
    /^Operating threshold 0\.5 \(the default: no selection\.threshold\): a row is "churned" when p\("churned"\) > 0\.5\./,
  );
  assert.match(
    decisionLines({ ...chosen, note: 'no threshold reaches precision 0.9' }).join('\n'),
    /\nNote: no threshold reaches precision 0\.9\.\n/,
  );
});

test('one split (a holdout): the objective without a spread', () => {
  const holdout = { ...chosen, folds: { recall: [0.5], precision: [0.9] } };
  assert.equal(operatingPointOf(holdout).objective?.cvStd, null);
  assert.match(decisionLines(holdout)[0]!, /cross-validation recall 0\.5000 on the one split\)/);
});
