import { Router, type Request, type Response } from 'express';
import { AppError, ValidationError } from '../errors.js';
import type { DashboardServices } from '../services/dashboard-services.js';
import type { ChartSample, ExperimentDetail, LeaderboardPage, RunDetail } from '../services/experiment-queries.js';
import { CHART_SAMPLE, DEFAULT_PAGE_SIZE } from '../services/leaderboard-page.js';
import { MAX_UPLOAD_BYTES, MAX_UPLOAD_MB } from '../services/uploads.js';
import { describeError } from './error-handler.js';
import { MAX_COMPARE_RUNS } from './api-routes.js';
import { PAGE_VOCABULARY } from './page-vocabulary.js';
import { parseDeleteBody, parseId, parseIdList, parseRefitBody, parseStartBody } from './params.js';
import { experimentExtras, runExtras } from './page-extras.js';
import { leaderboardFor } from './leaderboard-params.js';
import { leaderboardView } from './leaderboard-view.js';
import type { Views } from './views.js';

/** Partials a page can send alone (`?fragment=a,b`) for its live refreshes. */
const FRAGMENTS: Record<string, readonly string[]> = {
  experiments: ['experiment-rows'],
  experiment: [
    'experiment-summary',
    'best-card',
    'refit-panel',
    'leaderboard-head',
    'leaderboard-rows',
    'leaderboard-pager',
    'leaderboard-filter',
    'notes-card',
  ],
  run: ['run-head', 'run-result', 'fold-table', 'run-models', 'notes-card'],
  'new-experiment': ['upload-list'],
};

function requestedFragments(req: Request, page: string): string[] | null {
  const raw = req.query.fragment;
  if (raw === undefined) return null;
  const names = typeof raw === 'string' ? raw.split(',') : [];
  const allowed = FRAGMENTS[page]!;
  if (names.length === 0 || names.some((name) => !allowed.includes(name))) {
    throw new ValidationError(`fragment: expected some of ${allowed.join(', ')}`, [
      { path: 'fragment', message: `expected some of ${allowed.join(', ')}` },
    ]);
  }
  return names;
}

function sendPage(res: Response, views: Views, req: Request, page: string, context: Record<string, unknown>): void {
  const fragments = requestedFragments(req, page);
  const html = fragments ? views.fragments(fragments, context) : views.page(page, context);
  res.setHeader('Cache-Control', 'no-store');
  // Time spent in the handler (queries + rendering), for the benchmark and the browser's devtools.
  if (typeof res.locals.startedAt === 'number')
    res.setHeader('Server-Timing', `app;dur=${(performance.now() - res.locals.startedAt).toFixed(1)}`);
  res.type('html').send(html);
}

/** How many runs the experiment page's learning curves plot by default: more, with their fold bands, read as one blur. */
const CURVE_RUNS = 5;

/** The charts' sample the experiment page fetches (leaderboard-page.ts chartSample): experiment.js asks for this URL. */
const sampleUrl = (experimentId: number) => `/api/experiments/${experimentId}/runs?sample=${CHART_SAMPLE}`;

/**
 * The runs the experiment page plots learning curves of by default: the top CURVE_RUNS, then the
 * leading unfinished and running ones (the sample holds them, in the leaderboard's order), with the
 * same ids in the same order as experiment.js picks them.
 */
function curveRunIds(sample: ChartSample): number[] {
  const shown = sample.runs
    .filter((run) => run.rank !== null)
    .slice(0, CURVE_RUNS)
    .map((run) => run.runId);
  for (const run of sample.runs) {
    if (shown.length >= CURVE_RUNS) break;
    if (run.rank === null && run.provisional) shown.push(run.runId);
  }
  for (const run of sample.runs) {
    if (shown.length >= CURVE_RUNS) break;
    if (run.status === 'running' && !shown.includes(run.runId)) shown.push(run.runId);
  }
  return shown;
}

/**
 * The data the experiment page fetches first, preloaded while the HTML parses: the charts' sample
 * and the curves (every metric: the page has a metric picker) of the runs it plots by default.
 */
function experimentPreloads(experimentId: number, curveRuns: readonly number[]): string[] {
  return [
    sampleUrl(experimentId),
    ...(curveRuns.length > 0 ? [`/api/experiments/${experimentId}/curves?runs=${curveRuns.join(',')}`] : []),
  ];
}

function experimentContext(detail: ExperimentDetail, board: LeaderboardPage, sample: ChartSample, refitJobSourceNumber: number | null) {
  const { selected } = detail;
  // The selected configuration's refit first: the model predict and export use by default.
  const selectedModel = selected ? (detail.models.find((model) => model.sourceRunId === selected.runId) ?? null) : null;
  const curveRuns = curveRunIds(sample);
  return {
    preload: experimentPreloads(detail.experimentId, curveRuns),
    title: detail.name,
    script: 'experiment.js',
    charts: true,
    e: detail,
    board,
    experimentId: detail.experimentId,
    selectedModel,
    latestModel: selectedModel ?? detail.models[0] ?? null,
    olderModels: detail.models.filter((model) => model !== (selectedModel ?? detail.models[0])),
    refitJobSourceNumber,
    finishedRuns: sample.sample.finished,
    pageData: {
      experimentId: detail.experimentId,
      metric: detail.selectionMetric,
      direction: detail.selectionDirection,
      columns: board.columns,
      status: detail.status,
      curveRuns: CURVE_RUNS,
      curveRunIds: curveRuns,
      sampleUrl: sampleUrl(detail.experimentId),
      vocabulary: PAGE_VOCABULARY,
    },
  };
}

function runContext(detail: RunDetail) {
  const run = detail.run;
  return {
    title: `Run #${run.number} · ${detail.experiment.name}`,
    script: 'run.js',
    charts: true,
    d: detail,
    run,
    experimentId: detail.experiment.experimentId,
    params: detail.paramList,
    canRefit: run.kind === 'search' && run.status === 'done' && !detail.refitting,
    totalRanked: detail.experiment.runsFinished,
    pageData: {
      experimentId: detail.experiment.experimentId,
      runId: run.runId,
      kind: run.kind,
      status: run.status,
      metric: detail.experiment.selectionMetric,
      metricNames: detail.metricNames,
      refitEpochs: run.refitEpochs,
      folds: detail.folds.map((fold) => ({
        foldIndex: fold.foldIndex,
        bestEpoch: fold.bestEpoch,
        stoppedEpoch: fold.stoppedEpoch,
        status: fold.status,
      })),
      vocabulary: PAGE_VOCABULARY,
    },
  };
}

type StartForm = { source: 'file' | 'text'; specFile: string; specText: string };

/** The HTML pages. Forms post here and are answered with a redirect (303) or the form with its errors. */
export function createPageRouter(services: DashboardServices, views: Views): Router {
  const { queries, commands, specs, uploads, dataPaths } = services;
  const pages = Router();

  /** @route GET / — experiments */
  pages.get('/', (req, res) => {
    const experiments = queries.list();
    const deleted = typeof req.query.deleted === 'string' ? req.query.deleted.slice(0, 100) : null;
    sendPage(res, views, req, 'experiments', {
      title: 'Experiments',
      script: 'experiments.js',
      nav: 'experiments',
      experiments,
      deleted,
      anyRunning: experiments.some((e) => e.status === 'running' || e.searching),
    });
  });

  pages.get('/experiments', (_req, res) => res.redirect(301, '/'));

  /** The New experiment page: the spec form, its errors, and the uploaded CSVs to pick from. */
  const newFormContext = (form: StartForm, errors: { specFile?: unknown; specText?: unknown; general?: string }) => {
    const files = specs.list();
    return {
      title: 'New experiment',
      script: 'new-experiment.js',
      nav: 'new',
      specs: files,
      form,
      errors,
      isFile: form.source === 'file',
      hasSpecs: files.length > 0,
      errorCount: [errors.specFile, errors.specText].reduce((n: number, list) => n + (Array.isArray(list) ? list.length : 0), 0),
      uploads: uploads.list(),
      uploadLimitMb: MAX_UPLOAD_MB,
      dataPaths,
      pageData: { uploadLimitBytes: MAX_UPLOAD_BYTES, uploadLimitMb: MAX_UPLOAD_MB },
    };
  };

  /** @route GET /experiments/new */
  pages.get('/experiments/new', (req, res) => {
    const files = specs.list();
    const wanted = typeof req.query.spec === 'string' ? req.query.spec : '';
    const specFile = files.some((f) => f.fileName === wanted)
      ? wanted
      : ((files.find((f) => f.fileName === 'default.yaml') ?? files[0])?.fileName ?? '');
    const form: StartForm = { source: files.length > 0 ? 'file' : 'text', specFile, specText: '' };
    sendPage(res, views, req, 'new-experiment', newFormContext(form, {}));
  });

  /** @route POST /experiments — validate, record, start in the background, go to its page */
  pages.post('/experiments', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const form: StartForm = {
      source: body.source === 'text' ? 'text' : 'file',
      specFile: typeof body.specFile === 'string' ? body.specFile : '',
      specText: typeof body.specText === 'string' ? body.specText : '',
    };
    try {
      const { source: _source, ...spec } = parseStartBody(body);
      const started = await commands.start(spec);
      res.redirect(303, `/experiments/${started.experiment.experimentId}`);
    } catch (error) {
      if (!(error instanceof AppError) || error.code === 'internal') throw error;
      const { status } = describeError(error);
      const issues = error instanceof ValidationError && error.issues.length > 0 ? error.issues : [{ path: '', message: error.message }];
      const field = issues.some((issue) => issue.path === 'specFile') ? 'specFile' : form.source === 'file' ? 'specFile' : 'specText';
      const context = newFormContext(form, { [field]: issues, general: error instanceof ValidationError ? undefined : error.message });
      res.status(status).type('html').send(views.page('new-experiment', context));
    }
  });

  /** @route GET /experiments/:experimentId */
  pages.get('/experiments/:experimentId', (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    const board = leaderboardFor(services, id, req.query, DEFAULT_PAGE_SIZE);
    const detail = queries.detail(id);
    const refitSource = detail.refitJob ? queries.runNumber(id, detail.refitJob.sourceRunId) : null;
    const context = experimentContext(detail, board, queries.chartSample(id, CHART_SAMPLE), refitSource);
    sendPage(res, views, req, 'experiment', {
      ...context,
      ...experimentExtras(services, board, context.preload),
      ...leaderboardView(board),
    });
  });

  /** @route GET /experiments/:experimentId/compare?runs=1,2 */
  pages.get('/experiments/:experimentId/compare', (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    const runIds = parseIdList(req.query.runs, 'runs', 2, MAX_COMPARE_RUNS);
    const comparison = queries.compare(id, runIds);
    sendPage(res, views, req, 'compare', {
      title: `Compare ${comparison.runs.map((run) => `#${run.number}`).join(', ')} · ${comparison.experiment.name}`,
      script: 'compare.js',
      charts: true,
      c: comparison,
      referenceNumber: comparison.runs.find((run) => run.runId === comparison.foldComparison?.referenceRunId)?.number ?? null,
      experimentId: id,
      differing: comparison.params.filter((p) => p.differs).length,
      pageData: {
        experimentId: id,
        runIds,
        metric: comparison.experiment.selectionMetric,
        direction: comparison.experiment.selectionDirection,
        vocabulary: PAGE_VOCABULARY,
      },
    });
  });

  /** @route GET /experiments/:experimentId/runs/:runId */
  pages.get('/experiments/:experimentId/runs/:runId', (req, res) => {
    const detail = queries.run(parseId(req.params.experimentId, 'experimentId'), parseId(req.params.runId, 'runId'));
    sendPage(res, views, req, 'run', { ...runContext(detail), ...runExtras(services, detail.experiment.experimentId, detail.run.runId) });
  });

  /** @route POST /experiments/:experimentId/refit — body runId?, from=run|experiment */
  pages.post('/experiments/:experimentId/refit', async (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    const { runId } = parseRefitBody(req.body);
    await commands.refit(id, runId);
    const fromRun = (req.body as { from?: unknown } | undefined)?.from === 'run' && runId !== undefined;
    res.redirect(303, fromRun ? `/experiments/${id}/runs/${runId}` : `/experiments/${id}#refit`);
  });

  /** @route POST /experiments/:experimentId/stop — the Stop button without JavaScript */
  pages.post('/experiments/:experimentId/stop', async (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    await commands.stop(id);
    res.redirect(303, `/experiments/${id}`);
  });

  /** @route POST /experiments/:experimentId/resume — the Resume button without JavaScript */
  pages.post('/experiments/:experimentId/resume', (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    commands.resume(id);
    res.redirect(303, `/experiments/${id}`);
  });

  /** @route POST /experiments/:experimentId/delete — body confirm=<name> */
  pages.post('/experiments/:experimentId/delete', (req, res) => {
    const id = parseId(req.params.experimentId, 'experimentId');
    const name = queries.item(id).name;
    commands.delete(id, parseDeleteBody(req.body).confirm);
    res.redirect(303, `/?deleted=${encodeURIComponent(name)}`);
  });

  return pages;
}
