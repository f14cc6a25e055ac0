import cliProgress from 'cli-progress';
import type { SearchProgress } from '../coordinator/events.js';
import { formatScore } from './format.js';

/** A terminal progress bar for a search: tasks done/total, elapsed, ETA, best so far. Plain lines when not a TTY. */
export function createSearchProgressBar(
  metric: string,
  stream: NodeJS.WriteStream = process.stderr,
): { update(progress: SearchProgress): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `search |{bar}| {value}/{total} tasks | {elapsed} elapsed | ETA {etaText} | best ${metric} {best}`,
      barsize: 24,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const best = progress.best;
      const partial = best && best.foldsDone < best.nFolds ? `, ${best.foldsDone}/${best.nFolds} folds` : '';
      const payload = {
        best: best ? `${formatScore(best.score)} (run ${best.runId}${partial})` : '—',
        elapsed: formatClock(progress.elapsedMs),
        etaText:
          progress.tasksDone > 0 && progress.tasksDone < progress.tasksTotal
            ? formatClock((progress.elapsedMs / progress.tasksDone) * (progress.tasksTotal - progress.tasksDone))
            : '—',
      };
      if (!started) {
        bar.start(progress.tasksTotal, progress.tasksDone, payload);
        started = true;
      } else {
        bar.update(progress.tasksDone, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function formatClock(ms: number): string {
  const total = Math.round(ms / 1000);
  const minutes = Math.floor(total / 60);
  return `${minutes}:${String(total % 60).padStart(2, '0')}`;
}
