// Search views on the experiment page (web/views/partials/search-views.hbs): optimisation history
// (each trial's score in order, the best so far, pruned trials marked; x = trial number or time),
// slice plots (score against each searched hyperparameter, log axes for log ranges) and the
// hyperparameters' importance (PED-ANOVA, computed on the server: server/search/importance.ts).
// Data: GET /api/experiments/:id/trials, again whenever experiment.js refreshes the page.
import { $, $$, fetchJson, fmt, metricLabel, pageData, paramLabel, throttle } from './lib.js';
import { ChartSlot, FONT, GRID_LINE, MUTED, PALETTE, axisStyle } from './charts.js';

const COMPLETE = PALETTE[0];
const BEST = PALETTE[1];
const PRUNED = '#868e96';
// A filled ✕ (a path symbol is filled, so the cross is drawn as an outline of its own).
const CROSS = 'path://M2,0L5,3L8,0L10,2L7,5L10,8L8,10L5,7L2,10L0,8L3,5L0,2Z';

// Past this many points a scatter is drawn in ECharts' large mode (one style for all, fast at 10,000 trials).
const LARGE = 2000;
const largeMode = (count) => (count > LARGE ? { large: true, largeThreshold: LARGE } : {});

const root = $('#search-views');
const page = pageData();
const state = { data: null, x: 'number' };

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** A hyperparameter value as a tooltip or an axis shows it: 4 significant digits for floats. */
function shown(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Seconds as m:ss or h:mm:ss. */
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

const better = (direction) => (a, b) => (direction === 'maximize' ? a > b : a < b);

function trialTooltip(trial, data) {
  const lines = [`<b>Trial ${trial.number}</b> · run #${trial.runNumber}${trial.state === 'pruned' ? ' · pruned' : ''}`];
  lines.push(`${escapeHtml(metricLabel(data.metric))}: <b>${fmt.score(trial.score)}</b>${trial.state === 'pruned' ? ' (partial)' : ''}`);
  for (const d of data.dimensions) {
    if (d.name in trial.values) lines.push(`${escapeHtml(paramLabel(d.name))}: ${escapeHtml(shown(trial.values[d.name]))}`);
  }
  return lines.join('<br>');
}

/**
 * The trial a point stands for: every trial point is a plain array (large mode keeps nothing else)
 * whose last value is the trial's index in the data.
 */
const trialOf = (p) => (Array.isArray(p.value) && p.seriesName !== 'best so far' ? state.data?.trials[p.value.at(-1)] : undefined);

const baseOption = () => ({
  textStyle: { fontFamily: FONT },
  animation: false,
  tooltip: {
    trigger: 'item',
    confine: true,
    formatter: (p) => {
      const trial = trialOf(p);
      return trial ? trialTooltip(trial, state.data) : '';
    },
  },
});

/** The scored trials and where each sits on the x axis (trial number, or seconds from the first start to its end). */
function historyPoints(data, x) {
  const scored = data.trials.map((t, index) => ({ t, index })).filter(({ t }) => t.score !== null);
  if (x === 'number') return scored.map(({ t, index }) => ({ t, index, x: t.number }));
  // A loop, not Math.min(...starts): 10,000 arguments.
  let t0 = Infinity;
  for (const t of data.trials) if (t.startedAt !== null && t.startedAt < t0) t0 = t.startedAt;
  return scored.filter(({ t }) => t.finishedAt !== null).map(({ t, index }) => ({ t, index, x: (t.finishedAt - t0) / 1000 }));
}

export function historyOption(data, x) {
  const points = historyPoints(data, x).sort((a, b) => a.x - b.x);
  const item = ({ t, index, x: at }) => [at, t.score, index];
  const complete = points.filter((p) => p.t.state === 'complete');
  const pruned = points.filter((p) => p.t.state === 'pruned');
  const isBetter = better(data.direction);
  const bestLine = [];
  let best = null;
  for (const point of points) {
    if (point.t.state !== 'complete') continue;
    if (best === null || isBetter(point.t.score, best)) best = point.t.score;
    bestLine.push([point.x, best]);
  }
  if (bestLine.length > 0 && points.length > 0) bestLine.push([points.at(-1).x, best]);
  return {
    ...baseOption(),
    grid: { left: 8, right: 18, top: 30, bottom: 28, containLabel: true },
    legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 8, textStyle: { color: MUTED, fontSize: 11 } },
    xAxis: {
      type: 'value',
      name: x === 'number' ? 'trial' : 'time since the search started',
      nameLocation: 'middle',
      nameGap: 24,
      minInterval: x === 'number' ? 1 : 0,
      min: x === 'number' ? 0 : undefined,
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, formatter: x === 'number' ? undefined : clock },
    },
    yAxis: { type: 'value', scale: true, name: metricLabel(data.metric), ...axisStyle },
    series: [
      {
        name: 'trial',
        type: 'scatter',
        data: complete.map(item),
        symbolSize: complete.length > LARGE ? 4 : 8,
        itemStyle: { color: COMPLETE, opacity: 0.8 },
        z: 3,
        ...largeMode(complete.length),
      },
      {
        name: 'pruned',
        type: 'scatter',
        data: pruned.map(item),
        symbol: CROSS,
        symbolSize: pruned.length > LARGE ? 5 : 8,
        itemStyle: { color: PRUNED },
        z: 2,
        ...largeMode(pruned.length),
      },
      {
        name: 'best so far',
        type: 'line',
        step: 'end',
        data: bestLine,
        symbol: 'none',
        lineStyle: { color: BEST, width: 2 },
        itemStyle: { color: BEST },
        silent: true,
        tooltip: { show: false },
        z: 4,
      },
    ],
  };
}

export function importanceOption(data) {
  const values = [...data.importance.values].reverse();
  return {
    ...baseOption(),
    tooltip: {
      trigger: 'item',
      formatter: (p) => `${escapeHtml(p.name)}: <b>${(p.value * 100).toFixed(1)}%</b>`,
    },
    grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
    xAxis: {
      type: 'value',
      min: 0,
      max: 1,
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, formatter: (v) => `${Math.round(v * 100)}%` },
    },
    yAxis: { type: 'category', data: values.map((v) => paramLabel(v.name)), ...axisStyle, axisLabel: { color: '#1b2130', fontSize: 12 } },
    series: [
      {
        type: 'bar',
        data: values.map((v) => v.importance),
        barMaxWidth: 22,
        itemStyle: { color: COMPLETE, borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: 'right', color: MUTED, fontSize: 11, formatter: (p) => `${(p.value * 100).toFixed(1)}%` },
      },
    ],
  };
}

/** Early trials light, later ones dark (the slices' colour scale). */
const TRIAL_COLORS = ['#b9c5f3', '#1c2f8f'];
const TRIAL_BANDS = 8;

/** `#rrggbb` a fraction `f` of the way from TRIAL_COLORS[0] to TRIAL_COLORS[1]. */
function trialColor(f) {
  const [a, b] = TRIAL_COLORS.map((hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)));
  return `#${a
    .map((v, i) =>
      Math.round(v + (b[i] - v) * f)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** Points split into TRIAL_BANDS equal ranges of trial number, each with the scale's colour at its middle. */
function trialBands(points, maxNumber) {
  const bands = Array.from({ length: TRIAL_BANDS }, (_, k) => ({ color: trialColor((k + 0.5) / TRIAL_BANDS), points: [] }));
  for (const point of points)
    bands[Math.min(TRIAL_BANDS - 1, Math.floor(((point.t.number - 1) / maxNumber) * TRIAL_BANDS))].points.push(point);
  return bands.filter((band) => band.points.length > 0);
}

/** Bounds on a round step (1, 2, 2.5 or 5 × 10^k) around [lo, hi], at most six steps apart, shared by every slice. */
function niceRange(lo, hi) {
  const span = hi - lo || Math.abs(hi) * 0.02 || 0.01;
  const magnitude = 10 ** Math.floor(Math.log10(span / 6));
  const step = [1, 2, 2.5, 5, 10, 20].map((m) => m * magnitude).find((s) => Math.ceil(hi / s) - Math.floor(lo / s) <= 6);
  const [min, max] = [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
  return max > min ? [min, max, step] : [min - step, max + step, step];
}

/** One small chart per searched hyperparameter, in a grid of up to three columns, sharing the score axis. */
export function slicesOption(data, width) {
  const dims = data.dimensions;
  const cols = Math.min(dims.length, width < 700 ? 2 : 3);
  const rows = Math.ceil(dims.length / cols);
  const scored = data.trials.map((t, index) => ({ t, index })).filter(({ t }) => t.score !== null);
  // Loops, not Math.min(...scores): 10,000 arguments.
  let [min, max, maxNumber] = [Infinity, -Infinity, 1];
  for (const { t } of scored) [min, max] = [Math.min(min, t.score), Math.max(max, t.score)];
  for (const t of data.trials) maxNumber = Math.max(maxNumber, t.number);
  const [lo, hi, step] = niceRange(min, max);
  const grids = [];
  const xAxes = [];
  const yAxes = [];
  const series = [];
  dims.forEach((d, i) => {
    const [col, row] = [i % cols, Math.floor(i / cols)];
    grids.push({
      left: `${(col * 100) / cols + 4}%`,
      width: `${100 / cols - 7}%`,
      top: `${(row * 100) / rows + 6}%`,
      height: `${100 / rows - 17}%`,
      containLabel: false,
    });
    const numeric = d.kind !== 'categorical';
    xAxes.push({
      gridIndex: i,
      type: numeric ? (d.log ? 'log' : 'value') : 'category',
      data: numeric ? undefined : d.choices.map(shown),
      min: numeric ? d.low : undefined,
      max: numeric ? d.high : undefined,
      logBase: 10,
      minInterval: d.kind === 'int' ? 1 : undefined,
      name: `${paramLabel(d.name)}${numeric && d.log ? ' (log)' : ''}`,
      nameLocation: 'middle',
      nameGap: 22,
      ...axisStyle,
      nameTextStyle: { color: '#1b2130', fontSize: 12, fontWeight: 600 },
      axisLabel: { ...axisStyle.axisLabel, formatter: numeric ? (v) => shown(v) : undefined, hideOverlap: true },
      splitLine: { show: numeric, lineStyle: { color: GRID_LINE } },
    });
    yAxes.push({
      gridIndex: i,
      type: 'value',
      min: lo,
      max: hi,
      interval: step,
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, show: col === 0, formatter: (v) => String(Number(v.toPrecision(6))) },
    });
    const has = scored.filter(({ t }) => d.name in t.values);
    // [value, score, trial number (the colour), index of the trial]
    const item = ({ t, index }) => [numeric ? t.values[d.name] : shown(t.values[d.name]), t.score, t.number, index];
    const complete = has.filter(({ t }) => t.state === 'complete');
    const pruned = has.filter(({ t }) => t.state === 'pruned');
    // Large mode draws a series in one colour: there the trial-number colours come as bands of trials, a series each.
    const bands = complete.length > LARGE ? trialBands(complete, maxNumber) : [{ color: null, points: complete }];
    for (const band of bands) {
      series.push({
        name: 'trial',
        type: 'scatter',
        xAxisIndex: i,
        yAxisIndex: i,
        data: band.points.map(item),
        symbolSize: band.color ? 4 : 7,
        ...(band.color ? { itemStyle: { color: band.color }, large: true, largeThreshold: 0 } : {}),
        z: 3,
      });
    }
    series.push({
      name: 'pruned',
      type: 'scatter',
      xAxisIndex: i,
      yAxisIndex: i,
      data: pruned.map(item),
      symbol: CROSS,
      symbolSize: pruned.length > LARGE ? 5 : 7,
      itemStyle: { color: PRUNED, opacity: 0.7 },
      z: 2,
      ...largeMode(pruned.length),
    });
  });
  return {
    ...baseOption(),
    grid: grids,
    xAxis: xAxes,
    yAxis: yAxes,
    series,
    // Later trials darker: where TPE moved to, as Optuna's slice plot colours by trial number.
    visualMap: {
      type: 'continuous',
      dimension: 2,
      min: 1,
      max: maxNumber,
      // The banded series carry their colours themselves: the scale then only explains them.
      seriesIndex: series.map((s, i) => (s.name === 'trial' && !s.large ? i : -1)).filter((i) => i >= 0),
      inRange: { color: TRIAL_COLORS },
      orient: 'horizontal',
      right: 0,
      top: 0,
      itemWidth: 10,
      itemHeight: 90,
      text: [`trial ${maxNumber}`, 'trial 1'],
      textStyle: { color: MUTED, fontSize: 11 },
      calculable: false,
    },
  };
}

function slot(id) {
  const element = document.getElementById(id);
  if (!element) return null;
  const chartSlot = new ChartSlot(element);
  chartSlot.onCreate = (chart) =>
    chart.on('click', (p) => {
      const runId = trialOf(p)?.runId;
      if (runId) location.href = `/experiments/${state.data.experimentId}/runs/${runId}`;
    });
  return chartSlot;
}

const slots = { history: slot('chart-history'), importance: slot('chart-importance'), slices: slot('chart-slices') };

function drawHistory() {
  const data = state.data;
  if (!data.trials.some((t) => t.score !== null)) return slots.history.message('Appears when the first trial finishes.');
  return slots.history.draw(historyOption(data, state.x));
}

function drawImportance() {
  const data = state.data;
  const caption = $('#importance-caption');
  if (!data.importance) {
    const complete = data.trials.filter((t) => t.state === 'complete').length;
    if (caption) caption.textContent = 'PED-ANOVA over the complete trials, as Optuna computes it.';
    const why = data.dimensions.length === 0 ? 'Nothing is searched.' : `Appears after 3 complete trials (${complete} so far).`;
    return slots.importance.message(why);
  }
  const { trials, top, baselineQuantile } = data.importance;
  if (caption)
    caption.textContent =
      `PED-ANOVA (as Optuna) over ${trials} complete trials: how differently each hyperparameter is spread among the best ` +
      `${Math.round(baselineQuantile * 100)}% (${top} trials) than among all; shares sum to 100%.` +
      (top < 5 ? ' Few top trials: read it as a first hint.' : '');
  return slots.importance.draw(importanceOption(data));
}

function drawSlices() {
  if (!slots.slices) return Promise.resolve();
  const data = state.data;
  if (!data.trials.some((t) => t.score !== null)) return slots.slices.message('Appears when the first trial finishes.');
  const element = document.getElementById('chart-slices');
  const cols = Math.min(data.dimensions.length, element.clientWidth < 700 ? 2 : 3);
  element.style.height = `${Math.ceil(data.dimensions.length / cols) * 230 + 30}px`;
  return slots.slices.draw(slicesOption(data, element.clientWidth));
}

async function load() {
  state.data = await fetchJson(root.dataset.url);
  await Promise.all([drawHistory(), drawImportance(), drawSlices()]);
}

function setupToggle() {
  for (const button of $$('.segmented [data-x]', root)) {
    button.addEventListener('click', () => {
      state.x = button.dataset.x;
      for (const other of $$('.segmented [data-x]', root)) other.setAttribute('aria-pressed', String(other === button));
      if (state.data) void drawHistory();
    });
  }
}

if (root && page.experimentId !== undefined) {
  setupToggle();
  // experiment.js announces each live refresh of the page (runs finishing): the views follow.
  const reload = throttle(() => void load().catch((error) => console.error(error)), 2000);
  document.addEventListener('foldwise:refreshed', reload);
  load()
    .catch((error) => console.error(error))
    .finally(() => {
      document.documentElement.dataset.searchViewsReady = 'true';
    });
}
