import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

const SPEC = `
name: busy
dataset: { kind: fraud, rows: 4000, features: 8, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 32, epochs: 60 }
grid: { width: [8, 16, 24, 32] }
validation: { kind: kfold, k: 3 }
`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

type RunRow = { runId: number; status: string; scoreMean: number | null; nFolds: number; foldsDone: number };

test('dashboard in another process reads under load while a search writes: no SQLITE_BUSY, no half-written run', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const specPath = writeFile(dir, 'spec.yaml', SPEC);
  const search = startCli(['run', specPath, '--workers', '2', '--no-refit'], dataDir);
  await waitFor(() => /Starting "busy"/.test(search.output()), 'the search to start', 120_000);

  const port = await freePort();
  const serve = startCli(['serve', '--port', String(port)], dataDir);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${base}/api/experiments`).catch(() => null))?.ok, 'the dashboard', 60_000);
    const experiments = (await (await fetch(`${base}/api/experiments`)).json()) as
      | { experiments?: { experimentId: number }[] }
      | { experimentId: number }[];
    const list = Array.isArray(experiments) ? experiments : experiments.experiments!;
    const id = list[0]!.experimentId;

    let requests = 0;
    let searchDone = false;
    void search.finished.then(() => (searchDone = true));
    const client = async () => {
      // Bounded: stops when the search ends or after 400 requests per client.
      for (let i = 0; i < 400 && !searchDone; i++) {
        const runsResponse = await fetch(`${base}/api/experiments/${id}/runs`);
        assert.equal(runsResponse.status, 200, await runsResponse.clone().text());
        const body = (await runsResponse.json()) as { runs?: RunRow[] } | RunRow[];
        const runs = Array.isArray(body) ? body : body.runs!;
        for (const run of runs) {
          if (run.status === 'done') {
            assert.notEqual(run.scoreMean, null, `run ${run.runId} done without its score`);
            assert.equal(run.foldsDone, run.nFolds, `run ${run.runId} done with ${run.foldsDone}/${run.nFolds} folds`);
          }
        }
        const ids = runs
          .slice(0, 3)
          .map((run) => run.runId)
          .join(',');
        const curves = await fetch(`${base}/api/experiments/${id}/curves?runs=${ids}`);
        assert.equal(curves.status, 200, await curves.clone().text());
        requests += 2;
      }
    };
    await Promise.all(Array.from({ length: 6 }, client));
    const result = await search.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(requests >= 20, `made ${requests} requests during the search`);
    assert.doesNotMatch(search.output() + serve.output(), /SQLITE_BUSY|database is locked/);
  } finally {
    serve.child.kill('SIGTERM');
    await serve.finished;
  }
});
