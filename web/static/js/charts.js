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
const FONT = 'Inter, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif';
const MUTED = '#6b7385';
const GRID_LINE = '#eef0f3';
const AXIS_LINE = '#cfd4dc';

const axisStyle = {
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

/**
 * Curves of several runs for one metric: a mean line per run and, with several folds, a band
 * from the fold minimum to the fold maximum.
 * @param entries [{runId, number, color, curve: {mean, min, max} | undefined, nFolds}]: `number` (#N in the experiment) names the run
 */
export function curveOption(entries, { yName, direction = 'minimize', animate = true }) {
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
        areaStyle: { color, opacity: 0.13 },
        silent: true,
        z: 1,
        emphasis: { disabled: true },
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
      emphasis: { focus: 'series' },
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
    yAxis: { type: 'value', scale: true, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, formatter: (v) => tick(v) } },
    series,
    aria: { enabled: true, label: { description: `${yName} by epoch` } },
  };
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

/** Parallel coordinates: one axis per searched hyperparameter and the score; one line per finished run. */
export function parallelOption(runs, columns, metric, direction) {
  const finished = runs.filter((run) => run.rank !== null && run.scoreMean !== null);
  // Grid values are few and discrete: evenly spaced categories read better than a value scale.
  const categorical = columns.map((name) => {
    const values = [...new Set(finished.map((run) => run.params[name]))];
    return values.length <= 12 || !values.every((v) => typeof v === 'number');
  });
  const axes = columns.map((name, dim) => {
    const values = finished.map((run) => run.params[name]);
    if (categorical[dim]) {
      const distinct = [...new Set(values)];
      const sorted = distinct.every((v) => typeof v === 'number') ? distinct.sort((a, b) => a - b) : distinct.map(String).sort();
      return { dim, name: paramLabel(name), type: 'category', data: sorted.map(String), boundaryGap: false };
    }
    const min = Math.min(...values);
    const max = Math.max(...values);
    const log = min > 0 && max / min >= 20;
    return { dim, name: paramLabel(name), type: log ? 'log' : 'value', min: log ? undefined : min, max: log ? undefined : max };
  });
  const scores = finished.map((run) => run.scoreMean);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const digits = digitsFor(hi - lo);
  axes.push({
    dim: columns.length,
    name: metricLabel(metric),
    type: 'value',
    min: lo,
    max: hi === lo ? hi + 1e-6 : hi,
    inverse: direction === 'minimize',
    nameTextStyle: { fontWeight: 700, color: '#1b2130' },
    axisLabel: { formatter: (v) => v.toFixed(digits) },
  });
  const row = (run) => [...columns.map((name, dim) => (categorical[dim] ? String(run.params[name]) : run.params[name])), run.scoreMean];
  const best = finished.find((run) => run.rank === 1);
  const colors = direction === 'minimize' ? ['#2b8a3e', '#fab005', '#e8590c'] : ['#e8590c', '#fab005', '#2b8a3e'];
  return {
    ...base(finished.length <= 200),
    parallel: {
      left: 40,
      right: 56,
      top: 36,
      bottom: 22,
      parallelAxisDefault: {
        nameLocation: 'end',
        nameGap: 12,
        nameTextStyle: { color: '#475063', fontSize: 11.5 },
        axisLine: { lineStyle: { color: AXIS_LINE } },
        axisTick: { lineStyle: { color: AXIS_LINE } },
        axisLabel: { color: MUTED, fontSize: 10.5 },
        areaSelectStyle: { width: 14, opacity: 0.25, color: '#3451d1' },
      },
    },
    parallelAxis: axes,
    visualMap: {
      show: false,
      type: 'continuous',
      dimension: columns.length,
      min: lo,
      max: hi === lo ? hi + 1e-6 : hi,
      inRange: { color: colors },
      seriesIndex: 0,
    },
    tooltip: { trigger: 'item', confine: true },
    series: [
      {
        type: 'parallel',
        name: 'runs',
        data: finished.map(row),
        lineStyle: { width: 1.2, opacity: finished.length > 150 ? 0.3 : 0.55 },
        emphasis: { lineStyle: { width: 3, opacity: 1 } },
        inactiveOpacity: 0.04,
        activeOpacity: 1,
        smooth: false,
        progressive: 0,
        tooltip: { show: false },
      },
      ...(best
        ? [
            {
              type: 'parallel',
              name: 'best',
              data: [row(best)],
              lineStyle: { width: 3.5, color: '#1b2130', opacity: 0.9 },
              z: 5,
              silent: true,
              tooltip: { show: false },
            },
          ]
        : []),
    ],
  };
}

/** Parameter count against training and validation loss (and the validation score) at the chosen epoch. */
export function complexityOption(runs, metric, direction) {
  const finished = runs.filter((run) => run.rank !== null && run.paramCount !== null && run.paramCount > 0);
  // Plain [parameters, value, runId, number] rows: large mode keeps every dimension of an array row.
  const point = (value) => (run) => (run[value] === null ? null : [run.paramCount, run[value], run.runId, run.number]);
  const trend = (value) => {
    const groups = new Map();
    for (const run of finished) {
      if (run[value] === null) continue;
      const g = groups.get(run.paramCount) ?? [];
      g.push(run[value]);
      groups.set(run.paramCount, g);
    }
    if (groups.size < 2 || groups.size > 80) return [];
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([x, values]) => [x, values.reduce((s, v) => s + v, 0) / values.length]);
  };
  const showScore = metric !== 'loss';
  const scoreName = metricLabel(metricKey('val', metric));
  const animate = finished.length <= 200;
  const symbolSize = finished.length > 200 ? 5 : 8;
  // Past a few hundred points, ECharts' large mode draws a series in one batch (no per-point hover).
  const large = finished.length > 300 ? { large: true, largeThreshold: 300 } : {};
  const series = [
    {
      name: 'training loss',
      type: 'scatter',
      data: finished.map(point('trainLoss')).filter(Boolean),
      symbolSize,
      color: '#3451d1',
      itemStyle: { opacity: 0.65 },
      ...large,
    },
    {
      name: 'validation loss',
      type: 'scatter',
      data: finished.map(point('valLoss')).filter(Boolean),
      symbolSize,
      color: '#e8590c',
      itemStyle: { opacity: 0.65 },
      ...large,
    },
    {
      name: 'training loss',
      type: 'line',
      data: trend('trainLoss'),
      symbol: 'none',
      color: '#3451d1',
      lineStyle: { width: 2, opacity: 0.8 },
      silent: true,
      tooltip: { show: false },
    },
    {
      name: 'validation loss',
      type: 'line',
      data: trend('valLoss'),
      symbol: 'none',
      color: '#e8590c',
      lineStyle: { width: 2, opacity: 0.8 },
      silent: true,
      tooltip: { show: false },
    },
  ];
  if (showScore) {
    series.push({
      name: scoreName,
      type: 'scatter',
      yAxisIndex: 1,
      data: finished.map(point('valScore')).filter(Boolean),
      symbol: 'diamond',
      symbolSize: symbolSize + 1,
      color: '#2b8a3e',
      itemStyle: { opacity: 0.55 },
      ...large,
    });
  }
  return {
    ...base(animate),
    grid: { left: 8, right: 8, top: 40, bottom: 24, containLabel: true },
    legend: {
      top: 0,
      icon: 'circle',
      itemWidth: 9,
      itemHeight: 9,
      textStyle: { color: MUTED, fontSize: 11 },
      data: ['training loss', 'validation loss', ...(showScore ? [scoreName] : [])],
    },
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) =>
        `<b>run #${p.value[3] ?? p.value[2]}</b> · ${fmt.int(p.value[0])} parameters<br>` +
        `${swatch(p.color)}${p.seriesName} ${fmt.score(p.value[1])}`,
    },
    xAxis: {
      type: 'log',
      name: 'parameters (log scale)',
      nameLocation: 'middle',
      nameGap: 24,
      ...axisStyle,
      splitLine: { show: false },
      axisLabel: { color: MUTED, fontSize: 11, formatter: fmt.compact },
    },
    yAxis: [
      { type: 'value', name: 'loss', scale: true, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, formatter: tick } },
      ...(showScore
        ? [
            {
              type: 'value',
              name: `${metricLabel(metric)} ${direction === 'minimize' ? '↓' : '↑'}`,
              scale: true,
              ...axisStyle,
              axisLabel: { ...axisStyle.axisLabel, formatter: tick },
              splitLine: { show: false },
            },
          ]
        : []),
    ],
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
