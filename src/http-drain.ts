import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The graceful stop of one HTTP server. Once `stop()` has begun, the listener is closed (new
 * connections are refused), idle keep-alive connections are closed, requests already running
 * finish and their connections close after the answer. Requests that still arrive on an open
 * keep-alive connection are the caller's to refuse (`stopping`).
 */
export class HttpDrain {
  private readonly running = new Set<ServerResponse>();
  // Upgraded (WebSocket) sockets included: they keep the server open until they end too.
  private readonly connections = new Set<Socket>();
  private stopping = false;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Counts a request as running until its response is done. */
  track(req: IncomingMessage, res: ServerResponse): void {
    this.running.add(res);
    res.once('finish', () => {
      if (this.stopping) req.socket.end();
    });
    res.once('close', () => this.running.delete(res));
  }

  /**
   * Refuses new connections at once and waits up to `timeoutMs` for every connection to end
   * (the caller closes its WebSockets); then cuts the rest. Resolves with the number of
   * requests that were still running when they were cut (0 when everything ended in time).
   */
  async stop(timeoutMs: number): Promise<number> {
    this.stopping = true;
    for (const res of this.running) if (!res.headersSent) res.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([closed, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return 0;
    const cut = this.running.size;
    for (const socket of this.connections) socket.destroy();
    await closed;
    return cut;
  }
}
