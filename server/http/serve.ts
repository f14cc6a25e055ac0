import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { SearchSummary } from '../coordinator/coordinator.js';
import { createDashboardServices, type DashboardDeps } from '../services/dashboard-services.js';
import { createApp } from './app.js';

/** How long a closing dashboard waits for the answers it is writing (a Stop's among them) before it cuts connections. */
const ANSWER_GRACE_MS = 2000;

export type Dashboard = {
  readonly url: string;
  /**
   * Gives the experiment page's Stop button a search this process runs itself (`foldwise run
   * SPEC --serve`): Stop aborts `stopper`. See BackgroundWork.adoptSearch.
   */
  adoptSearch(experimentId: number, running: Promise<SearchSummary>, stopper: AbortController): void;
  /** Stops background work started from the browser, ends live streams and closes the server. */
  close(): Promise<void>;
};

const isEventStream = (res: ServerResponse) => String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream');

/**
 * Serves the dashboard on `config.host`:`config.port` (loopback unless told otherwise; port 0
 * picks a free one). Prints nothing: the CLI prints the URL.
 */
export async function serveDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const services = createDashboardServices(deps);
  const server = createServer(createApp(services, { host: deps.config.host }));
  // Responses being written, so that closing answers them first: the Stop that ends `run --serve` is one.
  const open = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.port, deps.config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    adoptSearch(experimentId, running, stopper) {
      services.background.adoptSearch(experimentId, running, stopper);
    },
    close() {
      closing ??= (async () => {
        await services.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const answers = [...open].filter((res) => !isEventStream(res)).map((res) => once(res, 'close'));
        await Promise.race([Promise.all(answers), delay(ANSWER_GRACE_MS, undefined, { ref: false })]);
        // Live event streams never end by themselves, nor do idle keep-alive connections.
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
