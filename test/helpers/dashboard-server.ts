/**
 * A dashboard over a temporary data directory, for route and browser tests: real stores on a
 * file database, a real Coordinator over a scripted runner (or any TaskRunner), createApp
 * listening on a free loopback port.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import type { TaskRunner } from '../../server/coordinator/task-runner.js';
import { createApp } from '../../server/http/app.js';
import { createDashboardServices, type DashboardServices } from '../../server/services/dashboard-services.js';
import { openStorage, type Storage } from '../../server/storage/storage.js';
import { PacedRunner } from './paced-runner.js';

export type TestDashboard = {
  readonly url: string;
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  readonly services: DashboardServices;
  readonly runner: TaskRunner;
  readonly dataDir: string;
  readonly experimentsDir: string;
  close(): Promise<void>;
};

export type TestDashboardOptions = {
  readonly runner?: TaskRunner;
  /** Called with the stores before the server starts. */
  readonly seed?: (storage: Storage, dirs: { dataDir: string; experimentsDir: string }) => void;
  /** Copy the repository's experiments/ folder into the temporary experiments folder. @default true */
  readonly copyExperiments?: boolean;
  /** Where background work reports searches starting and ending. @default nowhere */
  readonly log?: (line: string) => void;
};

const REPO_EXPERIMENTS = new URL('../../experiments', import.meta.url);

export async function startTestDashboard(options: TestDashboardOptions = {}): Promise<TestDashboard> {
  const root = mkdtempSync(join(tmpdir(), 'foldwise-dash-'));
  const dataDir = join(root, 'data');
  const experimentsDir = join(root, 'experiments');
  if (options.copyExperiments ?? true) cpSync(REPO_EXPERIMENTS, experimentsDir, { recursive: true });
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  options.seed?.(storage, { dataDir, experimentsDir });
  const runner = options.runner ?? new PacedRunner();
  const coordinator = new Coordinator(storage, runner, { dataDir });
  const services = createDashboardServices({
    config: { dataDir, experimentsDir, host: '127.0.0.1', port: 0 },
    storage,
    coordinator,
    log: options.log ?? (() => undefined),
  });
  const app = createApp(services);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    storage,
    coordinator,
    services,
    runner,
    dataDir,
    experimentsDir,
    async close() {
      await services.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runner.close();
      storage.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
