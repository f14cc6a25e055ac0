import type { Request, Response } from 'express';
import type { LiveEvent, LiveEvents } from '../services/live-events.js';

const FLUSH_EVERY_MS = 100;
const HEARTBEAT_MS = 15_000;
/** Past this much unsent text a tab is too slow to follow: drop the backlog and tell it to reload its data. */
const MAX_BACKLOG_CHARS = 2_000_000;

/**
 * Streams one experiment's live events as Server-Sent Events. Events are batched every 100 ms
 * (a search writes many epochs a second); a comment line every 15 s keeps proxies from timing out.
 */
export function streamExperimentEvents(req: Request, res: Response, live: LiveEvents, experimentId: number): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ experimentId })}\n\n`);

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
  const unsubscribe = live.subscribe(experimentId, (event: LiveEvent) => {
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
