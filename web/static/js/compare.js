// Compare page: the runs' curves overlaid, and a switch to show only differing hyperparameters.
import { $, $$, fetchJson, pageData } from './lib.js';
import { ChartSlot, PALETTE, aggregate, curveOption, markChartsReady } from './charts.js';

const page = pageData();
const { experimentId, runIds, metric } = page;
const higherBetter = page.direction !== 'minimize';
const colorOf = (runId) => PALETTE[runIds.indexOf(runId) % PALETTE.length];

for (const swatch of $$('.swatch[data-run-id]')) swatch.style.background = colorOf(Number(swatch.dataset.runId));

$('#only-diff').addEventListener('change', (event) => {
  $('#compare-table').classList.toggle('only-diff', event.target.checked);
});

async function init() {
  const names = ['loss', 'val_loss', `val_${metric}`];
  const data = await fetchJson(`/api/experiments/${experimentId}/curves?runs=${runIds.join(',')}&names=${[...new Set(names)].join(',')}`);
  const byId = new Map(data.runs.map((run) => [run.runId, run]));
  const entries = (name) =>
    runIds.map((runId) => {
      const run = byId.get(runId);
      const curve = run?.metrics[name];
      return { runId, color: colorOf(runId), nFolds: run?.nFolds ?? 1, curve: curve ? aggregate(curve.folds) : undefined };
    });
  const draw = (element, name, yName, better) => {
    const slot = new ChartSlot(element);
    const list = entries(name);
    return list.some((e) => e.curve) ? slot.draw(curveOption(list, { yName, higherBetter: better })) : slot.message('No epochs recorded.');
  };
  await Promise.all([
    draw($('#chart-train'), 'loss', 'loss', false),
    draw($('#chart-val-loss'), 'val_loss', 'val loss', false),
    draw($('#chart-val'), `val_${metric}`, metric, higherBetter),
  ]);
  markChartsReady();
}

init().catch((error) => {
  console.error(error);
  markChartsReady();
});
