import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-error.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/** The host name of a Host header, without the port (`[::1]:3000` → `[::1]`). */
function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/**
 * Refuses requests whose Host is not this server's name (DNS rebinding: a page on evil.test
 * resolving to 127.0.0.1 would otherwise be same-origin with us). Bound to a wildcard address,
 * any host is accepted: the person chose to expose it.
 */
export function hostGuard(boundHost: string) {
  const wildcard = WILDCARD_HOSTS.has(boundHost);
  const allowed = new Set([...LOOPBACK_NAMES, boundHost.toLowerCase()]);
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (wildcard) return next();
    const host = req.headers.host;
    if (host === undefined || !allowed.has(hostName(host))) {
      return next(
        new HttpError(
          421,
          'misdirected',
          `this dashboard answers to ${[...allowed].filter((h) => !h.startsWith(':')).join(', ')}, not "${String(host).slice(0, 100)}"`,
        ),
      );
    }
    next();
  };
}

/**
 * State-changing requests (anything but GET/HEAD/OPTIONS) must come from our own pages: refused
 * with 403 when Origin names another origin (or is "null"), or when the browser says the
 * request is cross-site. Clients that send neither header (curl, scripts) are not browsers
 * carrying someone's ambient access, and pass.
 */
export function originGuard(req: Request, _res: Response, next: NextFunction): void {
  if (SAFE_METHODS.has(req.method)) return next();
  const fetchSite = req.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return next(
      new HttpError(403, 'forbidden', `refused a ${fetchSite} ${req.method}: state-changing requests must come from the dashboard itself`),
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let sameOrigin = false;
    try {
      const url = new URL(origin);
      sameOrigin = url.protocol === `${req.protocol}:` && url.host.toLowerCase() === String(req.headers.host).toLowerCase();
    } catch {
      sameOrigin = false;
    }
    if (!sameOrigin)
      return next(
        new HttpError(
          403,
          'forbidden',
          `refused a ${req.method} from origin "${origin.slice(0, 100)}": state-changing requests must come from the dashboard itself`,
        ),
      );
  }
  next();
}

/** Defence in depth beside escaping: no inline script can run, no framing, no sniffing. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
      "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Not no-referrer: under it Chrome sends `Origin: null` with our own form posts, which originGuard must refuse.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  next();
}
