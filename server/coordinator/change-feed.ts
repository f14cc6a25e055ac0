import { FEED_RETENTION_MS, type FeedEntry, type FeedStore } from '../storage/feed-store.js';
import type { CoordinatorEventBus, CoordinatorEvents } from './events.js';

/** Every event of the coordinator's bus goes into the feed: a dashboard elsewhere streams the same ones. */
export const FEED_EVENTS = ['epoch', 'run', 'experiment', 'progress', 'refit'] as const satisfies readonly (keyof CoordinatorEvents)[];
export type FeedEventName = (typeof FEED_EVENTS)[number];

/** Announcements wait at most this long before they are written, all in one transaction. */
export const FEED_FLUSH_MS = 100;
/** How often rows older than FEED_RETENTION_MS are deleted (in the same transaction as a flush). */
export const FEED_PRUNE_EVERY_MS = 10_000;
/** Past this many unwritten entries (the database refused writes for long), the oldest are dropped. */
const MAX_PENDING = 20_000;

export type FeedPublisherOptions = {
  readonly flushMs?: number;
  readonly retentionMs?: number;
  readonly now?: () => number;
};

/**
 * Copies the coordinator's events into the change feed, so that `foldwise serve` in another
 * process can stream a search it does not run. The events are announced after their writes have
 * committed, and written in batches every FEED_FLUSH_MS: a feed row never announces data a reader
 * cannot see yet, and a busy search costs ten small transactions a second, not one per epoch.
 * The feed is for watching only: a lost batch (the process killed) loses no data, and a follower
 * that misses rows reloads what it shows.
 */
export class FeedPublisher {
  readonly #feed: FeedStore;
  readonly #flushMs: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void)[];
  #pending: FeedEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastPrune = Number.NEGATIVE_INFINITY;
  #failing = false;
  #closed = false;

  constructor(feed: FeedStore, bus: CoordinatorEventBus, options: FeedPublisherOptions = {}) {
    this.#feed = feed;
    this.#flushMs = options.flushMs ?? FEED_FLUSH_MS;
    this.#retentionMs = options.retentionMs ?? FEED_RETENTION_MS;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = FEED_EVENTS.map((type) => bus.on(type, (event) => this.#add(type, event)));
  }

  #add(type: FeedEventName, event: CoordinatorEvents[FeedEventName]): void {
    if (this.#closed) return;
    this.#pending.push({ experimentId: event.experimentId, type, payload: JSON.stringify(event), createdAt: this.#now() });
    if (this.#pending.length > MAX_PENDING) this.#pending.splice(0, this.#pending.length - MAX_PENDING);
    // unref: a pending batch alone must not keep the process alive (close() writes it).
    this.#timer ??= setTimeout(() => this.flush(), this.#flushMs).unref();
  }

  /** Writes what waits (and prunes old rows every FEED_PRUNE_EVERY_MS). A failure keeps the entries for the next try. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const now = this.#now();
    const prune = now - this.#lastPrune >= FEED_PRUNE_EVERY_MS;
    if (this.#pending.length === 0 && !prune) return;
    try {
      this.#feed.append(this.#pending, prune ? now - this.#retentionMs : undefined);
      this.#pending = [];
      if (prune) this.#lastPrune = now;
      this.#failing = false;
    } catch (error) {
      // Never the search's problem: say so once, keep the entries, try again at the next event or close.
      if (!this.#failing) console.error(`foldwise: the live feed could not be written (${(error as Error).message}); retrying`);
      this.#failing = true;
      if (!this.#closed && this.#pending.length > 0) this.#timer = setTimeout(() => this.flush(), this.#flushMs * 10).unref();
    }
  }

  /** Stops listening and writes what waits. */
  close(): void {
    if (this.#closed) return;
    for (const stop of this.#unsubscribe) stop();
    this.#closed = true;
    this.flush();
  }
}
