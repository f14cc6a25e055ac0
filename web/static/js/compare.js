// Compare page: the runs' curves overlaid, and a switch to show only differing hyperparameters.
import { $, $$, fetchJson, metricKey, pageData } from './lib.js';
import { ChartSlot, PALETTE, aggregate, curveOption, linkRunHover, markChartsReady, sharedRange } from './charts.js';

const page = pageData();
const { experimentId, runIds, metric } = page;
const colorOf = (runId) => PALETTE[runIds.indexOf(runId) % PALETTE.length];

for (const swatch of $$('.swatch[data-run-id]')) swatch.style.background = colorOf(Number(swatch.dataset.runId));

$('#only-diff').addEventListener('change', (event) => {
  $('#compare-table').classList.toggle('only-diff', event.target.checked);
});

async function init() {
  const valLoss = metricKey('val', 'loss');
  const valScore = metricKey('val', metric);
  const names = ['loss', valLoss, valScore];
  const data = await fetchJson(`/api/experiments/${experimentId}/curves?runs=${runIds.join(',')}&names=${[...new Set(names)].join(',')}`);
  const byId = new Map(data.runs.map((run) => [run.runId, run]));
  const entries = (name) =>
    runIds.map((runId) => {
      const run = byId.get(runId);
      const curve = run?.metrics[name];
      return {
        runId,
        number: run?.number,
        color: colorOf(runId),
        nFolds: run?.nFolds ?? 1,
        curve: curve ? aggregate(curve.folds) : undefined,
      };
    });
  // Training and validation loss on one scale; the three charts move together (epoch, legend, the run hovered).
  const lossRange = sharedRange(entries('loss'), entries(valLoss));
  const slots = [];
  const charts = () => slots.map((slot) => slot.chart).filter(Boolean);
  const draw = (element, name, yName, direction, yRange = null) => {
    const slot = new ChartSlot(element);
    slot.onCreate = (chart) => {
      chart.group = 'compare-curves';
      echarts.connect('compare-curves');
      linkRunHover(chart, charts);
    };
    slots.push(slot);
    const list = entries(name);
    return list.some((e) => e.curve) ? slot.draw(curveOption(list, { yName, direction, yRange })) : slot.message('No epochs recorded.');
  };
  await Promise.all([
    draw($('#chart-train'), 'loss', 'loss', 'minimize', lossRange),
    draw($('#chart-val-loss'), valLoss, 'val loss', 'minimize', lossRange),
    draw($('#chart-val'), valScore, metric, page.direction),
  ]);
  markChartsReady();
}

init().catch((error) => {
  console.error(error);
  markChartsReady();
});
