/**
 * `npm run bench`: every benchmark, in an order where later ones can compare with earlier ones
 * measured in the same session (the search benchmark reads the Python baselines' JSON). Each
 * script writes its own section of BENCHMARKS.md. Pass names to run only some:
 * `npm run bench -- engine search`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPTS = [
  'baselines',
  'engine',
  'engine-products',
  'recsys',
  'search',
  'search-seeds',
  'threshold',
  'dashboard',
  'live-feed',
] as const;

const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(SCRIPTS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; expected some of ${SCRIPTS.join(', ')}`);
  process.exit(2);
}

for (const name of chosen.length > 0 ? chosen : SCRIPTS) {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  console.error(`\n== bench/${name}.ts`);
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  console.error(`== bench/${name}.ts finished in ${((Date.now() - started) / 1000).toFixed(0)} s (exit ${result.status})`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}
