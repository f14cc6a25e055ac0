// Compare page: the runs' curves overlaid, and a switch to show only differing hyperparameters.
import { $, $$, fetchJson, metricKey, pageData } from './lib.js';
import { ChartSlot, PALETTE, aggregate, curveOption, markChartsReady } from './charts.js';

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
  const draw = (element, name, yName, direction) => {
    const slot = new ChartSlot(element);
    const list = entries(name);
    return list.some((e) => e.curve) ? slot.draw(curveOption(list, { yName, direction })) : slot.message('No epochs recorded.');
  };
  await Promise.all([
    draw($('#chart-train'), 'loss', 'loss', 'minimize'),
    draw($('#chart-val-loss'), valLoss, 'val loss', 'minimize'),
    draw($('#chart-val'), valScore, metric, page.direction),
  ]);
  markChartsReady();
}

init().catch((error) => {
  console.error(error);
  markChartsReady();
});
