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
 * Re-renders some partials of the current page on the server and swaps them in by id.
 * Returns the ids swapped. Open <details> stay open.
 */
export async function refreshFragments(names) {
  const url = new URL(location.href);
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
  const source = new EventSource(`/api/experiments/${experimentId}/events`);
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

const METRIC_LABELS = { auc: 'AUC', pr_auc: 'PR AUC', rmse: 'RMSE', mae: 'MAE', r2: 'R²', accuracy: 'accuracy', loss: 'loss' };
export function metricLabel(name) {
  const match = /^(val_|test_)?(.*)$/.exec(name ?? '');
  const base = METRIC_LABELS[match[2]] ?? match[2].replace(/_/g, ' ');
  return match[1] === 'val_' ? `validation ${base}` : match[1] === 'test_' ? `test ${base}` : base;
}

const PARAM_LABELS = {
  widthSchedule: 'width schedule',
  learningRate: 'learning rate',
  l2: 'L2',
  epochs: 'max epochs',
  batchSize: 'batch size',
};
export const paramLabel = (name) => PARAM_LABELS[name] ?? name;

/** Shows a short message in place of an element's content (text only). */
export function showMessage(element, text) {
  element.replaceChildren();
  const message = document.createElement('div');
  message.className = 'chart-message';
  message.textContent = text;
  element.append(message);
}
