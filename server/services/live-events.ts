import type { CoordinatorEventBus, CoordinatorEvents } from '../coordinator/events.js';
import type { BackgroundRefit, BackgroundSearch } from './background-work-types.js';

/** What a dashboard tab hears about one experiment: the coordinator's events plus background-job changes. */
export type LiveEvent =
  | { readonly type: 'epoch'; readonly data: CoordinatorEvents['epoch'] }
  | { readonly type: 'run'; readonly data: CoordinatorEvents['run'] }
  | { readonly type: 'experiment'; readonly data: CoordinatorEvents['experiment'] }
  | { readonly type: 'progress'; readonly data: CoordinatorEvents['progress'] }
  | { readonly type: 'refit'; readonly data: BackgroundRefit }
  | { readonly type: 'search'; readonly data: BackgroundSearch };

export type LiveListener = (event: LiveEvent) => void;

/**
 * Fans the coordinator's events out to subscribers of one experiment. One listener per event
 * name sits on the coordinator's bus however many tabs are open.
 */
export class LiveEvents {
  readonly #subscribers = new Map<number, Set<LiveListener>>();
  readonly #unsubscribe: (() => void)[];

  constructor(bus: CoordinatorEventBus) {
    this.#unsubscribe = [
      bus.on('epoch', (data) => this.publish(data.experimentId, { type: 'epoch', data })),
      bus.on('run', (data) => this.publish(data.experimentId, { type: 'run', data })),
      bus.on('experiment', (data) => this.publish(data.experimentId, { type: 'experiment', data })),
      bus.on('progress', (data) => this.publish(data.experimentId, { type: 'progress', data })),
    ];
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
    const set = this.#subscribers.get(experimentId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        // A broken subscriber (a closed socket) must never break the coordinator's write path.
        console.error('live event subscriber failed:', error);
      }
    }
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.#subscribers.values()) count += set.size;
    return count;
  }

  close(): void {
    for (const stop of this.#unsubscribe) stop();
    this.#subscribers.clear();
  }
}
