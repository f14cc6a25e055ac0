import { openDatabase, type Db } from './database.js';
import { ExperimentStore } from './experiment-store.js';
import { RunStore } from './run-store.js';
import { MetricStore } from './metric-store.js';
import { ModelStore } from './model-store.js';

/** The stores over one database handle. The coordinator is the only process that writes. */
export type Storage = {
  readonly db: Db;
  readonly experiments: ExperimentStore;
  readonly runs: RunStore;
  readonly metrics: MetricStore;
  readonly models: ModelStore;
  close(): void;
};

export function openStorage(path: string): Storage {
  const db = openDatabase(path);
  return {
    db,
    experiments: new ExperimentStore(db),
    runs: new RunStore(db),
    metrics: new MetricStore(db),
    models: new ModelStore(db),
    close: () => db.close(),
  };
}
