import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardServices, type DashboardDeps } from '../services/dashboard-services.js';
import { createApp } from './app.js';

export type Dashboard = {
  readonly url: string;
  /** Stops background work started from the browser, ends live streams and closes the server. */
  close(): Promise<void>;
};

/**
 * Serves the dashboard on `config.host`:`config.port` (loopback unless told otherwise; port 0
 * picks a free one). Prints nothing: the CLI prints the URL.
 */
export async function serveDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const services = createDashboardServices(deps);
  const server = createServer(createApp(services, { host: deps.config.host }));
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
    close() {
      closing ??= (async () => {
        await services.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Live event streams never end by themselves.
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
