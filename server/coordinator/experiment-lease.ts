import { ConflictError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import { LEASE_HEARTBEAT_MS, type Lease, type LeasePurpose, type LeaseStore } from '../storage/lease-store.js';

/** Another process (or another task of this one) owns the experiment: exit 2 in the CLI, 409 in the dashboard. */
export class LeaseHeldError extends ConflictError {
  override name = 'LeaseHeldError';
  constructor(
    experimentName: string,
    readonly lease: Lease,
  ) {
    const doing = lease.purpose === 'search' ? 'searched' : 'refitted';
    const since = new Date(lease.acquiredAt).toISOString().replace('T', ' ').slice(0, 19);
    super(`experiment "${experimentName}" is being ${doing} by pid ${lease.pid} on host ${lease.host} since ${since} UTC`);
  }
}

/** @throws {LeaseHeldError} when someone holds a live lease on the experiment. */
export function assertNotLeased(leases: LeaseStore, experiment: Pick<Experiment, 'experimentId' | 'name'>): void {
  const holder = leases.holder(experiment.experimentId);
  if (holder) throw new LeaseHeldError(experiment.name, holder);
}

/**
 * Runs `work` while holding the experiment's lease, renewing its heartbeat, and gives it up
 * after (also when `work` throws). The lease is taken before `work` starts, synchronously: a
 * caller that catches the LeaseHeldError has changed nothing.
 * @throws {LeaseHeldError} when another owner holds it.
 */
export function withLease<T>(
  leases: LeaseStore,
  experiment: Pick<Experiment, 'experimentId' | 'name'>,
  purpose: LeasePurpose,
  work: () => Promise<T>,
): Promise<T> {
  const taken = leases.acquire(experiment.experimentId, purpose);
  if ('heldBy' in taken) throw new LeaseHeldError(experiment.name, taken.heldBy);
  const { lease } = taken;
  // unref: a heartbeat alone must not keep the process alive.
  const timer = setInterval(() => leases.heartbeat(lease), LEASE_HEARTBEAT_MS).unref();
  const release = () => {
    clearInterval(timer);
    leases.release(lease);
  };
  let running: Promise<T>;
  try {
    running = work();
  } catch (error) {
    release();
    throw error;
  }
  return running.finally(release);
}
