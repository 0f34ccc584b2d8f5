import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { guardedLookup, refusedAddress } from './address-guard.js';

/** What is kept of a receiver's answer. */
export const MAX_RESPONSE_BYTES = 1024;

export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /** Aborts the attempt (the process is stopping): its outcome is not recorded. */
  readonly signal: AbortSignal;
}

export interface SendResult {
  /** Null on a network error or time-out. */
  readonly statusCode: number | null;
  readonly durationMs: number;
  /** Null on success. */
  readonly error: string | null;
  /** At most MAX_RESPONSE_BYTES of the answer's body (cut at a character boundary). */
  readonly responseBody: string | null;
}

/** Cuts `bytes` to at most `max` bytes of whole UTF-8 characters. */
function utf8Prefix(bytes: Buffer, max: number): string {
  let text = bytes.subarray(0, max).toString('utf8');
  while (Buffer.byteLength(text) > max || text.endsWith('\uFFFD')) text = text.slice(0, -1);
  return text;
}

/**
 * POSTs one delivery. Redirects are not followed (a 3xx is a failure: following one would let
 * a public endpoint point the server at an internal one). The connection goes to an address
 * the guard checked; a 2xx whose headers arrive within `timeoutMs` is a success.
 */
export class WebhookSender {
  // Own agents: sockets made for webhooks were checked by the guard; nothing else shares them.
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly allowPrivate: boolean) {
    const lookup = guardedLookup(allowPrivate);
    this.httpAgent = new http.Agent({ keepAlive: true, lookup });
    this.httpsAgent = new https.Agent({ keepAlive: true, lookup });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  send(request: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const url = new URL(request.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // Node calls the lookup only for names; a literal address is checked here.
    const refused = !this.allowPrivate && isIP(host) ? refusedAddress(host) : null;
    if (refused) return Promise.resolve({ statusCode: null, durationMs: 0, error: `refused: ${refused}`, responseBody: null });
    const secure = url.protocol === 'https:';
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, 'durationMs'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { ...request.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body) },
        signal: request.signal,
      });
      // Until the status arrives, the time-out fails the attempt; after, it only ends reading the body.
      let onTimeout = (): void => {
        req.destroy();
        finish({ statusCode: null, error: `no answer within ${request.timeoutMs / 1000} s`, responseBody: null });
      };
      const timer = setTimeout(() => onTimeout(), request.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        const refusedByGuard = error.code === 'EADDRREFUSED';
        finish({ statusCode: null, error: refusedByGuard ? `refused: ${error.message}` : error.message, responseBody: null });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          res.destroy();
          const body = chunks.length ? utf8Prefix(Buffer.concat(chunks), MAX_RESPONSE_BYTES) : null;
          const error =
            status >= 200 && status < 300
              ? null
              : status >= 300 && status < 400
                ? `HTTP ${status}: redirect${res.headers.location ? ` to ${res.headers.location}` : ''} not followed`
                : `HTTP ${status}`;
          finish({ statusCode: status, error, responseBody: body });
        };
        onTimeout = done;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_RESPONSE_BYTES) done();
        });
        res.on('end', done);
        // A body cut off after its status arrived does not change the outcome.
        res.on('error', done);
      });
      req.end(request.body);
    });
  }
}
