import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../auth/viewer.js';
import type { Metrics } from './metrics.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** GET /metrics: the Prometheus text format; with a token configured, only for its bearer (else 401). */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  token: string | undefined,
): Promise<void> {
  if (token !== undefined) {
    const given = bearerToken(req.headers.authorization);
    if (given === undefined || !timingSafeEqual(digest(given), digest(token))) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
      res.end('unauthorized\n');
      return;
    }
  }
  const body = await metrics.render();
  res.writeHead(200, { 'content-type': metrics.contentType });
  res.end(body);
}
