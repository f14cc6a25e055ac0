import { Router, type Request } from 'express';
import type { DashboardServices } from '../services/dashboard-services.js';
import { parseNotesBody } from './note-params.js';
import { parseId } from './params.js';

/**
 * Notes and tags on experiments and runs: the JSON API under /api, and the pages' forms without
 * JavaScript (answered with a redirect back). Writes pass originGuard (app.ts) like every other.
 */
export function createNoteRouter({ notes }: Pick<DashboardServices, 'notes'>): Router {
  const router = Router();
  const experimentId = (req: Request) => parseId(req.params.experimentId, 'experimentId');
  const runId = (req: Request) => parseId(req.params.runId, 'runId');

  /** @route GET /api/experiments/:experimentId/notes  {notes: {note, tags, updatedAt}} */
  router.get('/api/experiments/:experimentId/notes', (req, res) => {
    res.json({ notes: notes.ofExperiment(experimentId(req)) });
  });

  /** @route POST /api/experiments/:experimentId/notes  body {note?, tags?}: replaces the fields given */
  router.post('/api/experiments/:experimentId/notes', (req, res) => {
    const id = experimentId(req);
    res.json({ notes: notes.editExperiment(id, parseNotesBody(req.body)) });
  });

  /** @route GET /api/experiments/:experimentId/runs/:runId/notes */
  router.get('/api/experiments/:experimentId/runs/:runId/notes', (req, res) => {
    res.json({ notes: notes.ofRun(experimentId(req), runId(req)) });
  });

  /** @route POST /api/experiments/:experimentId/runs/:runId/notes  body {note?, tags?} */
  router.post('/api/experiments/:experimentId/runs/:runId/notes', (req, res) => {
    const [id, run] = [experimentId(req), runId(req)];
    res.json({ notes: notes.editRun(id, run, parseNotesBody(req.body)) });
  });

  /** @route POST /experiments/:experimentId/notes — the notes form without JavaScript */
  router.post('/experiments/:experimentId/notes', (req, res) => {
    const id = experimentId(req);
    notes.editExperiment(id, parseNotesBody(req.body));
    res.redirect(303, `/experiments/${id}#notes`);
  });

  /** @route POST /experiments/:experimentId/runs/:runId/notes — the run's notes form without JavaScript */
  router.post('/experiments/:experimentId/runs/:runId/notes', (req, res) => {
    const [id, run] = [experimentId(req), runId(req)];
    notes.editRun(id, run, parseNotesBody(req.body));
    res.redirect(303, `/experiments/${id}/runs/${run}#notes`);
  });

  return router;
}
