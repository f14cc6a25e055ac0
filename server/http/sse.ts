import type { Request, Response } from 'express';
import type { LiveEvent, LiveEvents } from '../services/live-events.js';

const FLUSH_EVERY_MS = 100;
const HEARTBEAT_MS = 15_000;
/** Past this much unsent text a tab is too slow to follow: drop the backlog and tell it to reload its data. */
const MAX_BACKLOG_CHARS = 2_000_000;

/** What the experiments list hears: status changes and finished runs of every experiment, no epochs. */
const LIST_EVENTS: ReadonlySet<LiveEvent['type']> = new Set(['experiment', 'run', 'search', 'resync']);

/**
 * Streams one experiment's live events as Server-Sent Events. Events are batched every 100 ms
 * (a search writes many epochs a second); a comment line every 15 s keeps proxies from timing out.
 */
export function streamExperimentEvents(req: Request, res: Response, live: LiveEvents, experimentId: number): void {
  streamEvents(req, res, { experimentId }, (listener) => live.subscribe(experimentId, listener));
}

/** Streams the events the experiments list refreshes on, of every experiment, in the same way. */
export function streamListEvents(req: Request, res: Response, live: LiveEvents): void {
  streamEvents(req, res, {}, (listener) =>
    live.subscribeAll((event) => {
      if (LIST_EVENTS.has(event.type)) listener(event);
    }),
  );
}

function streamEvents(
  req: Request,
  res: Response,
  hello: Record<string, unknown>,
  subscribe: (listener: (event: LiveEvent) => void) => () => void,
): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);

  let backlog: string[] = [];
  let resync = false;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (res.writableEnded) return;
    if (res.writableLength > MAX_BACKLOG_CHARS) {
      // The socket is not draining: drop what waits, and ask the tab to reload once it catches up.
      backlog = [];
      resync = true;
      timer = setTimeout(flush, FLUSH_EVERY_MS * 10);
      return;
    }
    if (resync) backlog.unshift('event: resync\ndata: {}\n\n');
    resync = false;
    if (backlog.length > 0) res.write(backlog.join(''));
    backlog = [];
  };
  const unsubscribe = subscribe((event) => {
    if (!resync) backlog.push(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    timer ??= setTimeout(flush, FLUSH_EVERY_MS);
  });
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': ping\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  req.on('close', () => {
    unsubscribe();
    clearInterval(heartbeat);
    if (timer) clearTimeout(timer);
  });
}
