// Chart builders over ECharts (loaded as a classic script from /static/vendor, global `echarts`).
import { bestFirst, fmt, metricKey, metricLabel, paramLabel, showMessage } from './lib.js';

export const PALETTE = [
  '#3451d1',
  '#e8590c',
  '#2b8a3e',
  '#c2255c',
  '#1098ad',
  '#7048e8',
  '#e67700',
  '#5c940d',
  '#862e9c',
  '#495057',
  '#0b7285',
  '#a61e4d',
];
export const FONT = 'Inter, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif';
export const MUTED = '#6b7385';
export const GRID_LINE = '#eef0f3';
export const AXIS_LINE = '#cfd4dc';

export const axisStyle = {
  axisLine: { lineStyle: { color: AXIS_LINE } },
  axisTick: { show: false },
  axisLabel: { color: MUTED, fontSize: 11 },
  splitLine: { lineStyle: { color: GRID_LINE } },
  nameTextStyle: { color: MUTED, fontSize: 11 },
};

const base = (animate) => ({
  textStyle: { fontFamily: FONT },
  animation: animate,
  animationDuration: 250,
  animationDurationUpdate: 200,
});

/** One chart area: draws an option or shows a message; resolves `draw` once the chart has rendered. */
export class ChartSlot {
  constructor(element) {
    this.element = element;
    this.chart = null;
  }

  draw(option, { replace = true } = {}) {
    if (!this.chart) {
      this.element.replaceChildren();
      this.chart = echarts.init(this.element, null, { renderer: 'canvas' });
      // The observer reports the current size once at start: skip that one, or every chart draws twice.
      let { clientWidth: width, clientHeight: height } = this.element;
      this.observer = new ResizeObserver(() => {
        if (this.element.clientWidth === width && this.element.clientHeight === height) return;
        ({ clientWidth: width, clientHeight: height } = this.element);
        this.chart?.resize();
      });
      this.observer.observe(this.element);
      this.onCreate?.(this.chart);
    }
    const chart = this.chart;
    const started = performance.now();
    const rendered = new Promise((resolve) => {
      const done = () => {
        chart.off('finished', done);
        clearTimeout(timer);
        // Visible in the browser's performance panel as "chart:<element id>".
        performance.measure(`chart:${this.element.id}`, { start: started, end: performance.now() });
        resolve();
      };
      const timer = setTimeout(done, 3000);
      chart.on('finished', done);
    });
    chart.setOption(option, replace ? { notMerge: true } : { replaceMerge: ['series'] });
    return rendered;
  }

  message(text) {
    if (this.chart) {
      this.observer?.disconnect();
      this.chart.dispose();
      this.chart = null;
    }
    showMessage(this.element, text);
    return Promise.resolve();
  }
}

/** Mean, min and max over folds at each epoch (folds without a value there are skipped). */
export function aggregate(folds) {
  const length = Math.max(0, ...folds.map((fold) => fold?.length ?? 0));
  const mean = [];
  const min = [];
  const max = [];
  for (let epoch = 0; epoch < length; epoch++) {
    let sum = 0;
    let count = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const fold of folds) {
      const value = fold?.[epoch];
      if (value === null || value === undefined) continue;
      sum += value;
      count++;
      lo = Math.min(lo, value);
      hi = Math.max(hi, value);
    }
    mean.push(count ? sum / count : null);
    min.push(count ? lo : null);
    max.push(count ? hi : null);
  }
  return { mean, min, max };
}

function epochAxis(count) {
  return {
    type: 'category',
    boundaryGap: false,
    name: 'epoch',
    nameLocation: 'middle',
    nameGap: 24,
    data: Array.from({ length: count }, (_, i) => i + 1),
    ...axisStyle,
    splitLine: { show: false },
  };
}

function swatch(color) {
  return `<span style="display:inline-block;width:8px;height:8px;border-radius:2px;margin-right:6px;background:${color}"></span>`;
}

/** The fold band's fill: light, so that several runs' bands do not merge into one blur; darker for the run picked out. */
const BAND_OPACITY = 0.07;
const BAND_OPACITY_PICKED = 0.22;

/**
 * Curves of several runs for one metric: a mean line per run and, with several folds, a band
 * from the fold minimum to the fold maximum. Hovering a line (or its legend entry, or calling
 * `pickRun`) picks out that run with its band and fades the others. `yRange` ({min, max}, see
 * sharedRange) puts charts meant to be read side by side on one scale.
 * @param entries [{runId, number, color, curve: {mean, min, max} | undefined, nFolds}]: `number` (#N in the experiment) names the run
 */
export function curveOption(entries, { yName, direction = 'minimize', animate = true, yRange = null }) {
  const count = Math.max(1, ...entries.map((e) => e.curve?.mean.length ?? 0));
  const series = [];
  for (const { runId, number, color, curve, nFolds } of entries) {
    if (!curve) continue;
    const name = `#${number ?? runId}`;
    if (nFolds > 1) {
      series.push({
        id: `${runId}-lo`,
        name,
        type: 'line',
        data: curve.min,
        stack: `band-${runId}`,
        stackStrategy: 'all',
        symbol: 'none',
        color,
        lineStyle: { opacity: 0 },
        silent: true,
        z: 1,
        emphasis: { disabled: true },
        tooltip: { show: false },
      });
      series.push({
        id: `${runId}-band`,
        name,
        type: 'line',
        stack: `band-${runId}`,
        stackStrategy: 'all',
        symbol: 'none',
        color,
        data: curve.max.map((hi, i) => (hi === null || curve.min[i] === null ? null : hi - curve.min[i])),
        lineStyle: { opacity: 0 },
        areaStyle: { color, opacity: BAND_OPACITY },
        silent: true,
        z: 1,
        emphasis: { areaStyle: { opacity: BAND_OPACITY_PICKED } },
        blur: { areaStyle: { opacity: 0.02 } },
        tooltip: { show: false },
      });
    }
    series.push({
      id: `${runId}-mean`,
      name,
      type: 'line',
      data: curve.mean,
      symbol: 'none',
      showSymbol: false,
      color,
      lineStyle: { width: 2, color },
      z: 3,
      triggerLineEvent: true,
      emphasis: { focus: 'series', lineStyle: { width: 3 } },
      blur: { lineStyle: { opacity: 0.18 } },
    });
  }
  return {
    ...base(animate),
    color: entries.map((e) => e.color),
    grid: { left: 8, right: 16, top: 34, bottom: 24, containLabel: true },
    legend: {
      type: 'scroll',
      top: 0,
      left: 0,
      right: 0,
      icon: 'roundRect',
      itemWidth: 12,
      itemHeight: 4,
      textStyle: { color: MUTED, fontSize: 11 },
      data: entries.filter((e) => e.curve).map((e) => `#${e.number ?? e.runId}`),
    },
    tooltip: {
      trigger: 'axis',
      confine: true,
      order: direction === 'maximize' ? 'valueDesc' : 'valueAsc',
      formatter: (params) => {
        const lines = params.filter((p) => String(p.seriesId).endsWith('-mean') && p.value !== null && p.value !== undefined);
        lines.sort((a, b) => bestFirst(direction)(a.value, b.value));
        const list = lines.map((p) => `${swatch(p.color)}${p.seriesName} ${fmt.score(p.value)}`).join('<br>');
        return `<b>epoch ${params[0]?.axisValue ?? ''}</b><br>${list}`;
      },
    },
    xAxis: epochAxis(count),
    yAxis: {
      type: 'value',
      scale: true,
      ...(yRange ?? {}),
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, formatter: (v) => tick(v) },
    },
    series,
    aria: { enabled: true, label: { description: `${yName} by epoch` } },
  };
}

/**
 * One y range ({min, max, interval}: rounded out to a nice tick step) over several lists of
 * curveOption entries, their bands included: the charts of a metric's training and validation
 * curves then share a scale, so the gap between the two reads as it is. Null when no entry has a value.
 */
export function sharedRange(...lists) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const entry of lists.flat()) {
    for (const value of [...(entry.curve?.min ?? []), ...(entry.curve?.max ?? [])]) {
      if (value === null || value === undefined || !Number.isFinite(value)) continue;
      lo = Math.min(lo, value);
      hi = Math.max(hi, value);
    }
  }
  if (lo > hi) return null;
  if (lo === hi) return { min: lo - 0.5, max: hi + 0.5, interval: 0.25 };
  const raw = (hi - lo) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw);
  const round = (value) => Number(value.toPrecision(12));
  return { min: round(Math.floor(lo / step) * step), max: round(Math.ceil(hi / step) * step), interval: step };
}

/**
 * Picks out one run (by its series name, `#N`) in curve charts, or none (`name` null): its line and
 * band stand out and the other runs fade, in every chart given. Charts in a connected group
 * (echarts.connect) pass the action on to each other: one of each group is told.
 */
export function pickRun(charts, name) {
  const groups = new Set();
  for (const chart of charts) {
    if (!chart || (chart.group && groups.has(chart.group))) continue;
    if (chart.group) groups.add(chart.group);
    chart.dispatchAction({ type: 'downplay' });
    if (name) chart.dispatchAction({ type: 'highlight', seriesName: name });
  }
}

/**
 * Hovering a run's mean line in `chart` picks the run out in all the charts `linked()` returns
 * (band included: ECharts' own hover would emphasise the line alone).
 */
export function linkRunHover(chart, linked) {
  chart.on('mouseover', (p) => String(p.seriesId).endsWith('-mean') && pickRun(linked(), p.seriesName));
  chart.on('mouseout', (p) => String(p.seriesId).endsWith('-mean') && pickRun(linked(), null));
}

/** A tick label without float noise (0.30000000000000004 → 0.3). */
function tick(value) {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : '';
}

/** Decimals that tell apart values spread over `range`. */
function digitsFor(range) {
  if (!(range > 0)) return 3;
  return Math.min(5, Math.max(2, Math.ceil(-Math.log10(range)) + 2));
}

/** A hyperparameter value short enough for an axis: 0.0001 → 1e-4, 0.003 → 0.003, long strings cut. */
export function shortValue(value) {
  if (typeof value === 'number') {
    if (value !== 0 && (Math.abs(value) < 0.001 || Math.abs(value) >= 1e6)) return value.toExponential().replace(/\.?0*e\+?/, 'e');
    return tick(value);
  }
  const text = String(value);
  return text.length > 12 ? `${text.slice(0, 11)}…` : text;
}

/**
 * Score bands for a colour scale that separates good from bad: the finished runs' scores cut at
 * their quartiles, best band first. Quartiles rather than equal widths, so that one diverged run
 * does not squeeze every other run into one colour.
 */
function scoreBands(scores, direction) {
  const sorted = [...scores].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const cuts = [...new Set([at(0.25), at(0.5), at(0.75)])].filter((cut) => cut > sorted[0]);
  const edges = [sorted[0], ...cuts, sorted[sorted.length - 1]];
  const bands = [];
  for (let i = 0; i + 1 < edges.length; i++) bands.push({ lo: edges[i], hi: edges[i + 1], last: i + 2 === edges.length });
  return direction === 'minimize' ? bands : bands.reverse();
}

// Best band first: blue for the good end, orange for the bad (and a neutral grey between), legible to most colour-blind readers.
const BAND_COLORS = {
  1: ['#3451d1'],
  2: ['#3451d1', '#e8590c'],
  3: ['#3451d1', '#adb5bd', '#e8590c'],
  4: ['#3451d1', '#91a7ff', '#ffc078', '#e8590c'],
};

/**
 * Parallel coordinates: one axis per searched hyperparameter and the score; one line per finished
 * run, coloured by its score's quartile (the legend below says which scores each colour holds)
 * and drawn worst first, so that the best runs lie on top. Values that span decades (learning
 * rate, L2) get a log axis; few distinct values evenly spaced categories. `width` (the chart's, in
 * pixels) cuts axis names that would run into their neighbours.
 */
export function parallelOption(runs, columns, metric, direction, { width = 640 } = {}) {
  const finished = runs.filter((run) => run.rank !== null && run.scoreMean !== null);
  finished.sort((a, b) => bestFirst(direction)(b.scoreMean, a.scoreMean));
  const kinds = columns.map((name) => {
    const values = [...new Set(finished.map((run) => run.params[name]))];
    const numeric = values.every((v) => typeof v === 'number');
    if (numeric && values.length > 1 && Math.min(...values) > 0 && Math.max(...values) / Math.min(...values) >= 20) return 'log';
    return values.length <= 12 || !numeric ? 'category' : 'value';
  });
  const left = 40;
  const right = 64;
  const spacing = (width - left - right) / Math.max(1, columns.length);
  const axes = columns.map((name, dim) => {
    const common = { dim, name: paramLabel(name), nameTruncate: { maxWidth: Math.max(48, spacing - 12) } };
    const values = finished.map((run) => run.params[name]);
    if (kinds[dim] === 'category') {
      const distinct = [...new Set(values)];
      const sorted = distinct.every((v) => typeof v === 'number') ? distinct.sort((a, b) => a - b) : distinct.map(String).sort();
      return { ...common, type: 'category', data: sorted.map(String), boundaryGap: false, axisLabel: { formatter: shortValue } };
    }
    const axisLabel = { formatter: (v) => shortValue(v) };
    if (kinds[dim] === 'log') return { ...common, type: 'log', logBase: 10, axisLabel };
    return { ...common, type: 'value', min: Math.min(...values), max: Math.max(...values), axisLabel };
  });
  const scores = finished.map((run) => run.scoreMean);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const digits = digitsFor(hi - lo);
  const scoreName = metricLabel(metric);
  axes.push({
    dim: columns.length,
    name: `${scoreName} ${direction === 'minimize' ? '↓' : '↑'}`,
    type: 'value',
    scale: true,
    inverse: direction === 'minimize',
    nameTextStyle: { fontWeight: 700, color: '#1b2130' },
    axisLabel: { formatter: (v) => v.toFixed(digits) },
  });
  const row = (run) => ({
    name: `#${run.number ?? run.runId}`,
    runId: run.runId,
    value: [...columns.map((name, dim) => (kinds[dim] === 'category' ? String(run.params[name]) : run.params[name])), run.scoreMean],
  });
  const bands = scoreBands(scores, direction);
  const colors = BAND_COLORS[bands.length];
  const best = finished.find((run) => run.rank === 1);
  const byId = new Map(finished.map((run) => [run.runId, run]));
  const tooltip = (p) => {
    const params = byId.get(p.data.runId)?.params ?? {};
    const lines = columns.map((name) => `${paramLabel(name)} <b>${shortValue(params[name])}</b>`);
    return `<b>run ${p.name}</b> · ${scoreName} <b>${fmt.score(p.value[columns.length])}</b><br>${lines.join('<br>')}`;
  };
  return {
    ...base(finished.length <= 200),
    parallel: {
      left,
      right,
      top: 40,
      bottom: 44,
      parallelAxisDefault: {
        nameLocation: 'end',
        nameGap: 14,
        nameTextStyle: { color: '#475063', fontSize: 11.5 },
        axisLine: { lineStyle: { color: AXIS_LINE } },
        axisTick: { lineStyle: { color: AXIS_LINE } },
        // A label's white backing keeps it legible over the lines that cross it.
        axisLabel: { color: MUTED, fontSize: 10.5, backgroundColor: 'rgba(255,255,255,0.85)', padding: [1, 3], borderRadius: 2 },
        areaSelectStyle: { width: 14, opacity: 0.25, color: '#3451d1' },
      },
    },
    parallelAxis: axes,
    visualMap: {
      type: 'piecewise',
      dimension: columns.length,
      seriesIndex: 0,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemWidth: 14,
      itemHeight: 8,
      itemGap: 14,
      textGap: 6,
      textStyle: { color: MUTED, fontSize: 11 },
      inverse: true,
      text: [`${scoreName}:`, ''],
      showLabel: true,
      pieces: bands.map((band, i) => ({
        // Half-open bands except the highest, so that a score on a cut belongs to one band.
        gte: band.lo,
        ...(band.last ? { lte: band.hi } : { lt: band.hi }),
        label: `${band.lo.toFixed(digits)}–${band.hi.toFixed(digits)}${i === 0 && bands.length > 1 ? ' (best)' : ''}`,
        color: colors[i],
      })),
      hoverLink: true,
    },
    tooltip: { trigger: 'item', confine: true },
    series: [
      {
        type: 'parallel',
        name: 'runs',
        data: finished.map(row),
        lineStyle: { width: 1.4, opacity: finished.length > 150 ? 0.35 : 0.7 },
        emphasis: { lineStyle: { width: 3, opacity: 1 } },
        inactiveOpacity: 0.04,
        activeOpacity: 1,
        smooth: false,
        progressive: 0,
        tooltip: { formatter: tooltip },
      },
      ...(best
        ? [
            {
              type: 'parallel',
              name: 'best',
              data: [row(best)],
              lineStyle: { width: 3.5, color: '#1b2130', opacity: 0.9 },
              z: 5,
              tooltip: { formatter: tooltip },
            },
          ]
        : []),
    ],
  };
}

/** The selected run's mark: a ring around its point. */
const RING = { color: 'rgba(0,0,0,0)', borderColor: '#1b2130', borderWidth: 2 };

/**
 * Model complexity: one quantity per axis. Parameter count on x (log scale: base 2 within a
 * decade or so, where widths double), the validation score (mean over folds at the chosen epochs)
 * on y, and a line through the best score at each parameter count, in parameter order. Runs tied
 * with the best (not significantly worse) are blue, the rest grey; the selected run is ringed.
 */
export function complexityOption(runs, metric, direction) {
  const finished = runs
    .filter((run) => run.rank !== null && run.paramCount !== null && run.paramCount > 0 && run.scoreMean !== null)
    .sort((a, b) => a.paramCount - b.paramCount || bestFirst(direction)(a.scoreMean, b.scoreMean));
  const scoreName = metricLabel(metricKey('val', metric));
  const animate = finished.length <= 200;
  const symbolSize = finished.length > 200 ? 5 : 8;
  // Plain [parameters, score, runId, number, std] rows: large mode keeps every dimension of an array row.
  const point = (run) => [run.paramCount, run.scoreMean, run.runId, run.number ?? run.runId, run.nFolds > 1 ? run.scoreStd : null];
  const large = finished.length > 300 ? { large: true, largeThreshold: 300 } : {};
  const tested = finished.some((run) => run.tied !== null && run.tied !== undefined);
  const good = finished.filter((run) => run.isBest || run.tied === true);
  const groups = (
    tested
      ? [
          { name: 'tied with the best', color: '#3451d1', runs: good },
          { name: 'significantly worse', color: '#adb5bd', runs: finished.filter((run) => !good.includes(run)) },
        ]
      : [{ name: 'runs', color: '#3451d1', runs: finished }]
  ).filter((group) => group.runs.length > 0);
  const counts = finished.map((run) => run.paramCount);
  const logBase = Math.max(...counts) / Math.min(...counts) < 30 ? 2 : 10;
  const frontier = [];
  for (const run of finished) {
    const last = frontier[frontier.length - 1];
    if (last && last[0] === run.paramCount) continue; // sorted best first within a parameter count
    frontier.push([run.paramCount, run.scoreMean]);
  }
  const selected = finished.find((run) => run.selected) ?? finished.find((run) => run.rank === 1);
  const series = [
    ...(frontier.length > 1 && frontier.length <= 80
      ? [
          {
            name: 'best at each size',
            type: 'line',
            data: frontier,
            symbol: 'none',
            color: '#8c96a8',
            lineStyle: { width: 1.5, type: 'dashed' },
            silent: true,
            z: 2,
            tooltip: { show: false },
          },
        ]
      : []),
    ...groups.map((group) => ({
      name: group.name,
      type: 'scatter',
      data: group.runs.map(point),
      symbolSize,
      color: group.color,
      itemStyle: { opacity: 0.8 },
      z: 3,
      ...large,
    })),
    ...(selected
      ? [
          {
            name: 'selected run',
            type: 'scatter',
            data: [point(selected)],
            symbolSize: symbolSize + 8,
            color: '#1b2130',
            itemStyle: RING,
            z: 4,
          },
        ]
      : []),
  ];
  return {
    ...base(animate),
    grid: { left: 8, right: 16, top: 40, bottom: 24, containLabel: true },
    legend: {
      top: 0,
      itemWidth: 9,
      itemHeight: 9,
      textStyle: { color: MUTED, fontSize: 11 },
      data: [
        ...groups.map((group) => ({ name: group.name, icon: 'circle' })),
        ...(selected ? [{ name: 'selected run', icon: 'circle', itemStyle: { ...RING, borderWidth: 1.5 } }] : []),
      ],
    },
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) =>
        `<b>run #${p.value[3]}</b> · ${fmt.int(p.value[0])} parameters<br>` +
        `${scoreName} <b>${fmt.score(p.value[1])}</b>${p.value[4] === null ? '' : ` ± ${fmt.score(p.value[4])}`}`,
    },
    xAxis: {
      type: 'log',
      logBase,
      name: 'parameters (log scale)',
      nameLocation: 'middle',
      nameGap: 24,
      ...axisStyle,
      splitLine: { show: false },
      axisLabel: { color: MUTED, fontSize: 11, formatter: fmt.compact },
    },
    yAxis: {
      type: 'value',
      name: `${scoreName} ${direction === 'minimize' ? '↓' : '↑'}`,
      scale: true,
      inverse: direction === 'minimize',
      ...axisStyle,
      nameTextStyle: { ...axisStyle.nameTextStyle, align: 'left' },
      axisLabel: { ...axisStyle.axisLabel, formatter: tick },
    },
    series,
  };
}

const CROSS = 'path://M2,0 L5,3 L8,0 L10,2 L7,5 L10,8 L8,10 L5,7 L2,10 L0,8 L3,5 L0,2 Z';

/**
 * Per-fold curves of one run. `lines` = [{name, values, color, dashed, fold}], where `fold` =
 * {bestEpoch, stoppedEpoch} marks the best epoch (●) and the stopping epoch (✕) on that line.
 */
export function foldOption(lines, { yName, refitEpochs = null, direction = 'minimize', animate = true }) {
  const count = Math.max(1, ...lines.map((line) => line.values.length));
  const series = lines.map((line, index) => {
    const marks = [];
    const at = (epoch) =>
      epoch !== null && epoch !== undefined && line.values[epoch] !== null && line.values[epoch] !== undefined ? line.values[epoch] : null;
    if (line.fold && at(line.fold.bestEpoch) !== null) {
      marks.push({
        name: 'best epoch',
        coord: [line.fold.bestEpoch, at(line.fold.bestEpoch)],
        symbol: 'circle',
        symbolSize: 9,
        itemStyle: { color: line.color, borderColor: '#fff', borderWidth: 2 },
      });
    }
    if (line.fold && at(line.fold.stoppedEpoch) !== null && line.fold.stoppedEpoch !== line.fold.bestEpoch) {
      marks.push({
        name: 'stopped',
        coord: [line.fold.stoppedEpoch, at(line.fold.stoppedEpoch)],
        symbol: CROSS,
        symbolSize: 9,
        itemStyle: { color: line.color },
      });
    }
    return {
      id: `line-${index}`,
      name: line.name,
      type: 'line',
      data: line.values,
      symbol: 'none',
      color: line.color,
      lineStyle: { width: line.dashed ? 1.6 : 2, type: line.dashed ? 'dashed' : 'solid', color: line.color },
      markPoint: marks.length ? { data: marks, label: { show: false }, animation: false } : undefined,
      markLine:
        index === 0 && refitEpochs
          ? {
              silent: true,
              symbol: 'none',
              data: [{ xAxis: refitEpochs - 1 }],
              lineStyle: { color: '#868e96', type: 'dashed', width: 1 },
              label: { formatter: `refit: ${refitEpochs}`, color: MUTED, fontSize: 10 },
              animation: false,
            }
          : undefined,
    };
  });
  return {
    ...base(animate),
    grid: { left: 8, right: 16, top: 34, bottom: 24, containLabel: true },
    legend: {
      type: 'scroll',
      top: 0,
      icon: 'roundRect',
      itemWidth: 12,
      itemHeight: 4,
      textStyle: { color: MUTED, fontSize: 11 },
      data: [...new Set(lines.map((line) => line.name))],
    },
    tooltip: {
      trigger: 'axis',
      confine: true,
      formatter: (params) => {
        const rows = params.filter((p) => p.value !== null && p.value !== undefined);
        rows.sort((a, b) => bestFirst(direction)(a.value, b.value));
        const part = (p) => lines[Number(String(p.seriesId).slice(5))]?.part ?? '';
        const list = rows.map((p) => `${swatch(p.color)}${p.seriesName} ${part(p)} ${fmt.score(p.value)}`).join('<br>');
        return `<b>epoch ${params[0]?.axisValue ?? ''}</b><br>${list}`;
      },
    },
    xAxis: epochAxis(count),
    yAxis: { type: 'value', scale: true, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, formatter: tick } },
    series,
    aria: { enabled: true, label: { description: `${yName} per fold by epoch` } },
  };
}

/** Marks the page as drawn (the benchmark and the browser tests wait for this). */
export function markChartsReady() {
  window.__foldwise = { ...(window.__foldwise ?? {}), chartsReadyAt: performance.now() };
  document.documentElement.dataset.chartsReady = 'true';
}
