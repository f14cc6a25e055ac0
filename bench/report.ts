import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

const BENCHMARKS = new URL('../BENCHMARKS.md', import.meta.url);

/** Median of a list of numbers (the figure quoted everywhere: the machine is shared and noisy). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One line describing the machine and the date, for the top of each section. */
export function machineLine(): string {
  return (
    `${new Date().toISOString().slice(0, 10)} · ${cpus()[0]?.model ?? 'unknown CPU'} · ${availableParallelism()} ` +
    `cores · ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version}`
  );
}

/**
 * Replaces the section `name` of BENCHMARKS.md (between `<!-- bench:name -->` markers) with
 * `markdown`, appending it when new, so each benchmark script owns its section only.
 */
export function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const current = existsSync(BENCHMARKS)
    ? readFileSync(BENCHMARKS, 'utf8')
    : '# Benchmarks\n\nWritten by `npm run bench`; each section by its own script in `bench/`.\n';
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const next =
    start >= 0 && stop > start ? current.slice(0, start) + block + current.slice(stop + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS, next);
}
