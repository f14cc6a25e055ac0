// The run page's prediction charts (web/views/partials/run-predictions.hbs): binary ROC and PR curves with
// the folds' band and the test split, the reliability diagram and the threshold slider; the multiclass
// confusion matrices; the regression scatters. Data: GET /api/experiments/:id/runs/:runId/predictions.
// The slider moves over the server's precomputed stops (counts at a few hundred thresholds): no rows here.
import { $, fetchJson, fmt } from './lib.js';
import { ChartSlot } from './charts.js';
import {
  OOF,
  TEST,
  calibrationOption,
  confusionOption,
  curvesOption,
  scatterOption,
  scatterRange,
  sliderMark,
  thresholdOption,
} from './prediction-charts.js';

const card = $('#predictions-card');
const slotOf = (id) => {
  const element = document.getElementById(id);
  return element ? new ChartSlot(element) : null;
};
const slots = Object.fromEntries(
  ['roc', 'pr', 'calibration', 'threshold', 'confusion', 'confusion-test', 'scatter', 'scatter-test'].map((name) => [
    name,
    slotOf(`chart-${name}`),
  ]),
);
const state = { data: null, stop: 0 };

function setMessage(text) {
  const message = $('#predictions-message');
  message.textContent = text ?? '';
  message.hidden = !text;
}

function testLabel(data) {
  return data.test ? `test, refit #${data.test.refitRunNumber}` : 'test';
}

/** What the caption adds: folds missing predictions, and why the test split is not drawn. */
function provenanceNote(data) {
  const parts = [];
  if (data.foldsDrawn < data.nFolds) parts.push(`${data.foldsDrawn} of ${data.nFolds} folds have predictions so far.`);
  if (data.testNote) parts.push(`Test split not drawn: ${data.testNote}.`);
  else if (data.test) parts.push(`Test split: ${fmt.int(data.test.rows)} rows, scored once by refit #${data.test.refitRunNumber}.`);
  return parts.join(' ');
}

/** Nothing to draw: the message alone, without empty chart frames. */
function drawEmpty(text) {
  setMessage(text);
  $('#predictions-body').hidden = true;
}

// ── binary ───────────────────────────────────────────

function showStop(index) {
  const { data } = state;
  const rows = data.slider.rows;
  state.stop = Math.max(0, Math.min(rows.length - 1, index));
  const row = rows[state.stop];
  const slider = $('#threshold-slider');
  slider.value = String(state.stop);
  slider.setAttribute('aria-valuetext', `threshold ${fmt.score(row.threshold, 4)}`);
  $('#threshold-value').textContent = fmt.score(row.threshold, 4);
  $('#threshold-precision').textContent = fmt.score(row.precision, 3);
  $('#threshold-recall').textContent = fmt.score(row.recall, 3);
  $('#threshold-f1').textContent = fmt.score(row.f1, 3);
  for (const key of ['tp', 'fp', 'tn', 'fn']) $(`#threshold-${key}`).textContent = fmt.int(row[key]);
  $('#threshold-reset').disabled = state.stop === data.slider.start;
  const negatives = row.fp + row.tn;
  const fpr = negatives === 0 ? 0 : row.fp / negatives;
  slots.roc?.chart?.setOption(sliderMark([fpr, row.recall]));
  slots.pr?.chart?.setOption(sliderMark(row.tp + row.fp > 0 ? [row.recall, row.precision] : null));
  slots.threshold?.chart?.setOption(thresholdOption(rows, { operating: data.threshold.value, current: row.threshold }), {
    replaceMerge: ['series'],
  });
}

function drawBinary(data) {
  for (const element of card.querySelectorAll('.class-positive')) element.textContent = data.positiveClass;
  for (const element of card.querySelectorAll('.class-negative')) element.textContent = data.negativeClass;
  $('#threshold-note').textContent =
    `Operating threshold ${fmt.score(data.threshold.value, 4)}: ${data.threshold.label}. ` +
    `Precision and recall are about "${data.positiveClass}". Moving the slider changes nothing recorded.`;
  const label = testLabel(data);
  const drawn = [
    slots.roc.draw(curvesOption(data.roc, data.points, { kind: 'roc', threshold: data.threshold.value, testLabel: label })),
    slots.pr.draw(
      curvesOption(data.pr, data.points, { kind: 'pr', threshold: data.threshold.value, prevalence: data.pr.prevalence, testLabel: label }),
    ),
    slots.calibration.draw(calibrationOption(data.calibration.outOfFold, data.calibration.test, { testLabel: label })),
  ];
  const slider = $('#threshold-slider');
  if (!data.slider) {
    slider.disabled = true;
    drawn.push(slots.threshold.message('The pooled out-of-fold rows have one class only: no threshold separates them.'));
    return Promise.all(drawn);
  }
  slider.max = String(data.slider.rows.length - 1);
  slider.disabled = false;
  drawn.push(
    slots.threshold.draw(
      thresholdOption(data.slider.rows, { operating: data.threshold.value, current: data.slider.rows[data.slider.start].threshold }),
    ),
  );
  return Promise.all(drawn).then(() => showStop(data.slider.start));
}

// ── multiclass, regression ───────────────────────────

function drawMulticlass(data) {
  return Promise.all([
    slots.confusion.draw(confusionOption(data.classes, data.outOfFold)),
    data.testCounts
      ? slots['confusion-test'].draw(confusionOption(data.classes, data.testCounts))
      : slots['confusion-test'].message(`No test split to show: ${data.testNote}.`),
  ]);
}

function drawRegression(data) {
  const range = scatterRange(data.outOfFold, data.testPoints);
  return Promise.all([
    slots.scatter.draw(scatterOption(data.outOfFold, { color: OOF, name: 'out-of-fold', range })),
    data.testPoints
      ? slots['scatter-test'].draw(scatterOption(data.testPoints, { color: TEST, name: testLabel(data), range }))
      : slots['scatter-test'].message(`No test split to show: ${data.testNote}.`),
  ]);
}

/** Fetches the run's prediction views and draws them; resolves when every chart has rendered. */
export async function drawPredictions(experimentId, runId) {
  if (!card) return;
  const data = await fetchJson(`/api/experiments/${experimentId}/runs/${runId}/predictions`);
  state.data = data;
  if (data.kind === 'none') return drawEmpty(data.message);
  $('#predictions-body').hidden = false;
  setMessage(provenanceNote(data));
  if (data.kind === 'binary') return drawBinary(data);
  if (data.kind === 'multiclass') return drawMulticlass(data);
  return drawRegression(data);
}

if (card) {
  const slider = $('#threshold-slider');
  slider?.addEventListener('input', () => showStop(Number(slider.value)));
  $('#threshold-reset')?.addEventListener('click', () => showStop(state.data.slider.start));
}
