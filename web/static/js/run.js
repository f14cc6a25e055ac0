// Run page: per-fold curves with the best and stopping epochs marked, live while the run trains.
import {
  $,
  directionOf,
  fetchJson,
  liveEvents,
  metricKey,
  metricLabel,
  pageData,
  postJson,
  refreshFragments,
  scopeOf,
  throttle,
} from './lib.js';
import { ChartSlot, PALETTE, foldOption, markChartsReady } from './charts.js';
import { drawPredictions } from './prediction-views.js';

const page = pageData();
const { experimentId, runId } = page;
const VAL_LOSS = metricKey('val', 'loss');

const state = {
  metrics: {},
  folds: page.folds,
  refitEpochs: page.refitEpochs,
  nFolds: Math.max(1, page.folds.length),
  status: page.status,
  /** What the drawn prediction charts were drawn from (folds done, status, refits), to redraw them when it changes. */
  predictionsOf: null,
};
const slots = { loss: new ChartSlot($('#chart-loss')), metric: new ChartSlot($('#chart-metric')) };
const select = $('#metric-select');

function foldName(index, part) {
  const fold = state.nFolds === 1 ? '' : `fold ${index + 1}`;
  return [fold, part].filter(Boolean).join(' ');
}

function foldLines(name, { dashed = false, part = '', marks = true } = {}) {
  const folds = state.metrics[name] ?? [];
  return folds.map((values, index) => ({
    name: foldName(index, '') || part || metricLabel(name),
    part,
    values: Array.from({ length: values.length }, (_, i) => values[i] ?? null),
    color: PALETTE[index % PALETTE.length],
    dashed,
    fold: marks ? state.folds[index] : undefined,
  }));
}

/** What an empty chart says: a failed run with no epoch diverged or crashed in its first (its error is on the page). */
function emptyMessage() {
  if (state.status === 'queued') return 'Not started yet.';
  if (state.status === 'failed') return 'No epochs recorded: the run failed before its first epoch ended (see its error).';
  return 'No epochs recorded.';
}

function chosenMetric() {
  return select.value || null;
}

function fillSelect() {
  const names = Object.keys(state.metrics).filter((name) => name !== 'loss' && name !== VAL_LOSS);
  const preferred = metricKey('val', page.metric);
  const current = select.value || (names.includes(preferred) ? preferred : (names.find((n) => scopeOf(n) === 'val') ?? names[0] ?? ''));
  select.replaceChildren(...names.map((name) => new Option(metricLabel(name), name, false, name === current)));
  select.closest('label').hidden = names.length === 0;
}

function draw(animate) {
  const hasVal = Boolean(state.metrics[VAL_LOSS]);
  const lossLines = [
    ...foldLines('loss', { part: hasVal ? 'train' : '', marks: !hasVal }),
    ...(hasVal ? foldLines(VAL_LOSS, { dashed: true, part: 'val' }) : []),
  ].filter((line) => line.values.length > 0);
  const metric = chosenMetric();
  $('#metric-caption').textContent = metric ? metricLabel(metric) : 'No other metric recorded';
  const metricLines = metric ? foldLines(metric, { marks: scopeOf(metric) === 'val' }).filter((line) => line.values.length > 0) : [];
  return Promise.all([
    lossLines.length
      ? slots.loss.draw(foldOption(lossLines, { yName: 'loss', refitEpochs: state.refitEpochs, animate }), { replace: false })
      : slots.loss.message(emptyMessage()),
    metricLines.length
      ? slots.metric.draw(
          foldOption(metricLines, {
            yName: metricLabel(metric),
            refitEpochs: state.refitEpochs,
            direction: directionOf(metric),
            animate,
          }),
          { replace: false },
        )
      : slots.metric.message(emptyMessage()),
  ]);
}

async function loadCurves() {
  const data = await fetchJson(`/api/experiments/${experimentId}/curves?runs=${runId}`);
  const run = data.runs[0];
  state.nFolds = run?.nFolds ?? state.nFolds;
  state.metrics = {};
  for (const [name, curve] of Object.entries(run?.metrics ?? {})) state.metrics[name] = curve.folds.map((fold) => [...fold]);
}

const redraw = throttle(() => void draw(false), 400);

const refreshRun = throttle(async () => {
  const [detail] = await Promise.all([
    fetchJson(`/api/experiments/${experimentId}/runs/${runId}`),
    refreshFragments(['run-head', 'run-result', 'fold-table', 'run-models']),
  ]);
  state.folds = detail.folds.map((f) => ({
    foldIndex: f.foldIndex,
    bestEpoch: f.bestEpoch,
    stoppedEpoch: f.stoppedEpoch,
    status: f.status,
  }));
  state.refitEpochs = detail.run.refitEpochs;
  // The prediction charts change when a fold finishes (its out-of-fold predictions) or a refit (its test split).
  const stored = [detail.run.foldsDone, detail.run.status, detail.refits.length, detail.model?.modelId ?? null].join();
  if (stored !== state.predictionsOf) {
    state.predictionsOf = stored;
    void drawPredictions(experimentId, runId);
  }
  state.status = detail.run.status;
  redraw();
}, 1000);

function connect() {
  let connections = 0;
  liveEvents(experimentId, {
    // Catch up on what happened between rendering and subscribing, or during a reconnect.
    hello: async () => {
      connections++;
      if (connections === 1 && !['running', 'queued'].includes(page.status)) return;
      await loadCurves();
      if (select.options.length === 0) fillSelect();
      refreshRun();
    },
    epoch: (event) => {
      if (event.runId !== runId) return;
      for (const [name, value] of Object.entries(event.metrics)) {
        const folds = (state.metrics[name] ??= Array.from({ length: state.nFolds }, () => []));
        (folds[event.foldIndex] ??= [])[event.epoch] = value;
      }
      if (select.options.length === 0) fillSelect();
      redraw();
    },
    run: (event) => {
      if (event.runId === runId) refreshRun();
    },
    refit: (job) => {
      if (job.sourceRunId !== runId) return;
      const note = $('#refit-running');
      if (job.state === 'running' && note) note.textContent = `Refitting… ${job.epochsDone} / ${job.epochsTotal} epochs`;
      else refreshRun();
    },
  });
}

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!form.matches('.refit-form')) return;
  event.preventDefault();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    await postJson(`/api/experiments/${experimentId}/refit`, { runId });
    await refreshFragments(['run-head']);
  } catch (error) {
    button.disabled = false;
    const alert = document.createElement('div');
    alert.className = 'alert error';
    alert.setAttribute('role', 'alert');
    alert.textContent = error.message;
    $('#run-head').append(alert);
  }
});

select.addEventListener('change', () => void draw(false));

async function init() {
  connect();
  await loadCurves();
  fillSelect();
  await Promise.all([draw(true), drawPredictions(experimentId, runId)]);
  markChartsReady();
}

init().catch((error) => {
  console.error(error);
  markChartsReady();
});
