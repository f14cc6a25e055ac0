import type { CoordinatorEventBus, CoordinatorEvents } from '../coordinator/events.js';
import type { BackgroundRefit, BackgroundSearch } from './background-work-types.js';

/** What a dashboard tab hears about one experiment: the coordinator's events plus background-job changes. */
export type LiveEvent =
  | { readonly type: 'epoch'; readonly data: CoordinatorEvents['epoch'] }
  | { readonly type: 'run'; readonly data: CoordinatorEvents['run'] }
  | { readonly type: 'experiment'; readonly data: CoordinatorEvents['experiment'] }
  | { readonly type: 'progress'; readonly data: CoordinatorEvents['progress'] }
  | { readonly type: 'refit'; readonly data: BackgroundRefit }
  | { readonly type: 'search'; readonly data: BackgroundSearch }
  /** Events were lost (a follower stalled past the feed's retention): reload what is shown. */
  | { readonly type: 'resync'; readonly data: Record<string, never> };

export type LiveListener = (event: LiveEvent) => void;

/**
 * Fans the coordinator's events out to subscribers of one experiment (or of all, for the
 * experiments list). One listener per event name sits on each bus however many tabs are open:
 * this process's coordinator, and the follower of the change feed for searches other processes run.
 */
export class LiveEvents {
  readonly #subscribers = new Map<number, Set<LiveListener>>();
  readonly #everything = new Set<LiveListener>();
  readonly #unsubscribe: (() => void)[];

  constructor(buses: readonly CoordinatorEventBus[]) {
    this.#unsubscribe = buses.flatMap((bus) => [
      bus.on('epoch', (data) => this.publish(data.experimentId, { type: 'epoch', data })),
      bus.on('run', (data) => this.publish(data.experimentId, { type: 'run', data })),
      bus.on('experiment', (data) => this.publish(data.experimentId, { type: 'experiment', data })),
      bus.on('progress', (data) => this.publish(data.experimentId, { type: 'progress', data })),
    ]);
  }

  /** Calls `listener` with every event of every experiment (the experiments list) until the returned function is called. */
  subscribeAll(listener: LiveListener): () => void {
    this.#everything.add(listener);
    return () => this.#everything.delete(listener);
  }

  /** Tells every subscriber to reload what it shows. */
  resync(): void {
    for (const listener of this.#allListeners()) this.#call(listener, { type: 'resync', data: {} });
  }

  *#allListeners(): Iterable<LiveListener> {
    for (const set of this.#subscribers.values()) yield* set;
    yield* this.#everything;
  }

  #call(listener: LiveListener, event: LiveEvent): void {
    try {
      listener(event);
    } catch (error) {
      // A broken subscriber (a closed socket) must never break the coordinator's write path.
      console.error('live event subscriber failed:', error);
    }
  }

  /** Calls `listener` with every event of the experiment until the returned function is called. */
  subscribe(experimentId: number, listener: LiveListener): () => void {
    let set = this.#subscribers.get(experimentId);
    if (!set) {
      set = new Set();
      this.#subscribers.set(experimentId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#subscribers.delete(experimentId);
    };
  }

  publish(experimentId: number, event: LiveEvent): void {
    for (const listener of [...(this.#subscribers.get(experimentId) ?? []), ...this.#everything]) this.#call(listener, event);
  }

  get subscriberCount(): number {
    return [...this.#allListeners()].length;
  }

  close(): void {
    for (const stop of this.#unsubscribe) stop();
    this.#subscribers.clear();
    this.#everything.clear();
  }
}
