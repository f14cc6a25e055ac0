import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../../worker/backend.js';
import { decodeOutOfFold } from '../../../worker/contract/protocol.js';
import { run, scratchDir, taskMaker, withEngine, writeEasyCsv } from '../../helpers/run-task.js';

const makeTask = taskMaker(writeEasyCsv(scratchDir('foldwise-class-weights-')), 'class-weights');

/** The mean out-of-fold probability of the positive class, among the positives and among the negatives. */
function meanProbabilities(outOfFold: NonNullable<Awaited<ReturnType<typeof run>>['result']['outOfFold']>): [number, number] {
  const { targets, predictions } = decodeOutOfFold(outOfFold);
  const mean = (label: number) => {
    const p = predictions.filter((_, i) => targets[i] === label);
    return p.reduce((sum, v) => sum + v, 0) / p.length;
  };
  return [mean(1), mean(0)];
}

test('classWeight in both trainers: the engine follows the layers loop; weighing the positives raises their probabilities', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const weighted = makeTask({ params: { epochs: 4, learningRate: 0.003, classWeight: { '1': 8 } } });
  const fast = await withEngine('fast', () => run(tf, backend, weighted));
  const layers = await withEngine('layers', () => run(tf, backend, weighted));
  for (let epoch = 0; epoch < 4; epoch++) {
    for (const name of ['loss', 'val_loss', 'val_auc']) {
      const a = fast.curve[epoch]![name]!;
      const b = layers.curve[epoch]![name]!;
      assert.ok(Math.abs(a - b) < 1e-3, `epoch ${epoch} ${name}: engine ${a}, layers loop ${b}`);
    }
  }
  // The same task unweighted: the positives' (and the negatives') probabilities are lower, the curves differ.
  const plain = await run(tf, backend, makeTask({ params: { epochs: 4, learningRate: 0.003 } }));
  const [weightedPositive, weightedNegative] = meanProbabilities(fast.result.outOfFold!);
  const [plainPositive, plainNegative] = meanProbabilities(plain.result.outOfFold!);
  assert.ok(weightedPositive > plainPositive && weightedNegative > plainNegative, JSON.stringify({ weightedPositive, plainPositive }));
  assert.notDeepEqual(fast.curve, plain.curve);
  // `none` is the unweighted run itself (same seeds: a run's identity leaves it out).
  const none = await run(tf, backend, makeTask({ params: { epochs: 4, learningRate: 0.003, classWeight: 'none' } }));
  assert.deepEqual(none.curve, plain.curve);
});

test('classWeight balanced on a multiclass task trains on both trainers alike', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const task = makeTask({ spec: { dataset: { kind: 'iris' } }, taskKind: 'multiclass', params: { epochs: 3, classWeight: 'balanced' } });
  const fast = await withEngine('fast', () => run(tf, backend, task));
  const layers = await withEngine('layers', () => run(tf, backend, task));
  for (const name of ['loss', 'val_loss', 'val_accuracy']) {
    const [a, b] = [fast.curve.at(-1)![name]!, layers.curve.at(-1)![name]!];
    assert.ok(Math.abs(a - b) < 1e-3, `${name}: engine ${a}, layers loop ${b}`);
  }
  assert.equal(fast.result.outOfFold!.width, 3);
});
