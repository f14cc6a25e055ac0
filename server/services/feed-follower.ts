import { FEED_EVENTS, type FeedEventName } from '../coordinator/change-feed.js';
import { CoordinatorEventBus, type CoordinatorEvents } from '../coordinator/events.js';
import type { FeedRow, FeedStore } from '../storage/feed-store.js';

/** How often the follower asks SQLite whether another process committed. */
export const FEED_POLL_MS = 250;
const READ_LIMIT = 5000;

export type FeedFollowerOptions = {
  readonly pollMs?: number;
  /** Rows were pruned before this follower read them (it was stalled for a minute): what the tabs show is stale. */
  readonly onMissed?: () => void;
};

/**
 * Turns what other processes announced in the change feed back into coordinator events, on a bus
 * of its own (`events`): one timer per dashboard process however many tabs are open. Each tick
 * costs one `PRAGMA data_version`; the feed is read only after another connection committed, and
 * rows this process wrote itself are skipped (it has published those already). Starts at the
 * feed's end: history is what the pages render, the feed only what happens next.
 */
export class FeedFollower {
  readonly events = new CoordinatorEventBus();
  readonly #feed: FeedStore;
  readonly #onMissed: () => void;
  readonly #timer: NodeJS.Timeout;
  #seq: number;
  #version: number;
  #failing = false;

  constructor(feed: FeedStore, options: FeedFollowerOptions = {}) {
    this.#feed = feed;
    this.#onMissed = options.onMissed ?? (() => undefined);
    this.#seq = feed.lastSeq();
    this.#version = feed.dataVersion();
    // unref: following alone must not keep the process alive.
    this.#timer = setInterval(() => this.poll(), options.pollMs ?? FEED_POLL_MS).unref();
  }

  /** Reads and emits what is new, if another process committed since the last look. Called by the timer (and tests). */
  poll(): void {
    try {
      const version = this.#feed.dataVersion();
      if (version === this.#version) return;
      this.#version = version;
      for (;;) {
        const read = this.#feed.readSince(this.#seq, READ_LIMIT);
        if (read.missed) this.#onMissed();
        this.#seq = read.next;
        for (const row of read.rows) this.#emit(row);
        if (read.rows.length < READ_LIMIT) break;
      }
      this.#failing = false;
    } catch (error) {
      // The database busy or gone for a moment: the next tick tries again (the version is read again then).
      if (!this.#failing) console.error(`foldwise: could not read the live feed (${(error as Error).message}); retrying`);
      this.#failing = true;
      this.#version = Number.NaN;
    }
  }

  #emit(row: FeedRow): void {
    if (!(FEED_EVENTS as readonly string[]).includes(row.type)) return; // written by a newer foldwise
    const type = row.type as FeedEventName;
    let event: CoordinatorEvents[FeedEventName];
    try {
      event = JSON.parse(row.payload) as CoordinatorEvents[FeedEventName];
    } catch {
      return;
    }
    this.events.emit(type, event);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
