import { createReadStream } from 'node:fs';
import { Router, type Request, type Response } from 'express';
import type { DashboardServices } from '../services/dashboard-services.js';
import { parseDeleteBody, parseId, parseIdList, parseMetricNames, parseRefitBody, parseStartBody } from './params.js';
import { leaderboardFor, parseSampleSize } from './leaderboard-params.js';
import { streamExperimentEvents, streamListEvents } from './sse.js';
import { writeCurvesCsv } from '../results/curves-csv.js';
import { ONNX_MEDIA_TYPE } from '../results/onnx-file.js';

/** Curves of at most this many runs per request: the pages fetch the runs they show, not all. */
export const MAX_CURVE_RUNS = 50;
export const MAX_COMPARE_RUNS = 12;

/** The JSON API under /api: what the pages show, for scripts and for the pages' own live updates. */
export function createApiRouter(services: DashboardServices): Router {
  const { queries, commands, specs, models, results, live, background } = services;
  const api = Router();
  const experimentId = (req: Request) => parseId(req.params.experimentId, 'experimentId');

  /** @route GET /api/experiments */
  api.get('/experiments', (_req, res) => {
    res.json({ experiments: queries.list() });
  });

  /** @route POST /api/experiments  body {specFile} | {specText}; 201, the search runs in the background */
  api.post('/experiments', async (req, res) => {
    const { source: _source, ...spec } = parseStartBody(req.body);
    const started = await commands.start(spec);
    const id = started.experiment.experimentId;
    res.status(201).json({
      experiment: queries.item(id),
      resumed: started.resumed,
      runsTotal: started.runsTotal,
      search: started.search,
      url: `/experiments/${id}`,
    });
  });

  /** @route GET /api/events  Server-Sent Events of every experiment, for the list: experiment, run, search */
  api.get('/events', (req, res) => {
    streamListEvents(req, res, live);
  });

  /** @route POST /api/experiments/:experimentId/stop  stops its search (or refit) in this dashboard: tasks end interrupted */
  api.post('/experiments/:experimentId/stop', async (req, res) => {
    res.json({ search: await commands.stop(experimentId(req)) });
  });

  /** @route POST /api/experiments/:experimentId/resume  202, searches an interrupted experiment again in the background */
  api.post('/experiments/:experimentId/resume', (req, res) => {
    res.status(202).json({ search: commands.resume(experimentId(req)) });
  });

  /** @route GET /api/experiments/:experimentId */
  api.get('/experiments/:experimentId', (req, res) => {
    res.json({ experiment: queries.detail(experimentId(req)) });
  });

  /**
   * @route GET /api/experiments/:experimentId/runs?page=&pageSize=&sort=&order=&status=&tag=  the leaderboard: one page of it,
   * sorted and filtered (every row without page or pageSize); ?sample=N: the rows the experiment page's charts draw
   */
  api.get('/experiments/:experimentId/runs', (req, res) => {
    const id = experimentId(req);
    const sample = parseSampleSize(req.query);
    res.json(sample === null ? leaderboardFor(services, id, req.query, null) : queries.chartSample(id, sample));
  });

  /** @route GET /api/experiments/:experimentId/runs.csv  one row per search run (download) */
  api.get('/experiments/:experimentId/runs.csv', (req, res) => {
    const { fileName, content } = results.runsCsv(experimentId(req));
    res.attachment(fileName).type('text/csv; charset=utf-8').setHeader('Cache-Control', 'no-store');
    res.send(content);
  });

  /** @route GET /api/experiments/:experimentId/runs.json  the results in the documented shape (download) */
  api.get('/experiments/:experimentId/runs.json', (req, res) => {
    const { fileName, content } = results.runsJson(experimentId(req));
    res.attachment(fileName).setHeader('Cache-Control', 'no-store');
    res.json(content);
  });

  /** @route GET /api/experiments/:experimentId/curves.csv  every curve point, long format (download, streamed) */
  api.get('/experiments/:experimentId/curves.csv', async (req, res) => {
    const { fileName, content } = results.curves(experimentId(req));
    res.attachment(fileName).type('text/csv; charset=utf-8').setHeader('Cache-Control', 'no-store');
    await writeCurvesCsv(content, res);
  });

  /** @route GET /api/experiments/:experimentId/runs/:runId/model.onnx  the run's refit model as ONNX; 404 without one */
  api.get('/experiments/:experimentId/runs/:runId/model.onnx', async (req, res) => {
    const { fileName, content } = await results.onnx(experimentId(req), parseId(req.params.runId, 'runId'));
    res.attachment(fileName).type(ONNX_MEDIA_TYPE).setHeader('Cache-Control', 'no-store');
    res.send(Buffer.from(content.buffer, content.byteOffset, content.byteLength));
  });

  /** @route GET /api/experiments/:experimentId/runs/:runId  a run with its folds */
  api.get('/experiments/:experimentId/runs/:runId', (req, res) => {
    res.json(queries.run(experimentId(req), parseId(req.params.runId, 'runId')));
  });

  /** @route GET /api/experiments/:experimentId/runs/:runId/predictions  the run page's ROC, PR, calibration, slider, confusion, scatter */
  api.get('/experiments/:experimentId/runs/:runId/predictions', (req, res) => {
    res.json(queries.predictions(experimentId(req), parseId(req.params.runId, 'runId')));
  });

  /** @route GET /api/experiments/:experimentId/curves?runs=1,2,3&names=loss,val_auc */
  api.get('/experiments/:experimentId/curves', (req, res) => {
    const id = experimentId(req);
    const runIds = parseIdList(req.query.runs, 'runs', 1, MAX_CURVE_RUNS);
    const names = parseMetricNames(req.query.names);
    res.json({ experimentId: id, runs: queries.curves(id, runIds, names) });
  });

  /** @route GET /api/experiments/:experimentId/compare?runs=1,2 */
  api.get('/experiments/:experimentId/compare', (req, res) => {
    const id = experimentId(req);
    res.json(queries.compare(id, parseIdList(req.query.runs, 'runs', 2, MAX_COMPARE_RUNS)));
  });

  /** @route GET /api/experiments/:experimentId/models  refit models, newest first */
  api.get('/experiments/:experimentId/models', (req, res) => {
    res.json({ models: models.ofExperiment(experimentId(req)) });
  });

  /** @route GET /api/experiments/:experimentId/refit  the refit started from the dashboard, if any */
  api.get('/experiments/:experimentId/refit', (req, res) => {
    const id = experimentId(req);
    queries.item(id);
    res.json({ job: background.latestRefit(id), refitting: background.isRefitting(id) });
  });

  /** @route POST /api/experiments/:experimentId/refit  body {runId?}; 202, refits in the background; 409 if the data changed */
  api.post('/experiments/:experimentId/refit', async (req, res) => {
    const id = experimentId(req);
    const { runId } = parseRefitBody(req.body);
    res.status(202).json({ job: await commands.refit(id, runId) });
  });

  /** @route POST /api/experiments/:experimentId/delete  body {confirm: name} */
  api.post('/experiments/:experimentId/delete', (req, res) => {
    const id = experimentId(req);
    commands.delete(id, parseDeleteBody(req.body).confirm);
    res.json({ deleted: true, experimentId: id });
  });

  /** @route GET /api/experiments/:experimentId/events  Server-Sent Events: epoch, run, experiment, progress, refit, search */
  api.get('/experiments/:experimentId/events', (req, res) => {
    const id = experimentId(req);
    queries.item(id);
    streamExperimentEvents(req, res, live, id);
  });

  /** @route GET /api/models/:modelId */
  api.get('/models/:modelId', (req, res) => {
    res.json({ model: models.get(parseId(req.params.modelId, 'modelId')) });
  });

  /** @route GET /api/models/:modelId/files/:file  download model.json, weights.bin or preprocessing.json */
  api.get('/models/:modelId/files/:file', (req, res: Response, next) => {
    const file = models.filePath(parseId(req.params.modelId, 'modelId'), String(req.params.file));
    res.attachment(file.name);
    res.setHeader('Content-Length', String(file.bytes));
    res.setHeader('Cache-Control', 'no-store');
    createReadStream(file.path).on('error', next).pipe(res);
  });

  /** @route GET /api/specs  spec files in the experiments folder (names only) */
  api.get('/specs', (_req, res) => {
    res.json({ specs: specs.list() });
  });

  /** @route GET /api/specs/:file */
  api.get('/specs/:file', (req, res) => {
    const fileName = String(req.params.file);
    res.json({ fileName, text: specs.read(fileName) });
  });

  return api;
}
