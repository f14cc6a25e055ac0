import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  betterBy,
  directionOf,
  isBetter,
  isRecordedMetric,
  metricKey,
  metricLabel,
  METRIC_NAMES,
  paramLabel,
  paramsReadBy,
  parseMetricKey,
} from '../../../worker/contract/vocabulary.js';

test('metricKey and parseMetricKey: val_/test_ keys round-trip; a training metric has no scope', () => {
  assert.equal(metricKey('val', 'pr_auc'), 'val_pr_auc');
  assert.deepEqual(parseMetricKey('test_pr_auc'), { scope: 'test', name: 'pr_auc' });
  assert.deepEqual(parseMetricKey('loss'), { scope: null, name: 'loss' });
});

test('metricLabel: the scope in words, then the metric label or its name with spaces', () => {
  assert.equal(metricLabel('val_auc'), 'validation AUC');
  assert.equal(metricLabel('test_pr_auc'), 'test PR AUC');
  assert.equal(metricLabel('r2'), 'R²');
  assert.equal(metricLabel('val_cold_rmse'), 'validation cold rmse');
});

test('paramLabel: labelled hyperparameters, unknown names as they are', () => {
  assert.equal(paramLabel('learningRate'), 'learning rate');
  assert.equal(paramLabel('epochs'), 'max epochs');
  assert.equal(paramLabel('somethingNew'), 'somethingNew');
});

test('directionOf: scores maximized, losses and errors minimized, in any scope', () => {
  for (const key of ['auc', 'val_accuracy', 'test_pr_auc', 'val_r2']) assert.equal(directionOf(key), 'maximize', key);
  for (const key of ['loss', 'val_rmse', 'test_mae', 'val_cold_rmse']) assert.equal(directionOf(key), 'minimize', key);
});

test('isBetter and betterBy: which way and by how much', () => {
  assert.ok(isBetter('maximize', 0.9, 0.8));
  assert.ok(isBetter('minimize', 0.1, 0.2));
  assert.ok(!isBetter('minimize', 0.2, 0.2));
  assert.equal(betterBy('maximize', 0.9, 0.5), 0.4);
  assert.equal(betterBy('minimize', 0.5, 0.9), 0.4);
  assert.deepEqual(
    [0.3, 0.1, 0.2].sort((a, b) => betterBy('minimize', b, a)),
    [0.1, 0.2, 0.3],
  );
  assert.deepEqual(
    [0.3, 0.1, 0.2].sort((a, b) => betterBy('maximize', b, a)),
    [0.3, 0.2, 0.1],
  );
});

test('isRecordedMetric and METRIC_NAMES: each task records its own metrics; the names cover every task', () => {
  assert.ok(isRecordedMetric('binary', 'pr_auc'));
  assert.ok(!isRecordedMetric('regression', 'auc'));
  for (const name of ['loss', 'accuracy', 'auc', 'pr_auc', 'rmse', 'mae', 'r2', 'cold_rmse']) assert.ok(METRIC_NAMES.includes(name), name);
});

test('paramsReadBy: a family reads its own hyperparameters; several families, their union in the usual order', () => {
  const mlp = paramsReadBy(['mlp']);
  assert.ok(!mlp.includes('factors') && !mlp.includes('useDotTerm'));
  assert.deepEqual(paramsReadBy(['mf']), ['family', 'optimizer', 'learningRate', 'l2', 'epochs', 'batchSize', 'factors']);
  assert.deepEqual(paramsReadBy(['mlp', 'mf']), [...mlp, 'factors']);
});
