import type { Config } from '../config.js';
import type { Storage } from '../storage/storage.js';
import type { Coordinator } from '../coordinator/coordinator.js';

/** What the dashboard's services need from the composition (a `Composition` satisfies it). */
export type DashboardDeps = {
  readonly config: Pick<Config, 'dataDir' | 'experimentsDir' | 'host' | 'port'>;
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  /** Where background work says that a search started and ended. @default console.log (the `serve` terminal) */
  readonly log?: (line: string) => void;
};
