import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A delivery as the receiver got it, after its signature was verified. */
export interface Received {
  readonly id: string;
  readonly timestamp: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the delivered JSON, checked by expect()
  readonly body: Record<string, any>;
  /** The status the receiver answered with. */
  readonly status: number;
}

/** Decides the answer to the `nth` verified request (default 200; 0 holds it unanswered). */
export type Responder = (delivery: Omit<Received, 'status'>, nth: number) => number | { status: number; body: string };

/**
 * A webhook receiver on 127.0.0.1 as a customer would write it: verifies every request with the
 * `standardwebhooks` package and the secret it was given (a request that fails verification is
 * answered 401 and counted in `rejected`).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly rejected: Array<{ headers: IncomingHttpHeaders; error: string }> = [];
  /** Requests that are being held (never answered) by a `hold` responder. */
  readonly held: Array<() => void> = [];
  secret = '';
  respond: Responder = () => 200;
  private calls = 0;
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Verified deliveries that were answered 2xx. */
  delivered(): Received[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const payload = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        let body: Record<string, unknown>;
        try {
          body = new Webhook(this.secret).verify(payload, headers) as Record<string, unknown>;
        } catch (error) {
          this.rejected.push({ headers: req.headers, error: String(error) });
          res.writeHead(401).end();
          return;
        }
        const delivery = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body };
        const answer = this.respond(delivery, ++this.calls);
        const { status, body: text } = typeof answer === 'number' ? { status: answer, body: '' } : answer;
        if (status === 0) {
          // 0 = hold the request open (a receiver that hangs).
          this.held.push(() => res.destroy());
          return;
        }
        this.received.push({ ...delivery, status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const release of this.held.splice(0)) release();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
