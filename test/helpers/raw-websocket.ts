import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A frame from the server: text, or the close frame's code. */
export type RawFrame = { readonly text: string } | { readonly closeCode: number };

/**
 * A WebSocket client written on a bare TCP socket, for what no library client does: it never
 * answers the server's close frame, and keeps sending after it (a misbehaving or hostile peer).
 */
export class RawWebSocket {
  readonly frames: RawFrame[] = [];
  private pending = Buffer.alloc(0);
  private readonly wakers = new Set<() => void>();

  private constructor(private readonly socket: Socket) {}

  /** Upgrades a connection to `wsUrl` with the graphql-transport-ws subprotocol. */
  static open(wsUrl: string): Promise<RawWebSocket> {
    const { hostname, port, pathname } = new URL(wsUrl);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      const raw = new RawWebSocket(socket);
      let upgraded = false;
      socket.once('error', reject);
      socket.on('connect', () =>
        socket.write(
          [
            `GET ${pathname} HTTP/1.1`,
            `Host: ${hostname}:${port}`,
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
            'Sec-WebSocket-Version: 13',
            'Sec-WebSocket-Protocol: graphql-transport-ws',
            '',
            '',
          ].join('\r\n'),
        ),
      );
      socket.on('data', (chunk: Buffer) => {
        raw.pending = Buffer.concat([raw.pending, chunk]);
        if (!upgraded) {
          const end = raw.pending.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = raw.pending.subarray(0, end).toString();
          if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
          raw.pending = raw.pending.subarray(end + 4);
          upgraded = true;
          resolve(raw);
        }
        raw.readFrames();
      });
    });
  }

  /** Writes `bytes` as they are: a frame, or a part of one. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends `message` as one masked text frame, as a client must. */
  sendJson(message: object): void {
    const payload = Buffer.from(JSON.stringify(message));
    if (payload.length > 0xffff) throw new Error('frame too long for this client');
    const mask = randomBytes(4);
    const header =
      payload.length < 126
        ? Buffer.from([0x81, 0x80 | payload.length])
        : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    this.socket.write(Buffer.concat([header, mask, payload.map((byte, i) => byte ^ mask[i % 4])]));
  }

  /** Resolves with the first frame received that `matches` (rejects after `timeoutMs`). */
  async waitFor(matches: (frame: RawFrame) => boolean, timeoutMs = 10_000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(matches);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such frame; received ${JSON.stringify(this.frames)}`);
      await new Promise<void>((wake) => {
        this.wakers.add(wake);
        setTimeout(wake, 100);
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readFrames(): void {
    // Server frames are unmasked; this client's messages fit in 16-bit lengths, the server's too.
    while (this.pending.length >= 2) {
      const opcode = this.pending[0] & 0x0f;
      let length = this.pending[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.pending.length < 4) return;
        length = this.pending.readUInt16BE(2);
        offset = 4;
      }
      if (this.pending.length < offset + length) return;
      const payload = this.pending.subarray(offset, offset + length);
      this.pending = this.pending.subarray(offset + length);
      if (opcode === 0x1) this.frames.push({ text: payload.toString() });
      else if (opcode === 0x8) this.frames.push({ closeCode: payload.length >= 2 ? payload.readUInt16BE(0) : 1005 });
      for (const wake of this.wakers) wake();
      this.wakers.clear();
    }
  }
}
