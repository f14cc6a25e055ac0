import { Router } from 'express';
import type { DashboardServices } from '../services/dashboard-services.js';
import { parseId } from './params.js';

/** The data of the experiment page's search views (services/search-views.ts). */
export function createSearchViewRouter({ searchViews }: Pick<DashboardServices, 'searchViews'>): Router {
  const router = Router();

  /** @route GET /api/experiments/:experimentId/trials  trials in order, the searched dimensions, importance */
  router.get('/api/experiments/:experimentId/trials', (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(searchViews.of(parseId(req.params.experimentId, 'experimentId')));
  });

  return router;
}
