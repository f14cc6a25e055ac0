/**
 * The search benchmark's test AUC over several data sets: issue 14 asks that early stopping + fold
 * cutting score a test ROC AUC ≥ GridSearchCV's − 0.005. bench/search.ts measures it on one test
 * split of 4,000 rows with about 120 positives, where one split moves the AUC by about ±0.01; so
 * here each seed generates its own fraud data set and cuts its own splits (as bench/threshold.ts
 * does), and the verdict, fixed before the first run, is on the median over the seeds of the paired
 * differences foldwise − GridSearchCV.
 *
 *   node --import tsx bench/search-seeds.ts [--seeds 42,43,44,45,46] [--report-only]
 *
 * Per seed: bench/out/search-fraud-SEED.csv, GridSearchCV(MLPClassifier) trained in full on the
 * grid of bench/search.ts (search_sklearn.py, 2 jobs), then foldwise's full-training and early
 * stopping + fold cutting searches of bench/search.ts on the same file (2 workers). Writes the
 * `search-seeds` section of BENCHMARKS.md and bench/out/search-seeds.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { python, runJson } from './baselines.js';
import { exportFraud } from './export-fraud.js';
import { machineLine, median, writeSection } from './report.js';
import { fmt, plainVariant, runSearch, smartVariant, type Baseline, type Measured } from './search.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('./out', import.meta.url));
const JSON_PATH = join(OUT, 'search-seeds.json');
const WORKERS = 2;
/** Issue 14's margin: foldwise's test AUC may fall short of GridSearchCV's by at most this. */
const MARGIN = 0.005;

type SeedResult = {
  readonly seed: number;
  readonly load: number;
  readonly sklearn: Baseline;
  readonly plain: Measured;
  readonly smart: Measured;
};

function parseArgs(argv: readonly string[]): { seeds: number[]; reportOnly: boolean } {
  const options = { seeds: [42, 43, 44, 45, 46], reportOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--report-only') options.reportOnly = true;
    else if (flag === '--seeds' && value !== undefined && /^\d+(,\d+)*$/.test(value)) {
      options.seeds = value.split(',').map(Number);
      i++;
    } else {
      process.stderr.write(`usage: search-seeds.ts [--seeds 42,43,...] [--report-only] (bad argument: ${flag})\n`);
      process.exit(2);
    }
  }
  return options;
}

/** A difference of AUCs, to 4 places (they are computed from the unrounded AUCs). */
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(4)}`;

async function runSeed(seed: number): Promise<SeedResult> {
  const load = loadavg()[0]!;
  const csv = join(OUT, `search-fraud-${seed}.csv`);
  await exportFraud({ out: csv, seed });
  const data = { csv, seed };
  const args = ['--csv', relative(ROOT, csv), '--seed', String(seed), '--n-jobs', String(WORKERS), '--variants', 'full'];
  const sklearn = (await runJson<{ full: Baseline }>(python('search_sklearn.py', ...args))).value.full;
  const plain = runSearch(plainVariant(data), WORKERS, `seed${seed}`);
  const smart = runSearch(smartVariant(data), WORKERS, `seed${seed}`);
  process.stderr.write(
    `seed ${seed}: test AUC GridSearchCV ${fmt(sklearn.test_auc)}, foldwise full ${fmt(plain.testAuc)}, ` +
      `early stopping + fold cutting ${fmt(smart.testAuc)}\n`,
  );
  return { seed, load, sklearn, plain, smart };
}

function markdown(results: readonly SeedResult[]): string {
  const difference = (r: SeedResult, m: Measured) => (m.testAuc ?? Number.NaN) - r.sklearn.test_auc;
  const smartDiffs = results.map((r) => difference(r, r.smart));
  const plainDiffs = results.map((r) => difference(r, r.plain));
  const rows = results.map(
    (r) =>
      `| ${r.seed} | ${fmt(r.sklearn.test_auc)} (${fmt(r.sklearn.best_cv_auc)}) | ${fmt(r.plain.testAuc)} (${fmt(r.plain.bestCvAuc)}) | ` +
      `${fmt(r.smart.testAuc)} (${fmt(r.smart.bestCvAuc)}) | ${signed(difference(r, r.smart))} | ${r.smart.bestParams} | ` +
      `${(r.smart.wallS / r.sklearn.wall_s).toFixed(2)}× | ${r.load.toFixed(2)} |`,
  );
  const verdict = median(smartDiffs) >= -MARGIN ? 'met' : 'not met';
  return `## Search benchmark's test AUC over ${results.length} data sets (issue 14)

${machineLine()} · \`node --import tsx bench/search-seeds.ts --seeds ${results.map((r) => r.seed).join(',')}\`

Each seed generates its own fraud data set (20,000 × 30, 3 % positives) and cuts its own 20 % test split (about 120
positives) and folds; on each, GridSearchCV(MLPClassifier) trained in full and foldwise's searches of bench/search.ts (the
same grid, 2 jobs / 2 workers). Test ROC AUC of the refit winner, its CV AUC in brackets. "ES + fold cut wall" is foldwise's
whole command over GridSearchCV's \`fit\`.

| seed | GridSearchCV | foldwise, full training | foldwise, early stopping + fold cutting | ES + fold cut − GridSearchCV | \
its winner | ES + fold cut wall | load |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Median of the paired differences in test AUC, foldwise − GridSearchCV: early stopping + fold cutting
**${signed(median(smartDiffs))}** (per seed ${smartDiffs.map(signed).join(', ')}), full training ${signed(median(plainDiffs))}.
Target (issue 14; the verdict, fixed before the first run, is on the median of the paired differences): ≥ −${MARGIN}:
**${verdict}**. Medians of the test AUCs themselves: GridSearchCV ${fmt(median(results.map((r) => r.sklearn.test_auc)))},
foldwise full training ${fmt(median(results.map((r) => r.plain.testAuc ?? Number.NaN)))}, early stopping + fold cutting
${fmt(median(results.map((r) => r.smart.testAuc ?? Number.NaN)))}.`;
}

const { seeds, reportOnly } = parseArgs(process.argv.slice(2));
mkdirSync(OUT, { recursive: true });
const results: SeedResult[] = reportOnly ? (JSON.parse(readFileSync(JSON_PATH, 'utf8')) as { results: SeedResult[] }).results : [];
for (const seed of reportOnly ? [] : seeds) results.push(await runSeed(seed));
if (!reportOnly) writeFileSync(JSON_PATH, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
writeSection('search-seeds', markdown(results));
