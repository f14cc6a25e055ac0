/**
 * CONTRACT: how both ends of the queue (server/queue/ and worker/queue-worker.ts) talk to Redis:
 * the URL checked and never shown with its password, the same client options and retry curve,
 * error lines rate-limited, and the one registry read. Here rather than in either end because
 * server/ may import only worker/contract/; queue.ts keeps the shapes and keys these use.
 */
import { parseRegistryEntry, type RegistryEntry } from './queue.js';

/**
 * The queue URL for messages: the password (and a username, which some setups use as a secret)
 * replaced by `***`. Falls back to a fixed text when the URL cannot be parsed.
 */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.username && parsed.username !== 'default') parsed.username = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/** Returns a function that removes the URL's password from any text (error messages of the Redis client, say). */
export function createRedactor(url: string): (text: string) => string {
  let secrets: string[] = [];
  try {
    const parsed = new URL(url);
    secrets = [parsed.password, decodeURIComponent(parsed.password), parsed.username !== 'default' ? parsed.username : ''].filter(
      (secret) => secret.length > 0,
    );
  } catch {
    secrets = [];
  }
  const masked = maskRedisUrl(url);
  return (text) => {
    let out = text.split(url).join(masked);
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}

/**
 * Checks a queue URL before any client is made.
 * @throws {Error} with the masked URL when it is not a redis:// or rediss:// URL.
 */
export function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `--queue: expected a URL such as redis://HOST:6379 or redis://:PASSWORD@HOST:6379, got ${JSON.stringify(maskRedisUrl(url))}`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`--queue: expected a redis:// or rediss:// URL, got ${maskRedisUrl(url)}`);
  }
  if (!parsed.hostname) throw new Error(`--queue: the URL ${maskRedisUrl(url)} names no host`);
}

/** Reconnect quickly at first, then every 2 s, forever: a worker outlives a Redis restart. */
export function redisRetryDelayMs(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2000);
}

/**
 * The options both ends give every Redis client (ioredis, and BullMQ's connections): commands
 * wait for a reconnect instead of failing, on the retry curve above.
 */
export function redisClientOptions(connectionName?: string) {
  return { maxRetriesPerRequest: null, retryStrategy: redisRetryDelayMs, connectionName } as const;
}

/**
 * Log lines of either end: the same line at most once every 10 s, since a Redis outage would
 * otherwise print one per retry.
 */
export function rateLimited(write: (line: string) => void): (line: string) => void {
  const lastAt = new Map<string, number>();
  return (line) => {
    const now = Date.now();
    if (now - (lastAt.get(line) ?? 0) < 10_000) return;
    lastAt.set(line, now);
    write(line);
  };
}

/** The two Redis commands the registry read needs; an ioredis client has them. */
export type RegistryClient = {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', batch: number): Promise<[cursor: string, keys: string[]]>;
  mget(keys: string[]): Promise<(string | null)[]>;
};

/**
 * The registered coordinators, workers or refusals: every key of `pattern` (a `KEYS.*Pattern`),
 * read without blocking Redis (SCAN, not KEYS); entries that are not a registry entry are skipped.
 */
export async function readRegistry(redis: RegistryClient, pattern: string): Promise<RegistryEntry[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  return (await redis.mget(keys)).map(parseRegistryEntry).filter((entry): entry is RegistryEntry => entry !== null);
}
