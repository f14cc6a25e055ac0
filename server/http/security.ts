import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpError } from './http-error.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** `name[:port]`: a bracketed IPv6 address or dot-separated labels (DNS names, IPv4), then an optional port. */
const HOST_HEADER = new RegExp(`^(\\[[0-9a-f:.]+\\]|${LABEL}(?:\\.${LABEL})*)(?::([0-9]{1,5}))?$`, 'i');

/**
 * A Host header's name, lower-cased, without the port (`[::1]:3000` → `[::1]`); null unless the
 * header is exactly `name` or `name:port` (RFC 9110 §7.2): a DNS name, an IPv4 address or a
 * bracketed IPv6 address, then a port from 1 to 65535. `localhost:3000@evil.test`, `[::1]evil.test`,
 * `localhost:`, spaces, a trailing dot: refused, never guessed at.
 */
export function hostName(header: string): string | null {
  const match = HOST_HEADER.exec(header);
  if (match === null) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return match[1]!.toLowerCase();
}

/**
 * Refuses requests whose Host is not this server's name (DNS rebinding: a page on evil.test
 * resolving to 127.0.0.1 would otherwise be same-origin with us) with 421, and a missing, repeated
 * or malformed Host with 400. Bound to a wildcard address, any well-formed host is accepted: the
 * person chose to expose it.
 */
export function hostGuard(boundHost: string) {
  const wildcard = WILDCARD_HOSTS.has(boundHost);
  const allowed = new Set([...LOOPBACK_NAMES, boundHost.toLowerCase()]);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const host = req.headers.host;
    const hostHeaders = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'host').length;
    const name = host === undefined || hostHeaders > 1 ? null : hostName(host);
    if (name === null) {
      const what = host === undefined ? 'no Host header' : hostHeaders > 1 ? `${hostHeaders} Host headers` : `Host "${host.slice(0, 100)}"`;
      return next(new HttpError(400, 'bad_request', `${what}: expected one Host header of the form name or name:port`));
    }
    if (!wildcard && !allowed.has(name)) {
      return next(
        new HttpError(
          421,
          'misdirected',
          `this dashboard answers to ${[...allowed].filter((h) => !h.startsWith(':')).join(', ')}, not "${host!.slice(0, 100)}"`,
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

/**
 * Bodies that the JSON and form parsers left unread (another Content-Type, or none) obey the same
 * limit: read up to it and dropped (a 413 past it), so no route leaves a body of any size to be
 * drained. CSV uploads are routed before this, with their own limit.
 */
export function limitUnreadBodies(limit: string) {
  const read = express.raw({ type: () => true, limit });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.body !== undefined) return next();
    read(req, res, (error?: unknown) => {
      req.body = undefined;
      next(error);
    });
  };
}
