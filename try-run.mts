import { selectBackend } from './worker/backend.js';
import { runTask } from './worker/train.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from './worker/spec.js';
const { tf, backend } = await selectBackend();
const spec = validateSpec({ name: 't', dataset: { kind: 'ratings', users: Number(process.env.U ?? 1000), items: Number(process.env.I ?? 500) }, validation: { kind: 'holdout', fraction: 0.2, earlyStopping: { monitor: 'val_rmse', patience: 4 } } });
const families: Partial<Params>[] = JSON.parse(process.env.P ?? '[{"family":"mf"},{"family":"ncf"},{"family":"ncf","useDotTerm":true},{"family":"mlp"}]');
for (const p of families) {
  const params = { ...DEFAULT_PARAMS, epochs: 30, batchSize: 256, learningRate: 0.003, l2: 0.01, factors: 16, ...p } as Params;
  const t0 = performance.now();
  const res = await runTask({ taskId: 'x', runId: 1, foldIndex: 0, attempt: 1, kind: 'search', spec, task: 'regression', params }, { tf, backend }, (e, m) => { if (process.env.V) console.log(e, JSON.stringify(m)); });
  console.log(JSON.stringify(p), backend, 'ms', Math.round(performance.now() - t0), 'best', res.bestEpoch, 'stop', res.stoppedEpoch, JSON.stringify(res.bestMetrics), 'params', res.paramCount, 'tensors', tf.memory().numTensors);
}
