import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStorage } from '../../../server/storage/storage.js';
import { createBareExperiment } from '../../helpers/bare-experiment.js';
import { LEASE_STALE_MS } from '../../../server/storage/lease-store.js';
import { LeaseHeldError, withLease } from '../../../server/coordinator/experiment-lease.js';

function setUp() {
  const path = join(mkdtempSync(join(tmpdir(), 'foldwise-lease-')), 'foldwise.db');
  const storage = openStorage(path);
  const experiment = createBareExperiment(storage);
  return { path, storage, experiment };
}

test('a lease has one owner: a second acquire is refused with the holder, a release frees it', () => {
  const { storage, experiment } = setUp();
  const first = storage.leases.acquire(experiment.experimentId, 'search', 1_000);
  assert.ok('lease' in first);
  const second = storage.leases.acquire(experiment.experimentId, 'refit', 2_000);
  assert.ok('heldBy' in second && second.heldBy.owner === first.lease.owner && second.heldBy.pid === process.pid);
  storage.leases.release(first.lease);
  assert.ok('lease' in storage.leases.acquire(experiment.experimentId, 'refit', 3_000));
  storage.close();
});

test('a lease goes stale without heartbeats, or at once when its process is gone; then the next acquire takes it over', () => {
  const { storage, experiment, path } = setUp();
  const taken = storage.leases.acquire(experiment.experimentId, 'search', 10_000);
  assert.ok('lease' in taken);
  assert.ok(storage.leases.heartbeat(taken.lease, 20_000));
  assert.ok(storage.leases.holder(experiment.experimentId, 20_000 + LEASE_STALE_MS - 1), 'live just before the stale interval');
  assert.equal(storage.leases.holder(experiment.experimentId, 20_000 + LEASE_STALE_MS), null, 'stale after it');
  const takeover = storage.leases.acquire(experiment.experimentId, 'search', 20_000 + LEASE_STALE_MS);
  assert.ok('lease' in takeover && takeover.lease.owner !== taken.lease.owner);
  assert.equal(storage.leases.heartbeat(taken.lease, 40_000), false, 'the old owner learns it lost the lease');

  // A lease of a process that has exited (as after kill -9), heartbeat fresh: not live.
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  const db = new Database(path);
  db.prepare('UPDATE leases SET pid = ?, heartbeat_at = ?').run(pid, Date.now());
  db.close();
  assert.equal(storage.leases.holder(experiment.experimentId), null);
  storage.close();
});

test('a running experiment without a live owner reads as interrupted; with one, as running', async () => {
  const { storage, experiment } = setUp();
  storage.experiments.setStatus(experiment.experimentId, 'running');
  assert.equal(storage.experiments.get(experiment.experimentId).status, 'interrupted');
  await withLease(storage.leases, experiment, 'search', async () => {
    assert.equal(storage.experiments.get(experiment.experimentId).status, 'running');
    assert.equal(storage.experiments.list()[0]!.status, 'running');
    // The same process asking again is refused too: one owner, whoever asks.
    assert.throws(
      () => withLease(storage.leases, experiment, 'refit', async () => {}),
      (error: Error) =>
        error instanceof LeaseHeldError &&
        new RegExp(
          `^experiment "e" is being searched by pid ${process.pid} on host \\S+ since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`,
        ).test(error.message),
    );
  });
  assert.equal(storage.experiments.get(experiment.experimentId).status, 'interrupted', 'released at the end');
  await assert.rejects(
    withLease(storage.leases, experiment, 'search', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(storage.leases.holder(experiment.experimentId), null, 'released when the work throws');
  storage.close();
});
