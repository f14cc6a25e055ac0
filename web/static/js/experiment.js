// Experiment page: the leaderboard (paged, sorted and filtered on the server: its links swap the rows
// in), run selection, learning curves of the runs shown, parallel coordinates and model complexity
// (over the server's sample of the finished runs), refit, and live updates over Server-Sent Events.
import {
  $,
  $$,
  directionOf,
  fetchJson,
  fmt,
  liveEvents,
  metricKey,
  metricLabel,
  metricName,
  pageData,
  postJson,
  refreshFragments,
  scopeOf,
  throttle,
} from './lib.js';
import {
  ChartSlot,
  PALETTE,
  aggregate,
  complexityOption,
  curveOption,
  linkRunHover,
  markChartsReady,
  parallelOption,
  pickRun,
  sharedRange,
} from './charts.js';

const page = pageData();
const experimentId = page.experimentId;
// Few runs by default (the server preloads their curves): ten runs with bands read as one blur.
const DEFAULT_SHOWN = page.curveRuns ?? 5;
const MAX_SHOWN = 20;

const state = {
  /** The rows the charts draw (GET …/runs?sample=N): a sample of the finished runs, then the leading unfinished ones. */
  sample: null,
  selected: new Set(),
  /** runId → {nFolds, folds: {name: [[value by epoch] by fold]}} */
  curves: new Map(),
  /** runId → epoch events that arrived while its curves were loading */
  buffered: new Map(),
  shown: [],
  colors: new Map(),
  /** The bare metric the learning curves plot, training beside validation (`loss`, `accuracy`, `auc`…). */
  curveMetric: null,
};

const slots = {
  train: new ChartSlot($('#chart-train')),
  val: new ChartSlot($('#chart-val')),
  parallel: new ChartSlot($('#chart-parallel')),
  complexity: new ChartSlot($('#chart-complexity')),
};
const openRun = (runId) => runId && (location.href = `/experiments/${experimentId}/runs/${runId}`);
slots.complexity.onCreate = (chart) => chart.on('click', (p) => openRun(Array.isArray(p.value) ? p.value[2] : undefined));
slots.parallel.onCreate = (chart) => chart.on('click', (p) => openRun(p.data?.runId));
// The two curve charts move together: the epoch under the pointer, legend toggles, and the run picked out.
const curveCharts = () => [slots.train.chart, slots.val.chart].filter(Boolean);
for (const slot of [slots.train, slots.val]) {
  slot.onCreate = (chart) => {
    chart.group = 'curves';
    echarts.connect('curves');
    linkRunHover(chart, curveCharts);
  };
}

// ── which runs are plotted ───────────────────────────────────────────────

function shownRunIds() {
  if (state.selected.size > 0) return [...state.selected].slice(0, MAX_SHOWN);
  // Before the sample arrives, the runs the server picked (and preloaded the curves of) the same way.
  if (!state.sample) return page.curveRunIds ?? [];
  const rows = state.sample.runs;
  const ids = rows
    .filter((r) => r.rank !== null)
    .slice(0, DEFAULT_SHOWN)
    .map((r) => r.runId);
  // Then the leading unfinished runs (rows come in rank order, the provisional ones after the finished).
  for (const r of rows) {
    if (ids.length >= DEFAULT_SHOWN) break;
    if (r.rank === null && r.provisional) ids.push(r.runId);
  }
  for (const r of rows) {
    if (ids.length >= DEFAULT_SHOWN) break;
    if (r.status === 'running' && !ids.includes(r.runId)) ids.push(r.runId);
  }
  return ids;
}

function colorOf(runId) {
  if (!state.colors.has(runId)) {
    const used = new Set([...state.colors.entries()].filter(([id]) => state.shown.includes(id)).map(([, c]) => c));
    state.colors.set(runId, PALETTE.find((c) => !used.has(c)) ?? PALETTE[runId % PALETTE.length]);
  }
  return state.colors.get(runId);
}

/** The URL the server also preloads for the initial runs (keep the two in step: same ids, same order, every metric). */
const curvesUrl = (runIds) => `/api/experiments/${experimentId}/curves?runs=${runIds.join(',')}`;

async function loadCurves(runIds) {
  const missing = runIds.filter((id) => !state.curves.has(id) && !state.buffered.has(id));
  if (missing.length === 0) return;
  for (const id of missing) state.buffered.set(id, []);
  try {
    const data = await fetchJson(curvesUrl(missing));
    for (const run of data.runs) {
      const folds = {};
      for (const [name, curve] of Object.entries(run.metrics)) folds[name] = curve.folds.map((fold) => [...fold]);
      state.curves.set(run.runId, { number: run.number, nFolds: run.nFolds, folds });
      // Replay what arrived during the fetch; take the buffer out first, or applyEpoch re-buffers it.
      const buffered = state.buffered.get(run.runId) ?? [];
      state.buffered.delete(run.runId);
      for (const event of buffered) applyEpoch(event);
    }
  } finally {
    for (const id of missing) state.buffered.delete(id);
  }
}

function applyEpoch({ runId, foldIndex, epoch, metrics }) {
  if (state.buffered.has(runId)) {
    state.buffered.get(runId).push({ runId, foldIndex, epoch, metrics });
    return false;
  }
  const run = state.curves.get(runId);
  if (!run) return false;
  for (const [name, value] of Object.entries(metrics)) {
    const folds = (run.folds[name] ??= Array.from({ length: run.nFolds }, () => []));
    (folds[foldIndex] ??= [])[epoch] = value;
  }
  return true;
}

/**
 * The metrics the curves can show, as bare names: those with a validation curve (or a training
 * one), loss first, then the selection metric, then the rest by label.
 */
function curveMetrics() {
  const names = new Set();
  for (const runId of state.shown) {
    for (const key of Object.keys(state.curves.get(runId)?.folds ?? {})) {
      const scope = scopeOf(key);
      if (scope === null || scope === 'val') names.add(metricName(key));
    }
  }
  const rank = (name) => (name === 'loss' ? 0 : name === page.metric ? 1 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b) || metricLabel(a).localeCompare(metricLabel(b)));
}

function fillMetricSelect() {
  const select = $('#curve-metric');
  const names = curveMetrics();
  if (!names.includes(state.curveMetric)) state.curveMetric = names[0] ?? 'loss';
  const current = [...select.options].map((option) => option.value).join();
  if (current !== names.join()) {
    select.replaceChildren(...names.map((name) => new Option(metricLabel(name), name, false, name === state.curveMetric)));
  }
  select.value = state.curveMetric;
  select.closest('label').hidden = names.length < 2;
}

function entries(name) {
  return state.shown.map((runId) => {
    const run = state.curves.get(runId);
    const folds = run?.folds[name];
    return { runId, number: run?.number, color: colorOf(runId), nFolds: run?.nFolds ?? 1, curve: folds ? aggregate(folds) : undefined };
  });
}

function drawCurves(animate) {
  const caption = $('#curve-caption');
  if (caption) {
    const ranked = new Set((state.sample?.runs ?? []).filter((r) => r.rank !== null).map((r) => r.runId));
    const finished = state.sample ? state.shown.filter((id) => ranked.has(id)).length : state.shown.length;
    const training = state.shown.length > finished ? ` and ${state.shown.length - finished} training now` : '';
    caption.textContent =
      state.selected.size > 0
        ? `The ${state.shown.length} runs ticked in the leaderboard.`
        : finished === 0
          ? `${state.shown.length} runs training now; the top runs replace them as they finish. Tick runs in the leaderboard to choose.`
          : `The top ${finished} runs${training}; tick runs in the leaderboard to plot those instead.`;
  }
  paintSwatches();
  fillMetricSelect();
  if (state.shown.length === 0) {
    return Promise.all([slots.train.message('No run has started yet.'), slots.val.message('No run has started yet.')]);
  }
  // The same metric on the training rows and on the validation folds, on one y scale.
  const metric = state.curveMetric;
  const trainKey = metric;
  const valKey = metricKey('val', metric);
  const train = entries(trainKey);
  const val = entries(valKey);
  const hasTrain = train.some((e) => e.curve);
  const yRange = sharedRange(hasTrain ? train : [], val);
  const direction = directionOf(valKey);
  const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  $('#curve-train-caption').textContent = `Training ${metricLabel(trainKey)}`;
  $('#curve-val-caption').textContent = capitalised(metricLabel(valKey)) + (hasTrain ? '' : ' (recorded on the validation folds only)');
  $('#curve-train-figure').hidden = !hasTrain;
  $('#curve-pair').classList.toggle('single', !hasTrain);
  const draw = (slot, list, yName) =>
    list.some((e) => e.curve)
      ? slot.draw(curveOption(list, { yName, direction, animate, yRange }), { replace: false })
      : slot.message('No epochs recorded yet.');
  return Promise.all([
    hasTrain ? draw(slots.train, train, metricLabel(trainKey)) : slots.train.message(''),
    draw(slots.val, val, metricLabel(valKey)),
  ]);
}

/** Says under each summary chart when it draws a sample of the finished runs, not all of them. */
function captionSample() {
  const info = state.sample?.sample;
  const text = info?.sampled
    ? ` Drawn: ${fmt.int(info.shown)} of ${fmt.int(info.finished)} finished runs, every one of the best ${fmt.int(info.top)} by ` +
      `${metricLabel(page.metric)} and an even spread of the rest.`
    : '';
  for (const note of $$('.chart-sample-note')) {
    note.textContent = text;
    note.hidden = text === '';
  }
}

function drawSummary() {
  captionSample();
  const runs = state.sample?.runs ?? [];
  const finished = runs.filter((r) => r.rank !== null);
  if (finished.length === 0) {
    return Promise.all([slots.parallel.message('Appears when runs finish.'), slots.complexity.message('Appears when runs finish.')]);
  }
  const width = slots.parallel.element.clientWidth || undefined;
  return Promise.all([
    slots.parallel.draw(parallelOption(runs, state.sample.columns, page.metric, page.direction, { width })),
    slots.complexity.draw(complexityOption(runs, page.metric, page.direction)),
  ]);
}

async function updateShown(animate = false) {
  const next = shownRunIds();
  state.shown = next;
  await loadCurves(next);
  await drawCurves(animate);
}

function paintSwatches() {
  for (const tr of $$('#leaderboard-rows tr')) {
    const runId = Number(tr.dataset.runId);
    const cell = tr.cells[2];
    let swatch = cell?.querySelector('.swatch');
    if (state.shown.includes(runId)) {
      if (!swatch) {
        swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.title = 'colour in the learning curves';
        cell.prepend(swatch, ' ');
      }
      swatch.style.background = colorOf(runId);
    } else if (swatch) {
      swatch.nextSibling?.nodeType === Node.TEXT_NODE && swatch.nextSibling.remove();
      swatch.remove();
    }
  }
}

// ── table: pages, sorting, filters and selection ─────────────────────────

/** What a leaderboard link or filter changes: its rows, headers, pager and filter, rendered by the server. */
const LEADERBOARD_FRAGMENTS = ['leaderboard-head', 'leaderboard-rows', 'leaderboard-pager', 'leaderboard-filter'];
/** The leaderboard parameters (the address's query) the rows on show were rendered for. */
let shownQuery = location.search;

/**
 * Shows another page, sort or filter of the leaderboard (a URL of this page with other parameters):
 * the rows come from the server as the page renders them, and the address keeps them, so live
 * refreshes, a reload and the back button show the same rows.
 */
async function showLeaderboard(href, { push = true } = {}) {
  const url = new URL(href, location.href);
  url.hash = '';
  const card = $('#leaderboard-card');
  card.setAttribute('aria-busy', 'true');
  try {
    await refreshFragments(LEADERBOARD_FRAGMENTS, url.href);
    if (push) history.pushState(null, '', `${url.pathname}${url.search}#leaderboard-card`);
    shownQuery = url.search;
    syncSelection();
    paintSwatches();
  } finally {
    card.removeAttribute('aria-busy');
  }
}

/** A link to this page with other leaderboard parameters: a header, the pager, a tag. */
function leaderboardLink(target) {
  const link = target.closest('#leaderboard-card a[href]');
  if (!link || link.hasAttribute('download')) return null;
  const url = new URL(link.href, location.href);
  return url.origin === location.origin && url.pathname === location.pathname ? url : null;
}

function filterUrl(form) {
  const url = new URL(form.action, location.href);
  url.search = '';
  for (const [name, value] of new FormData(form)) if (value !== '') url.searchParams.set(name, value);
  return url;
}

function setupTable() {
  const card = $('#leaderboard-card');
  card.addEventListener('click', (event) => {
    const url = leaderboardLink(event.target);
    if (!url || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    void showLeaderboard(url);
  });
  card.addEventListener('change', (event) => {
    const select = event.target.closest('#leaderboard-filter select');
    if (select) void showLeaderboard(filterUrl(select.form));
  });
  card.addEventListener('submit', (event) => {
    if (!event.target.matches('#leaderboard-filter')) return;
    event.preventDefault();
    void showLeaderboard(filterUrl(event.target));
  });
  // Back and forward between leaderboard pages (a jump to an anchor of the page changes no parameter).
  window.addEventListener('popstate', () => location.search !== shownQuery && void showLeaderboard(location.href, { push: false }));
  const table = $('#leaderboard');
  table.addEventListener('change', (event) => {
    const box = event.target.closest('.run-select');
    if (!box) return;
    const runId = Number(box.value);
    if (box.checked) state.selected.add(runId);
    else state.selected.delete(runId);
    syncSelection();
    void updateShown(false);
  });
  // Hovering a plotted run's row picks it out in the learning curves.
  let picked = null;
  const pick = (name) => name !== picked && pickRun(curveCharts(), (picked = name));
  table.addEventListener('mouseover', (event) => {
    const runId = Number(event.target.closest('#leaderboard-rows tr')?.dataset.runId);
    const run = state.shown.includes(runId) ? state.curves.get(runId) : undefined;
    pick(run ? `#${run.number ?? runId}` : null);
  });
  table.addEventListener('mouseleave', () => pick(null));
  $('#curve-metric').addEventListener('change', (event) => {
    state.curveMetric = event.target.value;
    void drawCurves(false);
  });
  $('#clear-selection').addEventListener('click', () => {
    state.selected.clear();
    syncSelection();
    void updateShown(false);
  });
}

function syncSelection() {
  for (const tr of $$('#leaderboard-rows tr')) {
    const selected = state.selected.has(Number(tr.dataset.runId));
    tr.classList.toggle('is-selected', selected);
    const box = tr.querySelector('.run-select');
    if (box) box.checked = selected;
  }
  const count = state.selected.size;
  const link = $('#compare-link');
  const ids = [...state.selected];
  link.href = `/experiments/${experimentId}/compare?runs=${ids.join(',')}`;
  link.setAttribute('aria-disabled', count >= 2 ? 'false' : 'true');
  link.textContent = count >= 2 ? `Compare ${count} runs` : 'Compare';
  $('#clear-selection').disabled = count === 0;
  $('#selection-count').textContent =
    count === 0 ? 'Tick runs to compare them' : count === 1 ? '1 run ticked: tick another to compare' : `${count} runs ticked`;
}

// ── live updates ─────────────────────────────────────────────────────────

// The rows on show refresh in place (the page, sort and filter in the address); the charts read the sample again.
const refreshAll = throttle(async () => {
  const [sample] = await Promise.all([
    fetchJson(page.sampleUrl),
    refreshFragments([
      'experiment-summary',
      'best-card',
      'leaderboard-rows',
      'leaderboard-pager',
      ...(refitRunning() ? [] : ['refit-panel']),
    ]),
  ]);
  state.sample = sample;
  syncSelection();
  // The search views (search-views.js) follow the same refreshes.
  document.dispatchEvent(new CustomEvent('foldwise:refreshed'));
  await Promise.all([updateShown(false), drawSummary()]);
}, 1200);

/** While a refit runs its panel updates from refit events; a refresh would only flicker it. */
function refitRunning() {
  return document.getElementById('refit-job')?.dataset.state === 'running';
}

const redrawCurves = throttle(() => void drawCurves(false), 400);

async function refreshRefit() {
  // The summary too: its Stop button goes with the refit that the search started.
  await refreshFragments(['refit-panel', 'best-card', 'experiment-summary']);
}

function onRefitEvent(job) {
  const current = $('#refit-job');
  if (job.state === 'running' && current?.dataset.state === 'running') {
    const progress = $('#refit-progress');
    if (progress) {
      progress.max = job.epochsTotal;
      progress.value = job.epochsDone;
    }
    const label = $('#refit-epochs');
    if (label) label.textContent = `${job.epochsDone} / ${job.epochsTotal}`;
    return;
  }
  void refreshRefit();
}

function showRefitError(message) {
  const panel = $('#refit');
  $('.refit-error', panel)?.remove();
  const alert = document.createElement('div');
  alert.className = 'alert error refit-error';
  alert.setAttribute('role', 'alert');
  alert.textContent = message;
  panel.querySelector('.card-head').after(alert);
}

function showControlError(message) {
  const head = $('#experiment-summary');
  $('.control-error', head)?.remove();
  const alert = document.createElement('div');
  alert.className = 'alert error control-error';
  alert.setAttribute('role', 'alert');
  alert.textContent = message;
  head.querySelector('.exp-title').after(alert);
}

function setupForms() {
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (form.matches('.refit-form')) {
      event.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      const runId = form.querySelector('[name=runId]')?.value;
      try {
        await postJson(`/api/experiments/${experimentId}/refit`, runId ? { runId: Number(runId) } : {});
        await refreshRefit();
        $('#refit')?.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
      } catch (error) {
        button.disabled = false;
        showRefitError(error.message);
      }
    } else if (form.matches('.control-form')) {
      // Stop (tasks end as interrupted, as Ctrl-C) or Resume (search again): the page follows by its events.
      event.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await postJson(`/api/experiments/${experimentId}/${form.dataset.action}`);
        refreshAll();
      } catch (error) {
        button.disabled = false;
        showControlError(error.message);
      }
    } else if (form.matches('#delete-form')) {
      const input = form.querySelector('[name=confirm]');
      if (input.value !== input.dataset.expected) {
        event.preventDefault();
        input.setCustomValidity(`Type ${input.dataset.expected} to confirm`);
        input.reportValidity();
        input.addEventListener('input', () => input.setCustomValidity(''), { once: true });
      }
    }
  });
}

function connect() {
  let connections = 0;
  const unfinished = () =>
    page.status === 'running' ||
    page.status === 'queued' ||
    $$('#leaderboard-rows .badge-running, #leaderboard-rows .badge-queued').length > 0;
  liveEvents(experimentId, {
    // Events between rendering this page and subscribing (or during a reconnect) were missed: catch up.
    hello: () => {
      connections++;
      if (connections > 1 || unfinished()) refreshAll();
    },
    epoch: (event) => {
      if (applyEpoch(event)) redrawCurves();
      else if (!state.shown.includes(event.runId) && state.selected.size === 0 && state.shown.length < DEFAULT_SHOWN) refreshAll();
    },
    run: () => refreshAll(),
    experiment: () => refreshAll(),
    search: () => refreshAll(),
    progress: (p) => {
      const bar = $('#search-progress');
      if (bar) {
        bar.max = p.tasksTotal;
        bar.value = p.tasksDone;
      }
    },
    refit: onRefitEvent,
    resync: () => {
      state.curves.clear();
      refreshAll();
    },
  });
}

async function init() {
  performance.mark('foldwise:init');
  setupTable();
  setupForms();
  connect();
  state.shown = shownRunIds();
  const [sample] = await Promise.all([fetchJson(page.sampleUrl), loadCurves(state.shown)]);
  state.sample = sample;
  performance.mark('foldwise:data');
  await Promise.all([drawCurves(false), drawSummary()]);
  markChartsReady();
}

init().catch((error) => {
  console.error(error);
  markChartsReady();
});
