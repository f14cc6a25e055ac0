import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nestedEstimate } from '../../../server/selection/nested-estimate.js';
import { selectionOf } from '../../../server/selection/selection.js';
import { formatMeanStd, formatScore } from '../../../server/cli/format.js';
import type { TestDashboard } from '../../helpers/dashboard-server.js';
import { startGlanceDashboard } from '../../helpers/glance-dashboard.js';
import type { SeededExperiment } from '../../helpers/seed-db.js';

let dash: TestDashboard;
let seeded: SeededExperiment;
let nestedId: number;

before(async () => {
  ({ dash, seeded, nestedId } = await startGlanceDashboard(20));
});
after(() => dash.close());

const html = async (path: string) => {
  const response = await fetch(dash.url + path);
  assert.equal(response.status, 200, path);
  return response.text();
};

/** The glance block of the experiment page, tags stripped and spaces collapsed. */
async function glanceText(experimentId: number): Promise<{ html: string; text: string }> {
  const page = await html(`/experiments/${experimentId}`);
  const block = /<div class="estimate-glance" id="estimate-glance">[\s\S]*?\n<\/div>/.exec(page)?.[0] ?? '';
  return {
    html: block,
    text: block
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  };
}

test('experiment page at a glance: the tied group by run number with a compare link, the estimate beside the test score', async () => {
  const experiment = dash.storage.experiments.get(seeded.experimentId);
  const selection = selectionOf(experiment, dash.storage.runs);
  const tied = selection.ranked.filter((run) => selection.comparisons.get(run.runId)?.tied === true);
  assert.ok(tied.length >= 2, `${tied.length} tied`);
  const { html: block, text } = await glanceText(seeded.experimentId);
  assert.match(text, new RegExp(`Tied with the best ${tied.length} of ${selection.ranked.length}`));
  const listed = tied.slice(0, 12);
  for (const run of listed) assert.ok(block.includes(`/runs/${run.runId}">#${run.number}</a>`), `#${run.number} linked`);
  assert.ok(block.includes(`/compare?runs=${listed.map((run) => run.runId).join(',')}`), 'a compare link of the tied runs');
  // The seeded refit scores the best's estimate − 0.01 on the test split.
  const selected = selection.selected!;
  const [model] = dash.storage.models.ofExperiment(seeded.experimentId);
  const test = model!.testMetrics.test_auc!;
  assert.match(
    text,
    new RegExp(
      `Estimate → test ${formatScore(selected.scoreMean)} → ${formatScore(test)} the estimate looked ${formatScore(
        selected.scoreMean! - test,
      )} better than the test split \\(#${selected.number} and its refit`,
    ),
  );
  assert.doesNotMatch(text, /Nested CV/, 'not a nested experiment');
});

test('experiment page at a glance, nested CV: the outer estimate beside the inner score, as show computes it', async () => {
  const estimate = nestedEstimate(dash.storage, dash.storage.experiments.get(nestedId))!;
  assert.equal(estimate.scored, 3);
  const { text } = await glanceText(nestedId);
  const outer = formatMeanStd(estimate.outerMean, estimate.outerStd, 3);
  const inner = formatMeanStd(estimate.innerMean, estimate.innerStd, 3);
  assert.ok(
    text.includes(
      `Nested CV ${outer} the whole procedure, scored on 3 outer folds of 3; the inner CV score of what each chose ${inner}; ` +
        `optimism ${formatScore(estimate.optimism)}`,
    ),
    text,
  );
  assert.match(text, /Refit the selected configuration to see its one test score beside its estimate/);
});
