import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FeedPublisher } from '../../../server/coordinator/change-feed.js';
import { CoordinatorEventBus, type CoordinatorEvents } from '../../../server/coordinator/events.js';
import { FeedFollower } from '../../../server/services/feed-follower.js';
import { LiveEvents, type LiveEvent } from '../../../server/services/live-events.js';
import { FEED_RETENTION_MS } from '../../../server/storage/feed-store.js';
import { openStorage, type Storage } from '../../../server/storage/storage.js';

/** Two handles on one database file: what two foldwise processes on one data directory are to SQLite. */
function twoProcesses(): { a: Storage; b: Storage; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'foldwise-feed-'));
  const path = join(dir, 'foldwise.db');
  const a = openStorage(path);
  const b = openStorage(path);
  return {
    a,
    b,
    close() {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Heard = { type: string; event: unknown };

function listen(bus: CoordinatorEventBus): Heard[] {
  const heard: Heard[] = [];
  for (const type of ['epoch', 'run', 'experiment', 'progress', 'refit'] as const) {
    bus.on(type, (event) => heard.push({ type, event }));
  }
  return heard;
}

const epoch = (epochIndex: number): CoordinatorEvents['epoch'] => ({
  experimentId: 1,
  runId: 2,
  foldIndex: 0,
  epoch: epochIndex,
  metrics: { loss: 1 / (epochIndex + 1), val_auc: 0.5 + epochIndex / 100 },
});

test('change feed: what one process announces, a follower in another emits once, in order, with the same payloads', () => {
  const { a, b, close } = twoProcesses();
  const busA = new CoordinatorEventBus();
  const busB = new CoordinatorEventBus();
  const publisherA = new FeedPublisher(a.feed, busA, { flushMs: 60_000 });
  const publisherB = new FeedPublisher(b.feed, busB, { flushMs: 60_000 });
  const follower = new FeedFollower(b.feed, { pollMs: 60_000 });
  try {
    const heard = listen(follower.events);
    follower.poll();
    assert.equal(heard.length, 0, 'nothing new: the follower starts at the end of the feed');

    busA.emit('experiment', { experimentId: 1, status: 'running' });
    for (let i = 0; i < 3; i++) busA.emit('epoch', epoch(i));
    busA.emit('run', { experimentId: 1, runId: 2, status: 'done' });
    busA.emit('progress', {
      experimentId: 1,
      tasksDone: 1,
      tasksTotal: 4,
      elapsedMs: 10,
      best: null,
      leading: { runId: 2, number: 1, score: 0.52, foldsDone: 1, nFolds: 2 },
    });
    busA.emit('refit', { experimentId: 1, runId: 9, sourceRunId: 2, epochs: 3 });
    follower.poll();
    assert.equal(heard.length, 0, 'announced but not yet written: nothing to read');

    publisherA.flush();
    // B's own announcements are never echoed back to B.
    busB.emit('experiment', { experimentId: 5, status: 'running' });
    publisherB.flush();
    follower.poll();
    assert.deepEqual(
      heard.map((h) => h.type),
      ['experiment', 'epoch', 'epoch', 'epoch', 'run', 'progress', 'refit'],
    );
    assert.deepEqual(heard[2]!.event, epoch(1));
    follower.poll();
    assert.equal(heard.length, 7, 'read once');

    // A NaN metric arrives as null, as JSON carries it to the browser anyway.
    busA.emit('epoch', { ...epoch(3), metrics: { loss: Number.NaN } });
    publisherA.flush();
    follower.poll();
    assert.deepEqual((heard.at(-1)!.event as CoordinatorEvents['epoch']).metrics, { loss: null });
  } finally {
    follower.close();
    publisherA.close();
    publisherB.close();
    close();
  }
});

test("change feed: a handle's own writes leave its data_version alone; another's change it", () => {
  const { a, b, close } = twoProcesses();
  try {
    const before = b.feed.dataVersion();
    b.feed.append([{ experimentId: 1, type: 'run', payload: '{}', createdAt: Date.now() }]);
    assert.equal(b.feed.dataVersion(), before);
    a.feed.append([{ experimentId: 1, type: 'run', payload: '{}', createdAt: Date.now() }]);
    assert.notEqual(b.feed.dataVersion(), before);
  } finally {
    close();
  }
});

test('change feed: rows older than the retention are pruned; a follower that fell behind them is told to resync', () => {
  const { a, b, close } = twoProcesses();
  let now = 1_000_000;
  const bus = new CoordinatorEventBus();
  const publisher = new FeedPublisher(a.feed, bus, { flushMs: 60_000, now: () => now });
  let missed = 0;
  const follower = new FeedFollower(b.feed, { pollMs: 60_000, onMissed: () => missed++ });
  // Every row A wrote, as B (another origin) reads them.
  const count = () => b.feed.readSince(0, 1_000_000).rows.length;
  try {
    const heard = listen(follower.events);
    // A stale row from long ago: read by the follower, then gone at the first flush.
    a.feed.append([{ experimentId: 1, type: 'run', payload: '{}', createdAt: now - 10 * FEED_RETENTION_MS }]);
    follower.poll();
    for (let i = 0; i < 5; i++) bus.emit('epoch', epoch(i));
    publisher.flush();
    assert.equal(count(), 5, 'the stale row is gone, the new ones kept');
    follower.poll();
    assert.equal(heard.length, 6, 'the stale row was read before it went: nothing was missed');
    assert.equal(missed, 0);

    // The follower stalls; the rows it has not read age past the retention and are pruned.
    for (let i = 5; i < 8; i++) bus.emit('epoch', epoch(i));
    publisher.flush();
    now += FEED_RETENTION_MS + 20_000;
    bus.emit('run', { experimentId: 1, runId: 2, status: 'done' });
    publisher.flush();
    assert.equal(count(), 1, 'only the fresh row is left');
    follower.poll();
    assert.equal(missed, 1, 'the follower knows it missed rows');
    assert.equal(heard.at(-1)!.type, 'run', 'and still emits what is there');
    follower.poll();
    assert.equal(missed, 1);
  } finally {
    follower.close();
    publisher.close();
    close();
  }
});

test('LiveEvents: events of either bus reach the experiment subscribers and the all-experiments subscribers', () => {
  const local = new CoordinatorEventBus();
  const followed = new CoordinatorEventBus();
  const live = new LiveEvents([local, followed]);
  const one: LiveEvent[] = [];
  const all: LiveEvent[] = [];
  const stopOne = live.subscribe(1, (event) => one.push(event));
  const stopAll = live.subscribeAll((event) => all.push(event));
  local.emit('run', { experimentId: 1, runId: 2, status: 'running' });
  followed.emit('experiment', { experimentId: 3, status: 'done' });
  followed.emit('epoch', epoch(0));
  live.resync();
  assert.deepEqual(
    one.map((e) => e.type),
    ['run', 'epoch', 'resync'],
  );
  assert.deepEqual(
    all.map((e) => e.type),
    ['run', 'experiment', 'epoch', 'resync'],
  );
  assert.equal(live.subscriberCount, 2);
  stopOne();
  stopAll();
  assert.equal(live.subscriberCount, 0);
  live.close();
});
