import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMeanStd, formatSpread } from '../../../server/cli/format.js';

test('a score over several folds shows its spread; over one split (a holdout) just the score', () => {
  assert.equal(formatMeanStd(0.91844, 0.004, 5), '0.9184 ± 0.0040');
  assert.equal(formatMeanStd(0.91844, 0, 1), '0.9184', 'a holdout: no "± 0.0000"');
  assert.equal(formatMeanStd(0.91844, null), '0.9184', 'no std (a single fold): no spread');
  assert.equal(formatMeanStd(0.91844, 0.004), '0.9184 ± 0.0040', 'count unknown: the std decides');
  assert.equal(formatMeanStd(null, 0.004, 5), '—');
  assert.equal(formatSpread(0.004, 3), '± 0.0040');
  assert.equal(formatSpread(0, 1), '');
  assert.equal(formatSpread(Number.NaN, 3), '');
});
