import { selectBackend } from './worker/backend.js';
import { runTask } from './worker/train.js';
import { predictFromCsv } from './worker/model-files.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from './worker/spec.js';
import { readFileSync } from 'node:fs';
const { tf, backend } = await selectBackend();
const spec = validateSpec({ name: 't', dataset: { kind: 'ratings', users: 200, items: 100 }, validation: { kind: 'holdout', fraction: 0.2 } });
for (const p of [{ family: 'mf' }, { family: 'ncf', useDotTerm: true, dropout: 0.1 }, { family: 'mlp' }] as Partial<Params>[]) {
  const params = { ...DEFAULT_PARAMS, epochs: 3, l2: 0.05, ...p } as Params;
  const dir = `/tmp/scratch/model-${p.family}`;
  const res = await runTask({ taskId: 'x', runId: 1, foldIndex: 0, attempt: 1, kind: 'refit', spec, task: 'regression', params, refit: { epochs: 3, modelDir: dir } }, { tf, backend }, () => {});
  console.log(p.family, JSON.stringify(res.testMetrics));
  const pre = JSON.parse(readFileSync(`${dir}/preprocessing.json`, 'utf8'));
  console.log(' inputs', pre.ratings.inputs, 'embedded users', pre.ratings.users.embedded.length, 'bytes', readFileSync(`${dir}/preprocessing.json`).length);
  const out = await predictFromCsv(tf, dir, [{ user: '1', item: '1' }, { user: '9999', item: '2', age: '30', gender: 'F', occupation: 'artist' }, { user: '9999', item: '77777', genres: 'Drama|Comedy', year: '2001' }]);
  console.log(' ', JSON.stringify(out));
}
console.log('tensors', tf.memory().numTensors);
