import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ValidationError } from './errors.js';
import { sharePrefixesFromEnv } from './coordinator/epoch-prefixes.js';

/** Settings read once from flags and the environment. */
export type Config = {
  /** Folder holding the database and model files. */
  readonly dataDir: string;
  readonly dbPath: string;
  /** Where the dashboard may read spec files and CSVs from. */
  readonly experimentsDir: string;
  readonly workers: number;
  readonly host: string;
  readonly port: number;
  /** Epoch-prefix sharing in grid searches (coordinator/epoch-prefixes.ts); FOLDWISE_SHARE_PREFIXES=0 turns it off. */
  readonly sharePrefixes: boolean;
};

export type ConfigFlags = { dataDir?: string; workers?: number; host?: string; port?: number; experimentsDir?: string };

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(flags.dataDir ?? env.FOLDWISE_DATA_DIR ?? '.foldwise');
  return Object.freeze({
    dataDir,
    dbPath: join(dataDir, 'foldwise.db'),
    experimentsDir: resolve(flags.experimentsDir ?? env.FOLDWISE_EXPERIMENTS_DIR ?? 'experiments'),
    workers: flags.workers ?? Math.max(1, availableParallelism()),
    host: flags.host ?? env.FOLDWISE_HOST ?? '127.0.0.1',
    port: flags.port ?? (env.FOLDWISE_PORT ? portFromEnv(env.FOLDWISE_PORT) : 3000),
    sharePrefixes: sharePrefixesFromEnv(env),
  });
}

function portFromEnv(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ValidationError(`FOLDWISE_PORT: expected a port from 0 to 65535, got "${text}"`);
  return port;
}
