import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { writeTransaction, type Db } from './database.js';

/**
 * Leases: which process owns an experiment while it searches or refits it, so that a second
 * process on the same data directory leaves it alone. The owner renews its heartbeat every
 * LEASE_HEARTBEAT_MS; a lease is live while its heartbeat is younger than LEASE_STALE_MS and,
 * on this host, while its process exists (so a run killed with -9 is taken over at once, not
 * after the stale interval).
 */
export const LEASE_HEARTBEAT_MS = 2000;
export const LEASE_STALE_MS = 15_000;

export type LeasePurpose = 'search' | 'refit';

export type Lease = {
  readonly experimentId: number;
  /** Unique per acquisition: a process that owns two experiments, or one twice in turn, has different owners. */
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  readonly purpose: LeasePurpose;
  readonly acquiredAt: number;
  readonly heartbeatAt: number;
};

type LeaseRow = {
  experiment_id: number;
  owner: string;
  pid: number;
  host: string;
  purpose: LeasePurpose;
  acquired_at: number;
  heartbeat_at: number;
};

function rowToLease(row: LeaseRow): Lease {
  return {
    experimentId: row.experiment_id,
    owner: row.owner,
    pid: row.pid,
    host: row.host,
    purpose: row.purpose,
    acquiredAt: row.acquired_at,
    heartbeatAt: row.heartbeat_at,
  };
}

/** Whether a process with this id exists on this machine (EPERM: it exists, owned by someone else). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lease's owner is alive: a recent heartbeat and, on this host, its process still there. */
export function isLive(lease: Pick<Lease, 'pid' | 'host' | 'heartbeatAt'>, now: number): boolean {
  if (now - lease.heartbeatAt >= LEASE_STALE_MS) return false;
  return lease.host !== hostname() || processExists(lease.pid);
}

export class LeaseStore {
  readonly #db: Db;
  readonly #get;
  readonly #put;
  readonly #beat;
  readonly #release;

  constructor(db: Db) {
    this.#db = db;
    this.#get = db.prepare('SELECT * FROM leases WHERE experiment_id = ?');
    this.#put = db.prepare(`INSERT OR REPLACE INTO leases (experiment_id, owner, pid, host, purpose, acquired_at, heartbeat_at)
      VALUES (@experimentId, @owner, @pid, @host, @purpose, @acquiredAt, @heartbeatAt)`);
    this.#beat = db.prepare('UPDATE leases SET heartbeat_at = @now WHERE experiment_id = @experimentId AND owner = @owner');
    this.#release = db.prepare('DELETE FROM leases WHERE experiment_id = ? AND owner = ?');
  }

  /**
   * Takes the experiment's lease for this process, unless another owner holds a live one: then
   * nothing is written and that lease is returned. Read and write are one immediate transaction,
   * so two processes racing for a lease cannot both win.
   */
  acquire(experimentId: number, purpose: LeasePurpose, now = Date.now()): { readonly lease: Lease } | { readonly heldBy: Lease } {
    return writeTransaction(this.#db, () => {
      const current = this.holder(experimentId, now);
      if (current) return { heldBy: current };
      const lease: Lease = {
        experimentId,
        owner: randomUUID(),
        pid: process.pid,
        host: hostname(),
        purpose,
        acquiredAt: now,
        heartbeatAt: now,
      };
      this.#put.run(lease);
      return { lease };
    });
  }

  /** The live lease on the experiment, or null (none, or its owner is gone). */
  holder(experimentId: number, now = Date.now()): Lease | null {
    const row = this.#get.get(experimentId) as LeaseRow | undefined;
    if (!row) return null;
    const lease = rowToLease(row);
    return isLive(lease, now) ? lease : null;
  }

  /** Renews the heartbeat; false when the lease is no longer this owner's (it went stale and was taken over). */
  heartbeat(lease: Lease, now = Date.now()): boolean {
    return this.#beat.run({ experimentId: lease.experimentId, owner: lease.owner, now }).changes > 0;
  }

  /** Gives the lease up (a no-op when it is no longer this owner's). */
  release(lease: Lease): void {
    this.#release.run(lease.experimentId, lease.owner);
  }
}
