// ECharts options of the run page's prediction charts (web/views/partials/run-predictions.hbs): ROC and
// precision-recall curves with the folds' band, the reliability diagram, precision/recall/F1 by threshold,
// a confusion-matrix heatmap and a predicted-against-actual scatter. The numbers come computed from the
// server (GET …/runs/:runId/predictions, server/results/run-diagnostics.ts); this file only lays them out.
import { fmt } from './lib.js';
import { FONT, MUTED, PALETTE, axisStyle } from './charts.js';

/** The out-of-fold curves' colour, the test split's, the folds' (faint) and the reference lines'. */
export const OOF = PALETTE[0];
export const TEST = PALETTE[1];
const FOLD = '#9aa3b2';
const REFERENCE = '#adb5bd';
const DARK = '#1b2130';

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const base = () => ({ textStyle: { fontFamily: FONT }, animation: false });

const legend = (data) => ({
  top: 0,
  itemWidth: 14,
  itemHeight: 8,
  itemGap: 12,
  textStyle: { color: MUTED, fontSize: 11 },
  data,
});

/** An axis over [0, 1] with its name in the middle. */
function unitAxis(name, extra = {}) {
  return {
    type: 'value',
    min: 0,
    max: 1,
    interval: 0.2,
    name,
    nameLocation: 'middle',
    nameGap: 26,
    ...axisStyle,
    axisLabel: { ...axisStyle.axisLabel, formatter: (v) => String(Number(v.toFixed(1))) },
    ...extra,
  };
}

const pairs = (xs, ys) => xs.map((x, i) => (ys[i] === null || ys[i] === undefined ? [x, null] : [x, ys[i]]));

/** A filled point with a white ring: the operating threshold on a curve. */
function pointSeries(name, data, color, symbol = 'circle', size = 11) {
  return {
    name,
    type: 'scatter',
    data,
    symbol,
    symbolSize: size,
    color,
    itemStyle: { color, borderColor: '#fff', borderWidth: 2 },
    z: 6,
  };
}

/**
 * ROC or precision-recall curves: each fold faint, the folds' min–max band and mean, the test split,
 * a reference line, and the operating threshold as a point on each curve.
 * @param set {grid, folds, areas, mean, min, max, test, testArea} (CurveSet)
 * @param points {pooled, folds, test} operating points: {fpr, tpr, precision, recall}
 * @param kind 'roc' | 'pr'
 */
export function curvesOption(set, points, { kind, threshold, prevalence = null, testLabel = 'test' }) {
  const roc = kind === 'roc';
  const xy = (point) => (roc ? [point.fpr, point.tpr] : [point.recall, point.precision]);
  const area = roc ? 'AUC' : 'AP';
  const foldsDrawn = set.folds.filter((fold) => fold !== null);
  const meanArea = (() => {
    const areas = set.areas.filter((a) => a !== null);
    return areas.length ? areas.reduce((s, a) => s + a, 0) / areas.length : null;
  })();
  const oofName = `folds' mean (${area} ${fmt.score(meanArea, 3)})`;
  const testName = `${testLabel} (${area} ${fmt.score(set.testArea, 3)})`;
  const thresholdText = `t = ${fmt.score(threshold, 3)}`;
  const oofPoint = `${thresholdText}, out-of-fold`;
  const testPoint = `${thresholdText}, ${testLabel}`;
  const series = [
    {
      name: roc ? 'chance' : 'positive share',
      type: 'line',
      data: roc
        ? [
            [0, 0],
            [1, 1],
          ]
        : [
            [0, prevalence],
            [1, prevalence],
          ],
      symbol: 'none',
      color: REFERENCE,
      lineStyle: { type: roc ? 'dashed' : 'dotted', width: 1, color: REFERENCE },
      silent: true,
      tooltip: { show: false },
      z: 1,
    },
    ...set.folds.flatMap((fold, index) =>
      fold === null
        ? []
        : [
            {
              name: 'each fold',
              id: `fold-${index}`,
              type: 'line',
              data: pairs(set.grid, fold),
              symbol: 'none',
              color: FOLD,
              lineStyle: { width: 1, opacity: 0.55, color: FOLD },
              tooltip: { show: false },
              silent: true,
              z: 2,
            },
          ],
    ),
  ];
  if (foldsDrawn.length > 1) {
    series.push(
      {
        name: 'band-low',
        type: 'line',
        data: pairs(set.grid, set.min),
        stack: 'band',
        stackStrategy: 'all',
        symbol: 'none',
        lineStyle: { opacity: 0 },
        silent: true,
        tooltip: { show: false },
        z: 2,
      },
      {
        name: "folds' min–max",
        type: 'line',
        data: pairs(
          set.grid,
          set.max.map((hi, i) => (hi === null || set.min[i] === null ? null : hi - set.min[i])),
        ),
        stack: 'band',
        stackStrategy: 'all',
        symbol: 'none',
        color: OOF,
        lineStyle: { opacity: 0 },
        areaStyle: { color: OOF, opacity: 0.14 },
        silent: true,
        tooltip: { show: false },
        z: 2,
      },
    );
  }
  series.push({
    name: oofName,
    type: 'line',
    data: pairs(set.grid, set.mean),
    symbol: 'none',
    color: OOF,
    lineStyle: { width: 2.2, color: OOF },
    z: 4,
  });
  if (set.test) {
    series.push({
      name: testName,
      type: 'line',
      data: pairs(set.grid, set.test),
      symbol: 'none',
      color: TEST,
      lineStyle: { width: 2.2, color: TEST },
      z: 4,
    });
  }
  series.push(
    {
      name: 'folds at t',
      type: 'scatter',
      data: points.folds.map(xy),
      symbolSize: 6,
      color: FOLD,
      itemStyle: { color: FOLD, borderColor: '#fff', borderWidth: 1 },
      z: 5,
      tooltip: { formatter: (p) => `fold ${p.dataIndex + 1} at ${thresholdText}` },
    },
    pointSeries(oofPoint, [xy(points.pooled)], OOF),
  );
  if (points.test && set.test) series.push(pointSeries(testPoint, [xy(points.test)], TEST, 'diamond', 13));
  series.push({
    name: 'slider',
    id: 'slider',
    type: 'scatter',
    data: [],
    symbol: 'circle',
    symbolSize: 14,
    itemStyle: { color: 'rgba(0,0,0,0)', borderColor: DARK, borderWidth: 2 },
    z: 7,
    tooltip: { show: false },
  });
  const [xName, yName] = roc ? ['false positive rate', 'true positive rate (recall)'] : ['recall', 'precision'];
  return {
    ...base(),
    grid: { left: 18, right: 14, top: 58, bottom: 34, containLabel: true },
    legend: legend([
      { name: oofName, icon: 'roundRect' },
      ...(set.test ? [{ name: testName, icon: 'roundRect' }] : []),
      { name: 'each fold', icon: 'roundRect' },
      ...(foldsDrawn.length > 1 ? [{ name: "folds' min–max", icon: 'rect', itemStyle: { opacity: 0.25 } }] : []),
      { name: oofPoint, icon: 'circle' },
      ...(points.test && set.test ? [{ name: testPoint, icon: 'diamond' }] : []),
    ]),
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) => {
        const [x, y] = p.value;
        const head = p.seriesName === 'folds at t' ? `fold ${p.dataIndex + 1} at ${thresholdText}` : escapeHtml(p.seriesName);
        return `<b>${head}</b><br>${xName} ${fmt.score(x, 3)} · ${yName} ${fmt.score(y, 3)}`;
      },
    },
    xAxis: unitAxis(xName),
    yAxis: unitAxis(yName, { nameGap: 30 }),
    series,
  };
}

/** Where the slider's threshold sits on a curve chart (a hollow ring on the out-of-fold point), or nowhere. */
export function sliderMark(xy) {
  return { series: [{ id: 'slider', data: xy ? [xy] : [] }] };
}

/**
 * The reliability diagram: each bin's mean predicted probability against the share of its rows that
 * are positive (out-of-fold and, when stored, the test split), the diagonal of perfect calibration,
 * and below it the rows per bin (a log scale when they differ by much).
 */
export function calibrationOption(outOfFold, test, { testLabel = 'test' } = {}) {
  const line = (bins) => bins.filter((b) => b.count > 0).map((b) => [b.meanPredicted, b.observedRate, b.count, b.lower, b.upper]);
  const counts = [...outOfFold, ...(test ?? [])].map((b) => b.count).filter((n) => n > 0);
  const logCounts = counts.length > 0 && Math.max(...counts) / Math.min(...counts) > 30;
  const binLabels = outOfFold.map((b) => `${b.lower.toFixed(1)}–${b.upper.toFixed(1)}`);
  const countAxis = {
    type: logCounts ? 'log' : 'value',
    gridIndex: 1,
    name: logCounts ? 'rows (log)' : 'rows',
    nameLocation: 'middle',
    nameGap: 36,
    ...axisStyle,
    axisLabel: { ...axisStyle.axisLabel, formatter: fmt.compact },
    splitNumber: 2,
    // ECharts rounds a log axis's extent to whole steps of splitNumber decades (it drew 1 to 1e10): pin it to the counts'.
    ...(logCounts ? { min: 1, max: 10 ** Math.ceil(Math.log10(Math.max(...counts))) } : {}),
  };
  const bars = (bins, name, color) => ({
    name,
    type: 'bar',
    xAxisIndex: 1,
    yAxisIndex: 1,
    data: bins.map((b) => (b.count > 0 ? b.count : null)),
    color,
    itemStyle: { color, opacity: 0.55 },
    barGap: '10%',
    barCategoryGap: '30%',
  });
  const tooltip = (p) => {
    if (p.seriesType === 'bar') return `<b>${escapeHtml(p.seriesName)}</b> · p in ${binLabels[p.dataIndex]}: ${fmt.int(p.value)} rows`;
    const [mean, rate, count, lower, upper] = p.value;
    return (
      `<b>${escapeHtml(p.seriesName)}</b> · p in ${lower.toFixed(1)}–${upper.toFixed(1)}<br>` +
      `mean predicted ${fmt.score(mean, 3)} · positive ${fmt.score(rate, 3)} · ${fmt.int(count)} rows`
    );
  };
  return {
    ...base(),
    legend: legend(['out-of-fold', ...(test ? [testLabel] : [])]),
    // Both grids at the same left edge (no containLabel), so that each bin's bar sits under its stretch of probability.
    grid: [
      { left: 56, right: 14, top: 34, height: '52%' },
      { left: 56, right: 14, bottom: 42, height: '18%' },
    ],
    tooltip: { trigger: 'item', confine: true, formatter: tooltip },
    xAxis: [
      unitAxis('predicted probability', { gridIndex: 0, nameGap: 22, axisLabel: { show: false }, name: '' }),
      {
        type: 'category',
        gridIndex: 1,
        data: binLabels,
        name: 'predicted probability',
        nameLocation: 'middle',
        nameGap: 24,
        ...axisStyle,
        axisLabel: { ...axisStyle.axisLabel, fontSize: 10, interval: 0 },
      },
    ],
    yAxis: [unitAxis('share positive', { gridIndex: 0, nameGap: 30 }), countAxis],
    series: [
      {
        name: 'perfectly calibrated',
        type: 'line',
        data: [
          [0, 0],
          [1, 1],
        ],
        symbol: 'none',
        lineStyle: { type: 'dashed', width: 1, color: REFERENCE },
        silent: true,
        tooltip: { show: false },
      },
      { name: 'out-of-fold', type: 'line', data: line(outOfFold), symbolSize: 8, color: OOF, lineStyle: { width: 2 }, z: 4 },
      ...(test ? [{ name: testLabel, type: 'line', data: line(test), symbolSize: 8, symbol: 'diamond', color: TEST, z: 4 }] : []),
      bars(outOfFold, 'out-of-fold', OOF),
      ...(test ? [bars(test, testLabel, TEST)] : []),
    ],
  };
}

/** Precision, recall and F1 of the pooled out-of-fold rows by threshold, the slider's position and the operating threshold marked. */
export function thresholdOption(rows, { operating, current }) {
  const line = (key, color, name) => ({
    name,
    type: 'line',
    data: rows.map((row) => [row.threshold, row[key]]),
    symbol: 'none',
    color,
    lineStyle: { width: 1.8, color },
  });
  const lo = rows[0]?.threshold ?? 0;
  const hi = rows.at(-1)?.threshold ?? 1;
  return {
    ...base(),
    legend: { ...legend(['precision', 'recall', 'F1']), right: 14 },
    grid: { left: 12, right: 14, top: 30, bottom: 30, containLabel: true },
    tooltip: {
      trigger: 'axis',
      confine: true,
      formatter: (params) =>
        `<b>t = ${fmt.score(params[0]?.value[0], 3)}</b><br>` +
        params.map((p) => `${escapeHtml(p.seriesName)} ${fmt.score(p.value[1], 3)}`).join('<br>'),
    },
    xAxis: {
      type: 'value',
      min: Math.max(0, Math.floor(lo * 10) / 10),
      max: Math.min(1, Math.ceil(hi * 10) / 10),
      name: 'threshold',
      nameLocation: 'middle',
      nameGap: 22,
      ...axisStyle,
    },
    yAxis: { type: 'value', min: 0, max: 1, interval: 0.5, ...axisStyle },
    series: [
      {
        ...line('precision', PALETTE[0], 'precision'),
        markLine: {
          silent: true,
          symbol: 'none',
          animation: false,
          data: [
            { xAxis: operating, lineStyle: { color: MUTED, type: 'dashed', width: 1 }, label: { formatter: 'operating', color: MUTED } },
            { xAxis: current, lineStyle: { color: DARK, width: 1.5, type: 'solid' }, label: { show: false } },
          ],
        },
      },
      line('recall', PALETTE[2], 'recall'),
      line('f1', PALETTE[6], 'F1'),
    ],
  };
}

/**
 * A confusion matrix as a heatmap: actual classes down, predicted across, each cell its count and
 * coloured by its share of the actual class's rows (so a small class reads as well as a large one).
 */
export function confusionOption(classes, counts) {
  const cells = [];
  counts.forEach((row, actual) => {
    const total = row.reduce((s, n) => s + n, 0);
    row.forEach((n, predicted) => {
      cells.push([predicted, actual, total === 0 ? 0 : n / total, n, total]);
    });
  });
  const label = (v) => (v.length > 14 ? `${v.slice(0, 13)}…` : v);
  return {
    ...base(),
    grid: { left: 12, right: 14, top: 24, bottom: 40, containLabel: true },
    tooltip: {
      confine: true,
      formatter: (p) => {
        const [predicted, actual, share, n, total] = p.value;
        const cell = `actual <b>${escapeHtml(classes[actual])}</b>, predicted <b>${escapeHtml(classes[predicted])}</b>`;
        return `${cell}<br>${fmt.int(n)} of ${fmt.int(total)} rows (${(share * 100).toFixed(1)} %)`;
      },
    },
    xAxis: {
      type: 'category',
      data: classes,
      name: 'predicted class',
      nameLocation: 'middle',
      nameGap: 26,
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, interval: 0, formatter: label },
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      data: classes,
      inverse: true,
      // Above the rows' labels (an inverted axis starts at the top).
      name: 'actual ↓',
      nameLocation: 'start',
      nameGap: 8,
      nameTextStyle: { ...axisStyle.nameTextStyle, align: 'right' },
      ...axisStyle,
      axisLabel: { ...axisStyle.axisLabel, interval: 0, formatter: label },
    },
    visualMap: {
      show: false,
      min: 0,
      max: 1,
      dimension: 2,
      inRange: { color: ['#f4f6fb', '#c5cff5', '#3451d1'] },
    },
    series: [
      {
        type: 'heatmap',
        data: cells,
        // White on the dark cells, dark on the light ones.
        label: {
          show: true,
          formatter: (p) => `{${p.value[2] > 0.55 ? 'light' : 'dark'}|${fmt.int(p.value[3])}}`,
          rich: { light: { color: '#fff', fontSize: 12, fontWeight: 600 }, dark: { color: DARK, fontSize: 12 } },
        },
        itemStyle: { borderColor: '#fff', borderWidth: 2 },
        emphasis: { itemStyle: { borderColor: DARK, borderWidth: 1 } },
      },
    ],
  };
}

/** Predicted against actual values (a sample of at most 2,000 rows), the line predicted = actual, on axes shared by `range`. */
export function scatterOption(points, { color, name, range }) {
  const data = points.actual.map((a, i) => [a, points.predicted[i]]);
  const axis = (axisName) => ({
    type: 'value',
    min: range.min,
    max: range.max,
    interval: range.step,
    name: axisName,
    nameLocation: 'middle',
    nameGap: 26,
    ...axisStyle,
    axisLabel: { ...axisStyle.axisLabel, formatter: (v) => String(Number(v.toPrecision(3))) },
  });
  const shown = points.total > data.length ? `${name} (${fmt.int(data.length)} of ${fmt.int(points.total)} rows)` : name;
  return {
    ...base(),
    legend: { ...legend([shown]), right: 14, left: 'auto' },
    grid: { left: 12, right: 14, top: 40, bottom: 34, containLabel: true },
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) => `actual ${fmt.score(p.value[0], 3)} · predicted ${fmt.score(p.value[1], 3)}`,
    },
    xAxis: axis('actual'),
    // The y name above its axis: label widths vary with the target's units.
    yAxis: { ...axis('predicted'), nameLocation: 'end', nameGap: 10, nameTextStyle: { ...axisStyle.nameTextStyle, align: 'left' } },
    series: [
      {
        name: 'predicted = actual',
        type: 'line',
        data: [
          [range.min, range.min],
          [range.max, range.max],
        ],
        symbol: 'none',
        lineStyle: { type: 'dashed', width: 1, color: DARK },
        silent: true,
        tooltip: { show: false },
        z: 3,
      },
      {
        name: shown,
        type: 'scatter',
        data,
        symbolSize: data.length > 500 ? 4 : 6,
        color,
        itemStyle: { opacity: data.length > 500 ? 0.45 : 0.7 },
        large: data.length > 1500,
        z: 2,
      },
    ],
  };
}

/**
 * One range for every scatter of a page, so that the charts read side by side: the values' span
 * rounded out to a round step (1, 2 or 5 times a power of ten, about 6 ticks), and that step.
 */
export function scatterRange(...sets) {
  const values = sets.filter(Boolean).flatMap((s) => [...s.actual, ...s.predicted]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const power = 10 ** Math.floor(Math.log10(span / 6));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => span / candidate <= 7);
  const round = (v) => Number(v.toPrecision(12));
  return { min: round(Math.floor(lo / step) * step), max: round(Math.ceil(hi / step) * step), step };
}
