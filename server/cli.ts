/**
 * `foldwise run|list|show|refit|predict|export|delete|serve`: parse argv, call the composition, print,
 * exit. Bad input exits 2 with one message naming the field; nothing is half-written.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { loadConfig, type ConfigFlags } from './config.js';
import { compose, type Composition } from './compose.js';
import { AppError, ValidationError } from './errors.js';
import { openStorage } from './storage/storage.js';
import { openStorageForReading, removeDatabase } from './storage/read-only.js';
import { parseSpecText } from './coordinator/prepare-experiment.js';
import { formatDuration, formatScore, textTable } from './cli/format.js';
import { modelChoiceFrom, printLeaderboard, printModel } from './cli/show.js';
import { createSearchProgressBar, followRefitProgress, stopProgressDisplays } from './cli/progress.js';
import { followExperiment } from './cli/follow.js';
import { LeaseHeldError } from './coordinator/experiment-lease.js';
import { deleteExperiment } from './coordinator/delete-experiment.js';
import { writePredictions } from './cli/predict.js';
import { EXIT_CODES, exitOnUncaughtErrors, type FailureContext, reportFailure } from './cli/failure.js';
import { METADATA_FILE, onnxExportPlan, writeCurvesFile, writeOnnxExport } from './cli/export.js';
import { resultsTable } from './results/results-table.js';
import { resultsCsv } from './results/results-csv.js';
import { experimentListJson, resultsJson } from './results/results-json.js';
import { describeChosenModel, refitModelFor } from './results/refit-model.js';
import { runByNumber } from './results/run-numbers.js';
import { searchedParamNames } from './search/grid.js';
import { foldsLabel } from '../worker/contract/spec.js';
import { nestedCostLine } from './cli/nested-lines.js';
import { warmStartLine } from './coordinator/warm-start.js';
import type { Storage } from './storage/storage.js';
import type { Dashboard } from './http/serve.js';

type GlobalFlags = { dataDir?: string };

/** The queue commands, loaded only for --queue and `worker`: BullMQ and ioredis added ~0.25 s to every other command's start. */
const queueCommands = () => import('./queue/commands.js');

/** A TCP port to listen on: 0 (any free one) to 65535. */
function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number from 1 up, got "${value}"`);
  return n;
}

const program = new Command();
program
  .name('foldwise')
  .description('Honest, fast hyperparameter search for small neural networks.')
  .option('--data-dir <dir>', 'folder for the database and model files (env FOLDWISE_DATA_DIR)', undefined)
  .showHelpAfterError()
  // Usage errors throw instead of exiting 1, so they exit 2 as all bad input does (set before the
  // subcommands are added: they inherit it).
  .exitOverride();

function configFrom(command: Command, extra: ConfigFlags = {}) {
  const globals = command.optsWithGlobals<GlobalFlags>();
  return loadConfig({ dataDir: globals.dataDir, ...extra });
}

/** Opens the database read-mostly for commands that train nothing; closed when `action` returns (or its promise settles). */
function withStorage<T>(command: Command, action: (storage: Storage) => T): T {
  const config = configFrom(command);
  if (!existsSync(config.dbPath))
    throw new AppError('not_found', `no foldwise database at ${config.dbPath} (run an experiment first, or pass --data-dir)`);
  const storage = openStorageForReading(config.dbPath);
  let result: T;
  try {
    result = action(storage);
  } catch (error) {
    storage.close();
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => storage.close()) as T;
  storage.close();
  return result;
}

const SHOW_FORMATS = ['table', 'csv', 'json'] as const;

/** `--format` of `show` (`--json` is its alias). @throws {ValidationError} */
function showFormat(flags: { format: string; json?: boolean }): (typeof SHOW_FORMATS)[number] {
  const format = SHOW_FORMATS.find((name) => name === flags.format);
  if (format === undefined) throw new ValidationError(`--format: expected one of ${SHOW_FORMATS.join(', ')}, got "${flags.format}"`);
  if (flags.json && format !== 'json' && format !== 'table')
    throw new ValidationError(`--json is --format json; it cannot go with --format ${format}`);
  return flags.json ? 'json' : format;
}

program
  .command('run')
  .description('run (or resume) the experiment in SPEC, refit the best configuration and score it on the test split')
  .argument('<spec>', 'experiment spec file (YAML or JSON)')
  .option('-w, --workers <n>', "worker processes (default: one per core, or the spec's workers)", positiveInt)
  .option('--allow-large-grid', "allow grids larger than the spec's maxRuns")
  .option('--add-trials <n>', 'continue an existing random or tpe experiment with N more trials', positiveInt)
  .option('--from <experiment>', "a new tpe experiment: start its search from this experiment's finished trials (same data, folds, metric)")
  .option('--no-refit', 'stop after the search')
  .option('--follow', 'if another process is searching this experiment, show its progress (read-only) instead of refusing')
  .option('--serve', 'serve the dashboard while the search runs, and after it')
  .option('--host <host>', 'dashboard address (loopback unless you say otherwise)')
  .option('--port <port>', 'dashboard port', port)
  .option(
    '--queue [url]',
    'train on `foldwise worker` processes through Redis: redis://[:PASSWORD@]HOST:PORT (or env FOLDWISE_QUEUE_URL); ' +
      '--workers then counts task slots',
  )
  .option('--local-workers <n>', 'with --queue: also run N queue workers on this machine', positiveInt)
  .action(
    async (
      specPath: string,
      flags: {
        workers?: number;
        allowLargeGrid?: boolean;
        addTrials?: number;
        from?: string;
        refit: boolean;
        follow?: boolean;
        serve?: boolean;
        host?: string;
        port?: number;
        queue?: string | boolean;
        localWorkers?: number;
      },
      command: Command,
    ) => {
      const path = resolve(specPath);
      if (!existsSync(path)) throw new ValidationError(`spec file not found: ${specPath}`);
      if (statSync(path).isDirectory()) throw new ValidationError(`spec: ${specPath} is a folder; expected a YAML or JSON spec file`);
      if (flags.localWorkers !== undefined && flags.queue === undefined)
        throw new ValidationError('--local-workers goes with --queue (without it, --workers sets the local pool)');
      const specText = readFileSync(path, 'utf8');
      // Schema errors are reported before any worker process starts.
      const spec = parseSpecText(specText);
      const config = configFrom(command, { workers: flags.workers ?? spec.workers, host: flags.host, port: flags.port });
      const queue = flags.queue === undefined ? null : await queueCommands();
      const queueRunner =
        flags.queue === undefined || queue === null
          ? null
          : queue.createQueueRunner({
              queue: flags.queue,
              workers: flags.workers,
              localWorkers: flags.localWorkers,
              dataDir: config.dataDir,
            });
      // A first run whose spec or data turns out bad leaves no empty database behind (see finally).
      const newDataDir = !existsSync(config.dataDir);
      const newDatabase = !existsSync(config.dbPath);
      const composition = compose(config, queueRunner ? { runner: queueRunner } : {});
      const controller = new AbortController();
      installStopHandlers(controller, composition);
      // Closed in `finally` too: an open server would keep an interrupted or failed run from exiting.
      let dashboard: Awaited<ReturnType<typeof startDashboard>> = null;
      try {
        dashboard = flags.serve ? await startDashboard(composition) : null;
        const prepared = await composition.coordinator
          .prepare(specText, { baseDir: dirname(path), allowLargeGrid: flags.allowLargeGrid, addTrials: flags.addTrials, from: flags.from })
          .catch((error: unknown) => {
            if (!(flags.follow && error instanceof LeaseHeldError)) throw error;
            return error;
          });
        if (prepared instanceof LeaseHeldError) {
          console.log(`${prepared.message}; following it (read-only, Ctrl-C to stop following)`);
          const experiment = await followExperiment(
            composition.storage,
            composition.storage.experiments.getByName(spec.name),
            controller.signal,
          );
          printLeaderboard(composition.storage, experiment);
          return;
        }
        const { experiment } = prepared;
        const backends = await whenReady(composition);
        const folds = foldsLabel(spec.validation);
        const workers =
          queue && queueRunner
            ? queue.describeQueueRunner(queueRunner, queue.queueUrlFrom(flags.queue!), flags.localWorkers ?? 0)
            : `${config.workers} workers`;
        const verb = prepared.extendedFrom !== undefined ? 'Extending' : prepared.resumed ? 'Resuming' : 'Starting';
        const strategy = spec.search?.strategy ?? 'grid';
        const runs =
          strategy === 'grid'
            ? `${prepared.runsTotal} runs`
            : `${prepared.extendedFrom === undefined ? '' : `${prepared.extendedFrom} → `}${prepared.runsTotal} ${strategy} trials`;
        console.log(
          `${verb} "${experiment.name}": ${runs} × ${folds}, ` +
            `${prepared.info.nRows} rows (${prepared.info.testRows} held out for test), ` +
            `${prepared.info.nFeatures} features, ${experiment.task}; ${workers} on ${[...new Set(backends)].join('/')}`,
        );
        for (const note of prepared.info.notes ?? []) console.log(`  ${note}`);
        if (experiment.warmStart) console.log(`  ${warmStartLine(experiment.warmStart)}`);
        const nestedCost = nestedCostLine(spec, prepared.runsTotal);
        if (nestedCost) console.log(nestedCost);
        let bar = createSearchProgressBar(experiment.selectionMetric);
        const stopBar = composition.coordinator.events.on('progress', (progress) => bar.update(progress));
        // Nested CV: each outer fold's search gets a line naming it and a bar of its own.
        const stopOuter = composition.coordinator.events.on('outerFold', (outer) => {
          bar.stop();
          console.log(`Nested CV, outer fold ${outer.outerFold + 1} of ${outer.k}: searching "${outer.name}" on its training part…`);
          bar = createSearchProgressBar(experiment.selectionMetric);
        });
        // The dashboard's Stop ends this search as it ends one started in the browser (interrupted, resumable), and
        // this command as Ctrl-C does.
        const dashboardStop = new AbortController();
        const onDashboardStop = () => {
          console.error(`Stop in the dashboard: ${stoppingWhat(composition, 'stopping')}.`);
          // As after Ctrl-C: this command ends, so its workers end now rather than being replaced.
          void composition.runner.close();
        };
        dashboardStop.signal.addEventListener('abort', onDashboardStop, { once: true });
        const signal = AbortSignal.any([controller.signal, dashboardStop.signal]);
        const searching = composition.coordinator.search(experiment.experimentId, signal);
        dashboard?.adoptSearch(experiment.experimentId, searching, dashboardStop);
        const summary = await searching;
        stopBar();
        stopOuter();
        bar.stop();
        console.log(
          `Search ${summary.interrupted ? 'interrupted' : 'finished'} in ${formatDuration(summary.wallMs)} ` +
            `(${summary.tasksTrained} tasks trained).`,
        );
        if (summary.note) console.log(`Stopped sampling: ${summary.note}; run it again to continue.`);
        printLeaderboard(composition.storage, summary.experiment);
        if (summary.interrupted) {
          console.log(`\nRun \`foldwise run ${specPath}\` again to resume.`);
          process.exitCode = EXIT_CODES.interrupted;
          return;
        }
        if (flags.refit) {
          console.log('\nRefitting the selected configuration on all non-test rows…');
          const stopRefitBar = followRefitProgress(composition.coordinator.events, experiment.experimentId);
          await composition.coordinator.refit(experiment.experimentId, undefined, controller.signal).finally(stopRefitBar);
          printModel(composition.storage, composition.storage.experiments.get(experiment.experimentId));
        }
        if (dashboard) {
          console.log(`\nDashboard: ${dashboard.url} — Ctrl-C to quit.`);
          await new Promise<void>((resolveWait) => controller.signal.addEventListener('abort', () => resolveWait(), { once: true }));
          await dashboard.close();
        }
      } finally {
        await dashboard?.close();
        const unused = newDatabase && composition.storage.experiments.list().length === 0;
        await composition.close();
        if (unused) removeDatabase(config.dbPath, newDataDir ? config.dataDir : null);
      }
    },
  );

async function whenReady(composition: Composition): Promise<string[]> {
  const runner = composition.runner as { whenReady?: () => Promise<string[]> };
  return runner.whenReady ? runner.whenReady() : [];
}

/** Starts the dashboard if this build has one. */
async function startDashboard(composition: Composition): Promise<Dashboard | null> {
  const modulePath = './http/serve.js';
  try {
    const { serveDashboard } = (await import(modulePath)) as { serveDashboard: (c: Composition) => Promise<Dashboard> };
    const dashboard = await serveDashboard(composition);
    console.log(`Dashboard: ${dashboard.url}`);
    return dashboard;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

/**
 * First Ctrl-C / SIGTERM: stop dispatch, end running tasks, mark them interrupted. Second: exit at once.
 * The line says what stopping does (`doing`, and the running tasks when there are some), printed
 * once the progress bar has stopped: a running bar would redraw over it.
 */
function installStopHandlers(controller: AbortController, composition: Composition, doing = 'stopping'): void {
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`${signal}: ${stoppingWhat(composition, doing)} (again to force).`);
    controller.abort();
    // Ends workers now, so the search loop sees its tasks end and records them as interrupted.
    void composition.runner.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** What stopping does (`doing`, and the running tasks when there are some); stops the progress bar first, which would redraw over it. */
function stoppingWhat(composition: Composition, doing: string): string {
  stopProgressDisplays();
  const running = (composition.runner as { busyPids?: readonly number[] }).busyPids?.length ?? 0;
  return `${doing}${running === 0 ? '' : `; ${running} running task${running === 1 ? '' : 's'} will be marked interrupted`}`;
}

program
  .command('worker')
  .description('train tasks that `foldwise run SPEC --queue URL` publishes, on this machine')
  .option('--queue [url]', "redis://[:PASSWORD@]HOST:PORT of the coordinator's Redis (or env FOLDWISE_QUEUE_URL)")
  .option('-c, --concurrency <n>', 'worker processes, each training one task at a time', positiveInt, 1)
  .option('--cache-dir <dir>', 'where verified copies of CSV datasets are kept (default: ~/.cache/foldwise/datasets)')
  .action(async (flags: { queue?: string | boolean; concurrency: number; cacheDir?: string }) => {
    process.exitCode = await (await queueCommands()).runQueueWorkers(flags);
  });

program
  .command('list')
  .description('list experiments')
  .option('--json', 'as JSON: {experiments: [...]}, newest first')
  .action((flags: { json?: boolean }, command: Command) =>
    withStorage(command, (storage) => {
      const experiments = storage.experiments.list();
      if (flags.json) return console.log(JSON.stringify(experimentListJson(experiments), null, 2));
      if (experiments.length === 0) return console.log('No experiments yet. Try `foldwise run experiments/default.yaml`.');
      console.log(
        textTable(
          ['name', 'dataset', 'task', 'status', 'runs done/total', 'best', 'started'],
          experiments.map((e) => [
            e.name,
            e.datasetKind,
            e.task,
            e.status,
            `${e.runsFinished}/${e.runsTotal}`,
            `${e.selectionMetric} ${formatScore(e.bestScore)}`,
            new Date(e.createdAt).toISOString().slice(0, 16).replace('T', ' '),
          ]),
        ),
      );
    }),
  );

program
  .command('show')
  .description('show the leaderboard of an experiment: a table, or every run as CSV or JSON')
  .argument('<experiment>', 'experiment name')
  .option('--format <format>', `${SHOW_FORMATS.join(', ')}: csv and json give one row per run with its fold scores`, 'table')
  .option('--json', 'the same as --format json')
  .option('--run <n>', "the refit model of run #N (default: the selected configuration's)", positiveInt)
  .option('--model <id>', 'the refit model with this id', positiveInt)
  .action((name: string, flags: { format: string; json?: boolean; run?: number; model?: number }, command: Command) => {
    const format = showFormat(flags);
    const choice = modelChoiceFrom(flags);
    withStorage(command, (storage) => {
      const experiment = storage.experiments.getByName(name);
      if (format === 'table') {
        printLeaderboard(storage, experiment);
        printModel(storage, experiment, choice);
        return;
      }
      if (choice.by !== 'selected') throw new ValidationError('--run and --model go with --format table: csv and json list every run');
      const table = resultsTable(experiment, storage);
      process.stdout.write(format === 'csv' ? resultsCsv(table) : `${JSON.stringify(resultsJson(table), null, 2)}\n`);
    });
  });

program
  .command('export')
  .description('export a refit model as ONNX (--output DIR), or every learning-curve point as CSV (--curves FILE)')
  .argument('<experiment>', 'experiment name')
  .option('--run <n>', "the refit of run #N (default: the selected configuration's, the model `predict` uses)", positiveInt)
  .option('--model <id>', 'the refit model with this id', positiveInt)
  .option('--format <format>', 'model format (onnx)', 'onnx')
  .option('--output <dir>', 'a new or empty folder to write model.onnx and metadata.json into')
  .option('--curves <file>', 'write the curves (run, fold, epoch, metric, value) to this CSV file')
  .option('--force', 'write into a folder that is not empty, or replace the --curves file')
  .action(
    async (
      name: string,
      flags: { run?: number; model?: number; format: string; output?: string; curves?: string; force?: boolean },
      command: Command,
    ) => {
      const force = flags.force ?? false;
      if (flags.curves !== undefined) {
        if (flags.output !== undefined) throw new ValidationError('--curves and --output: export one thing at a time');
        if (flags.run !== undefined || flags.model !== undefined)
          throw new ValidationError('--run and --model go with --output: --curves writes the curves of every run');
        const rows = await withStorage(command, (storage) => writeCurvesFile(storage, name, flags.curves!, force));
        console.log(`Wrote ${rows} curve points to ${flags.curves}`);
        return;
      }
      if (flags.format !== 'onnx') throw new ValidationError(`--format: expected onnx, got "${flags.format}"`);
      if (flags.output === undefined)
        throw new ValidationError('--output: expected a folder for model.onnx (or pass --curves FILE.csv for the learning curves)');
      const plan = withStorage(command, (storage) => onnxExportPlan(storage, name, modelChoiceFrom(flags), flags.output!, force));
      const written = await writeOnnxExport(plan);
      console.log(`Exported ${plan.description} to ${written.path} (${written.bytes} bytes), with ${METADATA_FILE}`);
    },
  );

program
  .command('refit')
  .description('refit the selected configuration (or --run N) on all non-test rows and score it on the test split')
  .argument('<experiment>', 'experiment name')
  .option('--run <n>', 'refit run #N instead of the selected configuration', positiveInt)
  .action(async (name: string, flags: { run?: number }, command: Command) => {
    // A refit is one task: one worker process.
    const composition = compose(configFrom(command, { workers: 1 }));
    try {
      const experiment = composition.storage.experiments.getByName(name);
      const stopRefitBar = followRefitProgress(composition.coordinator.events, experiment.experimentId);
      const source = flags.run === undefined ? undefined : runByNumber(composition.storage.runs, experiment, flags.run, 'search').runId;
      const { refitRun } = await composition.coordinator.refit(experiment.experimentId, source).finally(stopRefitBar);
      printModel(composition.storage, experiment, { by: 'runId', runId: refitRun.runId });
    } finally {
      await composition.close();
    }
  });

program
  .command('predict')
  .description("predict rows of a CSV with the refit model of an experiment's selected configuration (or --run N, --model ID)")
  .requiredOption('--experiment <name>', 'experiment name')
  .requiredOption('--input <csv>', 'rows to predict (same feature columns as the training data; the target column may be absent)')
  .option('--output <csv>', 'where to write predictions (default: standard output)')
  .option('--strict', 'refuse categories the model never saw in training (default: a warning with counts)')
  .option('--force', 'overwrite --output if it exists')
  .option('--run <n>', "the refit model of run #N (default: the selected configuration's)", positiveInt)
  .option('--model <id>', 'the refit model with this id', positiveInt)
  .action(
    async (
      flags: { experiment: string; input: string; output?: string; strict?: boolean; force?: boolean; run?: number; model?: number },
      command: Command,
    ) => {
      const choice = modelChoiceFrom(flags);
      const modelPath = withStorage(command, (storage) => {
        const experiment = storage.experiments.getByName(flags.experiment);
        const chosen = refitModelFor(storage, experiment, choice);
        // Standard error: standard output may be the predictions.
        console.error(`Using ${describeChosenModel(chosen, searchedParamNames(experiment.spec))}`);
        return chosen.model.path;
      });
      const count = await writePredictions(modelPath, flags.input, flags.output, { strict: flags.strict, force: flags.force });
      if (flags.output) console.error(`Wrote ${count} predictions to ${flags.output}`);
    },
  );

program
  .command('delete')
  .description('delete an experiment with its runs, curves and model files')
  .argument('<experiment>', 'experiment name')
  .option('-y, --yes', 'do not ask for confirmation')
  .action(async (name: string, flags: { yes?: boolean }, command: Command) => {
    const config = configFrom(command);
    const storage = openStorage(config.dbPath);
    try {
      const experiment = storage.experiments.getByName(name);
      if (!flags.yes) {
        if (!process.stdin.isTTY) throw new ValidationError('refusing to delete without confirmation: pass --yes');
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Delete "${name}" with all its runs, curves and models? Type the name to confirm: `);
        rl.close();
        if (answer.trim() !== name) return console.log('Not deleted.');
      }
      deleteExperiment(storage, config.dataDir, experiment.experimentId);
      console.log(`Deleted "${name}".`);
    } finally {
      storage.close();
    }
  });

program
  .command('serve')
  .description('serve the dashboard')
  .option('--host <host>', 'address to bind (loopback unless you say otherwise)')
  .option('--port <port>', 'port', port)
  .option('-w, --workers <n>', 'worker processes for searches started from the browser', positiveInt)
  .action(async (flags: { host?: string; port?: number; workers?: number }, command: Command) => {
    const composition = compose(configFrom(command, flags));
    const controller = new AbortController();
    installStopHandlers(controller, composition, 'closing the dashboard');
    const dashboard = await startDashboard(composition);
    if (!dashboard) throw new AppError('internal', 'this build has no dashboard');
    await new Promise<void>((resolveWait) => controller.signal.addEventListener('abort', () => resolveWait(), { once: true }));
    await dashboard.close();
    await composition.close();
  });

function failureContext(): FailureContext {
  try {
    return { dbPath: loadConfig({ dataDir: program.opts<GlobalFlags>().dataDir }).dbPath };
  } catch {
    return {}; // reported without a path
  }
}

exitOnUncaughtErrors(failureContext);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander printed a usage error (or the help) itself.
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : EXIT_CODES.usage;
  else process.exitCode = reportFailure(error, failureContext());
}
