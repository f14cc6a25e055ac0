import type { Config } from './config.js';
import { openStorage, type Storage } from './storage/storage.js';
import { WorkerPool } from './coordinator/worker-pool.js';
import { Coordinator } from './coordinator/coordinator.js';
import type { TaskRunner } from './coordinator/task-runner.js';
import { FeedPublisher } from './coordinator/change-feed.js';

/** Everything a command needs, wired once. */
export type Composition = {
  readonly config: Config;
  readonly storage: Storage;
  readonly runner: TaskRunner;
  readonly coordinator: Coordinator;
  close(): Promise<void>;
};

export type ComposeOptions = {
  /** A runner other than the local pool (tests, the Redis queue). */
  readonly runner?: TaskRunner;
  readonly workerEnv?: NodeJS.ProcessEnv;
};

export function compose(config: Config, options: ComposeOptions = {}): Composition {
  const storage = openStorage(config.dbPath);
  const runner = options.runner ?? new WorkerPool({ size: config.workers, env: options.workerEnv });
  const coordinator = new Coordinator(storage, runner, { dataDir: config.dataDir, sharePrefixes: config.sharePrefixes });
  // What this process announces, a dashboard in another process streams (change-feed.ts).
  const feed = new FeedPublisher(storage.feed, coordinator.events);
  let closed = false;
  return {
    config,
    storage,
    runner,
    coordinator,
    async close() {
      if (closed) return;
      closed = true;
      await runner.close();
      feed.close();
      storage.close();
    },
  };
}
