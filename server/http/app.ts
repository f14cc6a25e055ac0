import express, { type Express } from 'express';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DashboardServices } from '../services/dashboard-services.js';
import { createApiRouter } from './api-routes.js';
import { createErrorHandler, notFound } from './error-handler.js';
import { createPageRouter } from './page-routes.js';
import { createNoteRouter } from './note-routes.js';
import { createSearchViewRouter } from './search-view-routes.js';
import { createUploadRouter } from './upload-routes.js';
import { hostGuard, limitUnreadBodies, originGuard, securityHeaders } from './security.js';
import { Views, WEB_DIR } from './views.js';

/** Request bodies larger than this, of any content type, are refused with 413 (CSV uploads have their own limit). */
export const BODY_LIMIT = '256kb';

export type AppOptions = {
  /** The address the server binds: Host headers must name it (or loopback). @default '127.0.0.1' */
  readonly host?: string;
};

/** ECharts, served from the installed package: the dashboard works offline, never from a CDN. */
function echartsPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('echarts/package.json')), 'dist', 'echarts.min.js');
}

/** The dashboard as an express app. It never listens: serve.ts (or a test) does. */
export function createApp(services: DashboardServices, options: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const views = new Views();

  app.use((_req, res, next) => {
    res.locals.startedAt = performance.now();
    next();
  });
  app.use(securityHeaders);
  app.use(hostGuard(options.host ?? '127.0.0.1'));

  const echarts = echartsPath();
  app.get('/static/vendor/echarts.min.js', (_req, res, next) => {
    res.sendFile(echarts, { maxAge: '1d', dotfiles: 'allow' }, (error) => error && next(error));
  });
  app.use('/static', express.static(join(WEB_DIR, 'static'), { dotfiles: 'deny', index: false, redirect: false, fallthrough: true }));

  // Refuse cross-origin writes before reading their bodies.
  app.use(originGuard);
  app.use(express.json({ limit: BODY_LIMIT }));
  app.use(express.urlencoded({ limit: BODY_LIMIT, extended: false }));

  // CSV uploads carry their own, larger limit (services/uploads.ts); JSON and form bodies keep BODY_LIMIT.
  app.use('/api/uploads', createUploadRouter(services.uploads));
  // Bodies of any other type obey BODY_LIMIT too.
  app.use(limitUnreadBodies(BODY_LIMIT));
  app.use(createNoteRouter(services), createSearchViewRouter(services));
  app.use('/api', createApiRouter(services));
  app.use(createPageRouter(services, views));
  app.use(notFound);
  app.use(createErrorHandler(views));
  return app;
}
