/**
 * The coordinator's side of the connection and the registry: it waits for Redis, keeps its own
 * registry entry alive, and waits for queue workers of its code version, reporting those of
 * another version as refused.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  KEYS,
  REGISTRY_TTL_SECONDS,
  describeVersion,
  sameVersion,
  type CodeVersion,
  type RegistryEntry,
} from '../../worker/contract/queue.js';
import { readRegistry } from '../../worker/contract/redis-connection.js';
import { AppError } from '../errors.js';

export type WaitForWorkersOptions = {
  /** Queue workers started on this machine: they are waited for; remote ones cannot be known in advance. */
  readonly localWorkers: number;
  /** True when the local workers could not start. */
  readonly localWorkersFailed: () => boolean;
  /** Stops waiting. */
  readonly isClosed: () => boolean;
  /** The line that tells where to start workers; said once, when nobody is registered and none start here. */
  readonly waitingLine: string;
};

export class CoordinatorRegistry {
  readonly #redis: Redis;
  readonly #instanceId: string;
  readonly #version: CodeVersion;
  readonly #log: (line: string) => void;

  constructor(redis: Redis, instanceId: string, version: CodeVersion, log: (line: string) => void) {
    this.#redis = redis;
    this.#instanceId = instanceId;
    this.#version = version;
    this.#log = log;
  }

  /** Writes this coordinator's entry again, for another REGISTRY_TTL_SECONDS. */
  async refresh(): Promise<void> {
    const entry: RegistryEntry = { role: 'coordinator', name: `${hostname()}:${process.pid}`, version: this.#version };
    await this.#redis.set(KEYS.coordinator(this.#instanceId), JSON.stringify(entry), 'EX', REGISTRY_TTL_SECONDS);
  }

  async unregister(): Promise<void> {
    await this.#redis.del(KEYS.coordinator(this.#instanceId));
  }

  /**
   * Waits until enough queue workers of this code version are registered (at least one, and
   * every local one), reporting workers of other versions as refused once each. Resolves with
   * their entries, or null once `isClosed`.
   * @throws {AppError} when the local workers could not start.
   */
  async waitForWorkers(options: WaitForWorkersOptions): Promise<RegistryEntry[] | null> {
    const reported = new Set<string>();
    let waitingSaid = false;
    for (;;) {
      let workers: RegistryEntry[];
      let refused: RegistryEntry[];
      try {
        workers = await readRegistry(this.#redis, KEYS.workerPattern);
        refused = await readRegistry(this.#redis, KEYS.refusedPattern);
      } catch (error) {
        if (options.isClosed()) return null;
        throw error;
      }
      for (const entry of [...workers, ...refused].filter((w) => !sameVersion(w.version, this.#version))) {
        if (reported.has(entry.name)) continue;
        reported.add(entry.name);
        this.#log(
          `queue worker ${entry.name} refused: it runs ${describeVersion(entry.version)}, ` +
            `this coordinator ${describeVersion(this.#version)}`,
        );
      }
      const compatible = workers.filter((w) => sameVersion(w.version, this.#version));
      if (compatible.length >= Math.max(1, options.localWorkers)) return compatible;
      if (options.isClosed()) return null;
      if (options.localWorkersFailed())
        throw new AppError('internal', 'the queue workers of this machine (--local-workers) could not start; see the messages above');
      if (!waitingSaid && compatible.length === 0 && options.localWorkers === 0) {
        this.#log(options.waitingLine);
        waitingSaid = true;
      }
      await sleep(500);
    }
  }
}

/** Resolves once the client is connected; rejects after `timeoutMs` with the last connection error. */
export function waitForConnection(redis: Redis, timeoutMs: number, what: () => string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolveReady, reject) => {
    let lastError = 'no answer';
    const onError = (error: Error) => (lastError = error.message);
    const onReady = () => {
      clearTimeout(timer);
      redis.off('error', onError);
      resolveReady();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      reject(new AppError('invalid_argument', `${what()} (${lastError})`));
    }, timeoutMs);
    redis.on('error', onError);
    redis.once('ready', onReady);
  });
}
