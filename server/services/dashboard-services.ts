import type { DashboardDeps } from './deps.js';
import { ExperimentCommands } from './experiment-commands.js';
import { ExperimentQueries } from './experiment-queries.js';
import { BackgroundWork } from './background-work.js';
import { LiveEvents } from './live-events.js';
import { FeedFollower } from './feed-follower.js';
import { ModelFiles } from './model-files.js';
import { SpecFiles } from './spec-files.js';
import { Uploads } from './uploads.js';
import { DataPaths } from './data-paths.js';
import { ResultsDownloads } from '../results/results-downloads.js';
import { NoteService } from './notes.js';
import { SearchViewService } from './search-views.js';
import { RunSnapshots } from './run-snapshots.js';

export type { DashboardDeps } from './deps.js';

/** Everything the HTTP layer calls. Routes never touch storage or the coordinator directly. */
export type DashboardServices = {
  readonly queries: ExperimentQueries;
  readonly commands: ExperimentCommands;
  readonly specs: SpecFiles;
  readonly models: ModelFiles;
  /** CSV files uploaded from the New experiment page. */
  readonly uploads: Uploads;
  /** The folders a spec started from the dashboard may read data from. */
  readonly dataPaths: DataPaths;
  /** Results as files: runs.csv, runs.json, curves.csv, model.onnx. */
  readonly results: ResultsDownloads;
  /** Notes and tags on experiments and runs. */
  readonly notes: NoteService;
  /** The search views' data: trial history, slices, hyperparameter importance. */
  readonly searchViews: SearchViewService;
  readonly live: LiveEvents;
  readonly background: BackgroundWork;
  /** Stops background searches and refits (their tasks end as interrupted) and drops live subscribers. */
  close(): Promise<void>;
};

export function createDashboardServices(deps: DashboardDeps): DashboardServices {
  // Searches other processes run reach the tabs through the change feed, on the follower's own bus.
  const follower = new FeedFollower(deps.storage.feed, { onMissed: () => live.resync() });
  const live: LiveEvents = new LiveEvents([deps.coordinator.events, follower.events]);
  const background = new BackgroundWork(deps, live, { followed: follower.events, log: deps.log });
  const specs = new SpecFiles(deps.config.experimentsDir);
  const models = new ModelFiles(deps.storage, deps.config.dataDir);
  // One cache of the experiments' runs for the leaderboard and the search views.
  const snapshots = new RunSnapshots(deps.storage.runs);
  const queries = new ExperimentQueries(deps, background, models, snapshots);
  const results = new ResultsDownloads(deps.storage, models);
  const dataPaths = new DataPaths(deps.config);
  const commands = new ExperimentCommands(deps, background, specs, dataPaths);
  let closing: Promise<void> | null = null;
  return {
    queries,
    commands,
    specs,
    models,
    uploads: new Uploads(dataPaths.uploadsDir),
    dataPaths,
    results,
    notes: new NoteService(deps.storage),
    searchViews: new SearchViewService(deps.storage, snapshots),
    live,
    background,
    close() {
      follower.close();
      closing ??= background.close().finally(() => live.close());
      return closing;
    },
  };
}
