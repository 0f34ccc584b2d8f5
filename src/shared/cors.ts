import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Which browser origins may call the API: `'*'` (any; this API authenticates with a bearer
 * header, never cookies, so it never allows credentials), a list of origins, or none. A page
 * served by this server itself (same host) is always allowed.
 */
export type CorsOrigins = '*' | readonly string[];

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = 'authorization, content-type, apollo-require-preflight, x-request-id';
/** Browsers cache a preflight this long (Chromium caps it at 2 hours). */
const MAX_AGE_SEC = 7200;

/** `http(s)://host[:port]` as browsers send it in `Origin`, or null for anything else. */
export function normalOrigin(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // A path, query or credentials mean it was not an origin.
  return value.replace(/\/$/, '').toLowerCase() === url.origin ? url.origin : null;
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether a request from `origin` (its `Origin` header) to this server (its `Host` header) is allowed. */
export function originAllowed(origins: CorsOrigins, origin: string, host: string | undefined): boolean {
  if (origins === '*') return true;
  return origins.includes(origin) || sameHost(origin, host);
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * CORS for the GraphQL path. Sets the headers for an allowed origin; answers a preflight itself
 * (204 allowed, 403 refused) and then returns true. Without configured origins nothing changes.
 */
export function answerCors(origins: CorsOrigins, req: IncomingMessage, res: ServerResponse): boolean {
  if (origins !== '*' && origins.length === 0) return false;
  const origin = headerOf(req, 'origin');
  if (origins !== '*') res.setHeader('vary', 'Origin');
  if (origin === undefined) return false;
  const preflight = req.method === 'OPTIONS' && headerOf(req, 'access-control-request-method') !== undefined;
  if (!originAllowed(origins, origin, req.headers.host)) {
    if (!preflight) return false;
    res.writeHead(403).end();
    return true;
  }
  res.setHeader('access-control-allow-origin', origins === '*' ? '*' : origin);
  res.setHeader('access-control-expose-headers', 'x-request-id');
  if (!preflight) return false;
  res.writeHead(204, {
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': String(MAX_AGE_SEC),
  });
  res.end();
  return true;
}
