// Shared helpers for the dashboard's page modules. No build step: plain ES modules.
// Page data arrives in a data-page attribute (JSON); everything user-written is put in the
// DOM with textContent, never innerHTML, and fragments come from the server already escaped.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** The JSON the server put in #page[data-page]. */
export function pageData() {
  const raw = document.getElementById('page')?.dataset.page;
  return raw ? JSON.parse(raw) : {};
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `request failed with status ${status}`);
    this.status = status;
    this.code = error?.code;
    this.issues = error?.issues ?? [];
  }
}

export async function fetchJson(url, options = {}) {
  const response = await fetch(url, { ...options, headers: { Accept: 'application/json', ...(options.headers ?? {}) } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.error);
  return body;
}

export function postJson(url, data) {
  return fetchJson(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data ?? {}) });
}

/** Calls fn at most once per `ms`, always with a trailing call after the last trigger. */
export function throttle(fn, ms) {
  let timer = null;
  let pending = false;
  return () => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      if (pending) {
        pending = false;
        fn();
        timer = setTimeout(tick, ms);
      } else {
        timer = null;
      }
    }, ms);
  };
}

/**
 * Re-renders some partials of the current page (or of `page`, when the URL is a form's answer) on
 * the server and swaps them in by id. Returns the ids swapped. Open <details> stay open.
 */
export async function refreshFragments(names, page = location.href) {
  const url = new URL(page, location.href);
  url.hash = '';
  url.searchParams.set('fragment', names.join(','));
  const response = await fetch(url, { headers: { Accept: 'text/html' } });
  if (!response.ok) return [];
  const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
  const swapped = [];
  for (const fresh of $$('template', doc).flatMap((template) => [...template.content.children])) {
    const current = fresh.id ? document.getElementById(fresh.id) : null;
    if (!current) continue;
    const open = $$('details[open]', current).map((d) => $$('details', current).indexOf(d));
    const node = document.importNode(fresh, true);
    const details = $$('details', node);
    for (const index of open) details[index]?.setAttribute('open', '');
    current.replaceWith(node);
    swapped.push(fresh.id);
  }
  return swapped;
}

/** Subscribes to an experiment's Server-Sent Events; returns the EventSource (it reconnects by itself). */
export function liveEvents(experimentId, handlers) {
  return liveStream(`/api/experiments/${experimentId}/events`, handlers);
}

/** Subscribes to a Server-Sent Events stream of the API (an experiment's, or /api/events for the list). */
export function liveStream(url, handlers) {
  const source = new EventSource(url);
  // The connection state, for people (and tests) wondering whether the page is live.
  const root = document.documentElement;
  source.addEventListener('hello', () => (root.dataset.live = 'connected'));
  // Until the stream opens, the page shows what the server rendered; 'hello' handlers catch up.
  source.addEventListener('error', () => (root.dataset.live = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  }
  window.addEventListener('pagehide', () => source.close(), { once: true });
  return source;
}

export const fmt = {
  score: (v, digits = 4) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—'),
  int: (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—'),
  compact: (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
    if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
    if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
    return String(v);
  },
};

// The vocabulary (labels, directions, metric keys) comes with the page data (server/http/page-vocabulary.ts):
// this file keeps no copy of it. A page without it (the experiments list) labels names as they are.
const vocabulary = pageData().vocabulary ?? { metrics: {}, params: {} };

/** `val_auc` → "validation AUC". */
export const metricLabel = (key) => vocabulary.metrics[key]?.label ?? String(key ?? '');

/** `learningRate` → "learning rate". */
export const paramLabel = (name) => vocabulary.params[name] ?? name;

/** The bare metric a key measures: `val_auc` → `auc`, `loss` → `loss`. */
export const metricName = (key) => vocabulary.metrics[key]?.name ?? String(key ?? '');

/** Which way a metric key is better: 'maximize' or 'minimize'. */
export const directionOf = (key) => vocabulary.metrics[key]?.direction ?? 'minimize';

/** Where a metric key was measured: 'val', 'test', or null (training set). */
export const scopeOf = (key) => vocabulary.metrics[key]?.scope ?? null;

/** The key of a metric in a scope: metricKey('val', 'auc') → the key the server spells for it (`val_auc`). */
export function metricKey(scope, name) {
  return Object.keys(vocabulary.metrics).find((key) => vocabulary.metrics[key].scope === scope && vocabulary.metrics[key].name === name);
}

/** A sort comparator on numbers that puts the best first in `direction`. */
export const bestFirst = (direction) => (a, b) => (direction === 'maximize' ? b - a : a - b);

/** Shows a short message in place of an element's content (text only). */
export function showMessage(element, text) {
  element.replaceChildren();
  const message = document.createElement('div');
  message.className = 'chart-message';
  message.textContent = text;
  element.append(message);
}
