/**
 * A Server-Sent Events client for tests and benchmarks: reads a stream with fetch and keeps every
 * event with the time it arrived (Date.now(), comparable with the change feed's created_at).
 */
export type ReceivedEvent = { readonly type: string; readonly data: unknown; readonly at: number };

export type SseClient = {
  readonly events: ReceivedEvent[];
  /** Resolves once the server's `hello` arrived: later events will be seen. */
  readonly ready: Promise<void>;
  close(): void;
};

export function openSse(url: string): SseClient {
  const controller = new AbortController();
  const events: ReceivedEvent[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  void (async () => {
    const response = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) type = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue; // a comment (ping) or the retry line alone
        events.push({ type, data: JSON.parse(data.join('\n')), at: Date.now() });
        if (type === 'hello') markReady();
      }
    }
  })().catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') console.error(`SSE client of ${url}:`, error);
  });
  return { events, ready, close: () => controller.abort() };
}
