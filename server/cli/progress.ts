import cliProgress from 'cli-progress';
import type { EpochMetrics } from '../../worker/contract/protocol.js';
import type { CoordinatorEventBus, SearchProgress } from '../coordinator/events.js';
import { formatScore } from './format.js';

/** A progress display: fed each new state, stopped once at the end. */
export type ProgressDisplay<State> = { update(state: State): void; stop(): void };

/** How often a log (standard error not a terminal) gets a progress line, at most. */
export const LOG_PROGRESS_INTERVAL_MS = 5000;

/**
 * Progress as plain lines for a log: the first state at once, then at most one line per
 * `intervalMs` and only when the state changed (a clock ticking alone is no news), and the last
 * state at `finish()` if it was not printed yet. A terminal gets a redrawn bar instead.
 */
export class ThrottledLines {
  #lastKey: string | null = null;
  #lastAt = Number.NEGATIVE_INFINITY;
  #pending: { readonly key: string; readonly line: string } | null = null;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = LOG_PROGRESS_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `key` is what must change for the line to be news; `line` is what is printed. */
  offer(key: string, line: string): void {
    if (key === this.#lastKey) return;
    this.#pending = { key, line };
    if (this.now() - this.#lastAt >= this.intervalMs) this.#printPending();
  }

  finish(): void {
    this.#printPending();
  }

  #printPending(): void {
    if (this.#pending === null) return;
    this.write(`${this.#pending.line}\n`);
    this.#lastKey = this.#pending.key;
    this.#lastAt = this.now();
    this.#pending = null;
  }
}

/** Bars drawing now: a line printed meanwhile must stop them first (see stopProgressDisplays). */
const drawing = new Set<{ stop(): void }>();

/**
 * Stops every bar drawing on the terminal (a last frame, then a newline), so that a line printed
 * next — Ctrl-C's — is not overwritten: a running bar redraws from the position it saved when it started.
 */
export function stopProgressDisplays(): void {
  for (const display of [...drawing]) display.stop();
}

/** One frame of a progress display: the bar's position and total, its text fields, and what makes it news in a log. */
type Frame = { readonly value: number; readonly total: number; readonly fields: Record<string, string>; readonly key: string };

/**
 * A redrawn cli-progress bar on a terminal; `ThrottledLines` of the same text elsewhere (a log
 * must not get a line per update, nor the same line every few seconds).
 */
function createDisplay<State>(
  format: string,
  frameOf: (state: State) => Frame,
  stream: NodeJS.WriteStream,
  options: { readonly intervalMs?: number; readonly now?: () => number } = {},
): ProgressDisplay<State> {
  if (!stream.isTTY) {
    const lines = new ThrottledLines((line) => stream.write(line), options.intervalMs, options.now);
    const plain = format.replace('|{bar}| ', '');
    const render = (frame: Frame) =>
      plain.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === 'value' ? String(frame.value) : name === 'total' ? String(frame.total) : (frame.fields[name] ?? ''),
      );
    return {
      update: (state) => {
        const frame = frameOf(state);
        lines.offer(frame.key, render(frame));
      },
      stop: () => lines.finish(),
    };
  }
  const bar = new cliProgress.SingleBar({ format, barsize: 24, hideCursor: true, stream }, cliProgress.Presets.shades_classic);
  let started = false;
  const display: ProgressDisplay<State> = {
    update(state) {
      const frame = frameOf(state);
      // Once stopped, a bar stays stopped (cli-progress ignores updates then): it never redraws over later lines.
      if (!started) {
        bar.start(frame.total, frame.value, frame.fields);
        drawing.add(display);
      } else bar.update(frame.value, frame.fields);
      started = true;
    },
    stop() {
      drawing.delete(display);
      if (started) bar.stop();
    },
  };
  return display;
}

/**
 * Progress of a search: tasks done/total, elapsed, ETA, the best finished run and, apart from it,
 * the leading unfinished run by its mean over the folds it has finished (folds train in waves).
 */
export function createSearchProgressBar(
  metric: string,
  stream: NodeJS.WriteStream = process.stderr,
  options: { readonly intervalMs?: number; readonly now?: () => number } = {},
): ProgressDisplay<SearchProgress> {
  return createDisplay<SearchProgress>(
    `search |{bar}| {value}/{total} tasks | {elapsed} elapsed | ETA {etaText} | best ${metric} {best}{leading}`,
    (progress) => {
      const { best, leading } = progress;
      const leadingText = leading
        ? ` | leading ${formatScore(leading.score)} (run #${leading.number}, ${leading.foldsDone}/${leading.nFolds} folds)`
        : '';
      const bestText = best ? `${formatScore(best.score)} (run #${best.number})` : '—';
      return {
        value: progress.tasksDone,
        total: progress.tasksTotal,
        fields: {
          best: bestText,
          leading: leadingText,
          elapsed: formatClock(progress.elapsedMs),
          etaText:
            progress.tasksDone > 0 && progress.tasksDone < progress.tasksTotal
              ? formatClock((progress.elapsedMs / progress.tasksDone) * (progress.tasksTotal - progress.tasksDone))
              : '—',
        },
        key: `${progress.tasksDone}/${progress.tasksTotal} ${bestText}${leadingText}`,
      };
    },
    stream,
    options,
  );
}

/** Where a refit stands: the epoch just finished (0-based) of `epochs`, with its metrics. */
export type RefitProgress = { readonly epoch: number; readonly epochs: number; readonly metrics: EpochMetrics; readonly elapsedMs: number };

/** Progress of a refit, one update per epoch: epochs done/total, the training loss, elapsed. */
export function createRefitProgressBar(
  stream: NodeJS.WriteStream = process.stderr,
  options: { readonly intervalMs?: number; readonly now?: () => number } = {},
): ProgressDisplay<RefitProgress> {
  return createDisplay<RefitProgress>(
    'refit |{bar}| epoch {value}/{total} | loss {loss} | {elapsed} elapsed',
    ({ epoch, epochs, metrics, elapsedMs }) => ({
      value: epoch + 1,
      total: epochs,
      fields: { loss: formatScore(metrics.loss), elapsed: formatClock(elapsedMs) },
      key: String(epoch),
    }),
    stream,
    options,
  );
}

/**
 * Shows each epoch of the refits of `experimentId` until the returned function is called: the
 * bar starts when a refit announces its epochs and moves with that run's epoch events.
 */
export function followRefitProgress(
  events: CoordinatorEventBus,
  experimentId: number,
  stream: NodeJS.WriteStream = process.stderr,
): () => void {
  let current: { readonly runId: number; readonly epochs: number; readonly startedAt: number } | null = null;
  let display: ProgressDisplay<RefitProgress> | null = null;
  const offRefit = events.on('refit', (refit) => {
    if (refit.experimentId !== experimentId) return;
    display?.stop();
    current = { runId: refit.runId, epochs: refit.epochs, startedAt: Date.now() };
    display = createRefitProgressBar(stream);
  });
  const offEpoch = events.on('epoch', ({ runId, epoch, metrics }) => {
    if (current === null || runId !== current.runId) return;
    display?.update({ epoch, epochs: current.epochs, metrics, elapsedMs: Date.now() - current.startedAt });
  });
  return () => {
    offRefit();
    offEpoch();
    display?.stop();
  };
}

function formatClock(ms: number): string {
  const total = Math.round(ms / 1000);
  const minutes = Math.floor(total / 60);
  return `${minutes}:${String(total % 60).padStart(2, '0')}`;
}
