/**
 * What the dashboard's background work (searches and refits started from the browser) looks like from outside:
 * a leaf module, so that the live-event stream can name these types without importing the class that runs them.
 */
export type BackgroundState = 'running' | 'done' | 'failed' | 'interrupted';

/** A search started from the dashboard, running in this process. */
export type BackgroundSearch = {
  readonly experimentId: number;
  readonly state: BackgroundState;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly error: string | null;
};

/** A refit started from the dashboard: its progress, then where its model is. */
export type BackgroundRefit = {
  readonly experimentId: number;
  readonly sourceRunId: number;
  /** Known once the coordinator has created the refit run. */
  readonly refitRunId: number | null;
  readonly state: BackgroundState;
  readonly epochsDone: number;
  readonly epochsTotal: number;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly error: string | null;
  readonly modelId: number | null;
};
