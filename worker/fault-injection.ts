/**
 * Faults on demand, for the reliability tests only: `FOLDWISE_INJECT_FAULT=KIND:PARAM=VALUE`
 * makes this worker fail every task whose hyperparameter PARAM equals VALUE, the way real
 * faults do: `oom` fills the V8 heap until the process dies, `exit` ends the process, `throw`
 * throws inside the task. `throw:describe` makes every dataset description throw instead (an
 * internal error, not bad data). Unset in normal use; then this is a no-op.
 */
import type { Task } from './contract/protocol.js';

export const FAULT_ENV_VAR = 'FOLDWISE_INJECT_FAULT';
const DESCRIBE_FAULT = 'throw:describe';

export function injectFault(task: Task, setting = process.env[FAULT_ENV_VAR]): void {
  if (!setting || setting === DESCRIBE_FAULT) return;
  const match = /^(oom|exit|throw):(\w+)=(.+)$/.exec(setting);
  if (!match) throw new Error(`${FAULT_ENV_VAR} must look like oom:depth=3 or ${DESCRIBE_FAULT}, got "${setting}"`);
  const [, kind, param, value] = match;
  if (String((task.params as Record<string, unknown>)[param!]) !== value) return;
  if (kind === 'throw') throw new Error(`injected fault in task ${task.taskId}`);
  if (kind === 'exit') process.exit(3);
  const hoard: number[][] = [];
  for (;;) hoard.push(Array.from({ length: 1e6 }, (_, i) => i + hoard.length));
}

/** Throws when the setting is `throw:describe`, as a bug in the dataset description would. */
export function injectDescribeFault(setting = process.env[FAULT_ENV_VAR]): void {
  if (setting === DESCRIBE_FAULT) throw new Error('injected fault in describe');
}
