import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup } from './helpers/factories.js';
import { parsePrometheus, sampleSum } from './helpers/prometheus.js';
import { RawWebSocket } from './helpers/raw-websocket.js';
import { ProtocolSocket, type ProtocolMessage } from './helpers/ws.js';

const QUEUE = `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id } } }`;
const TICKS = `subscription { slTicks(intervalMs: 250) { serverTime } }`;

/** One app per block, with the limits that block is about. */
function withApp(config: Partial<Config>): { readonly t: TestApp } {
  const holder = {} as { t: TestApp };
  beforeAll(async () => {
    holder.t = await startTestApp({ config });
  });
  afterAll(() => holder.t.stop());
  return holder;
}

function errorsOf(message: ProtocolMessage): Array<{ message: string; extensions?: Record<string, unknown> }> {
  expect(message.type).toBe('error');
  return message.type === 'error' ? message.payload : [];
}

async function healthy(t: TestApp): Promise<void> {
  const response = await fetch(t.app.server.url.replace(/\/graphql$/, '/healthz'), { signal: AbortSignal.timeout(5000) });
  expect(response.status).toBe(200);
}

/** Subscribes `id` to group `g`'s queue and waits until the server listens for it. */
async function followQueue(t: TestApp, s: ProtocolSocket, id: string, g: string): Promise<void> {
  const before = t.app.services.bus.handlerCount();
  s.subscribe(id, QUEUE, { g });
  await eventually(() => t.app.services.bus.handlerCount() > before, 10_000, `${id} registered`);
}

/** Queues a new dialog in group `g` and expects `s` to hear about it on operation `id`. */
async function expectQueued(t: TestApp, s: ProtocolSocket, id: string, g: string): Promise<void> {
  const dialog = await transfer(t.admin, (await startDialog(t.admin)).id, { groupId: g });
  const event = await s.nextFor(id);
  expect(event).toMatchObject({
    type: 'next',
    payload: { data: { queueChanged: { type: 'QUEUED', dialog: { id: dialog.id } } } },
  });
}

describe('frames', () => {
  const app = withApp({});

  it('a frame over the limit is refused (1009) before it is parsed or authenticated', async () => {
    const { t } = app;
    const rssBefore = process.memoryUsage().rss;
    // A valid token inside: the size alone gets it refused.
    const big = JSON.stringify({
      type: 'connection_init',
      payload: { authorization: `Bearer ${ADMIN_TOKEN}`, pad: 'x'.repeat(1024 * 1024) },
    });
    const sockets = await Promise.all(Array.from({ length: 6 }, () => ProtocolSocket.open(t.app.server.wsUrl)));
    for (const s of sockets) s.send(big);
    for (const s of sockets) expect((await s.closed).code).toBe(1009);
    expect(t.app.server.sockets.size).toBe(0);
    // Six 1 MiB frames cost the test's own client ~12 MiB; the server buffers none of them.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await healthy(t);

    // The same init at a normal size is accepted.
    const ok = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    expect(t.app.server.sockets.size).toBe(1);
    ok.close();
    await ok.closed;
  });

  it('a frame announcing 90 MB is refused from its header, before any of it is sent', async () => {
    const { t } = app;
    expect(await announceFrame(t.app.server.wsUrl, 90 * 1024 * 1024)).toBe(1009);
    await healthy(t);
  });
});

/**
 * Over raw TCP: completes the WebSocket handshake, sends only the header of a masked text frame
 * announcing `length` bytes, and resolves with the close code the server answers.
 */
async function announceFrame(wsUrl: string, length: number): Promise<number> {
  const socket = await RawWebSocket.open(wsUrl);
  try {
    const header = Buffer.alloc(14);
    header[0] = 0x81; // FIN, text
    header[1] = 0x80 | 127; // masked, 64-bit length follows
    header.writeBigUInt64BE(BigInt(length), 2);
    randomBytes(4).copy(header, 10);
    socket.sendRaw(header);
    const closed = await socket.waitFor((frame) => 'closeCode' in frame);
    return 'closeCode' in closed ? closed.closeCode : 0;
  } finally {
    socket.destroy();
  }
}

describe('connection_init', () => {
  const app = withApp({ wsConnectionInitTimeoutMs: 300 });

  it('a socket that does not initialise in time is closed with 4408; an initialised one stays', async () => {
    const { t } = app;
    const ready = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    const silent = await ProtocolSocket.open(t.app.server.wsUrl);
    expect(await silent.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    // Past the same timeout, the initialised socket still answers.
    ready.send({ type: 'ping' });
    expect(await ready.next((m) => m.type === 'pong')).toMatchObject({ type: 'pong' });
    ready.close();
  });

  it('nothing but connection_init is accepted first: a subscribe closes the socket with 4401', async () => {
    const { t } = app;
    const before = t.app.services.bus.handlerCount();
    const s = await ProtocolSocket.open(t.app.server.wsUrl);
    s.subscribe('1', QUEUE);
    expect(await s.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    expect(t.app.services.bus.handlerCount()).toBe(before);
  });
});

describe('operations per socket', () => {
  const app = withApp({ wsMaxSubscriptionsPerSocket: 3, wsMaxSlTicksPerSocket: 2 });

  it('the one past the limit gets an error for its id; the socket and its other streams carry on', async () => {
    const { t } = app;
    const g = await createGroup(t.admin);
    const s = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    await followQueue(t, s, 'a', g.id);
    await followQueue(t, s, 'b', g.id);
    await followQueue(t, s, 'c', g.id);

    s.subscribe('d', QUEUE, { g: g.id });
    const [refused] = errorsOf(await s.nextFor('d'));
    expect(refused).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', max: 3 } });
    await expectQueued(t, s, 'a', g.id);

    // A finished operation makes room.
    const open = t.app.services.bus.handlerCount();
    s.complete('b');
    await eventually(() => t.app.services.bus.handlerCount() < open, 10_000, 'b released');
    await followQueue(t, s, 'e', g.id);
    await expectQueued(t, s, 'e', g.id);
    s.close();
  });

  it('slTicks are limited separately, fragments included', async () => {
    const { t } = app;
    const g = await createGroup(t.admin);
    const s = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    s.subscribe('t1', TICKS);
    s.subscribe('t2', `subscription { every: slTicks(intervalMs: 300) { serverTime } }`);
    expect(await s.nextFor('t1')).toMatchObject({ type: 'next', payload: { data: { slTicks: expect.anything() } } });
    expect(await s.nextFor('t2')).toMatchObject({ type: 'next', payload: { data: { every: expect.anything() } } });

    s.subscribe('t3', TICKS);
    expect(errorsOf(await s.nextFor('t3'))[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', max: 2 } });
    s.subscribe('t4', `subscription { ...Ticks } fragment Ticks on Subscription { slTicks { serverTime } }`);
    expect(errorsOf(await s.nextFor('t4'))[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', max: 2 } });

    // Other subscriptions are still allowed up to the socket's total, and deliver.
    await followQueue(t, s, 'q', g.id);
    await expectQueued(t, s, 'q', g.id);

    // Ending one slTicks makes room for another.
    s.complete('t1');
    s.subscribe('t5', TICKS);
    expect(await s.nextFor('t5')).toMatchObject({ type: 'next', payload: { data: { slTicks: expect.anything() } } });
    s.close();
  });
});

describe('sockets per token', () => {
  const app = withApp({ wsMaxSocketsPerToken: 2 });

  it('the socket past the limit is closed with 4429; closing one makes room; other tokens are not affected', async () => {
    const { t } = app;
    const url = t.app.server.wsUrl;
    const first = await ProtocolSocket.connect(url, ADMIN_TOKEN);
    await ProtocolSocket.connect(url, ADMIN_TOKEN);
    const third = await ProtocolSocket.open(url);
    third.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await third.closed).toEqual({ code: 4429, reason: 'Too many connections' });

    const bot = await ProtocolSocket.connect(url, await apiToken(t.admin, 'INTEGRATION'));
    expect(t.app.server.sockets.size).toBe(3);

    first.close();
    await first.closed;
    await eventually(() => t.app.server.sockets.size === 2, 5000, 'socket released');
    const again = await ProtocolSocket.connect(url, ADMIN_TOKEN);
    again.send({ type: 'ping' });
    await again.next((m) => m.type === 'pong');
    bot.close();
  });
});

describe('parsed-document cache', () => {
  const maxBytes = 2 * 1024 * 1024;
  const maxDocumentBytes = 256 * 1024;
  // Operation limits raised out of the way: this is about the cache's memory bound alone.
  const app = withApp({
    wsDocumentCacheBytes: maxBytes,
    wsDocumentCacheMaxDocumentBytes: maxDocumentBytes,
    operationLimits: { tokens: 1_000_000, depth: 100, aliases: 100_000, directives: 100, cost: 1_000_000_000 },
  });

  /** A distinct document of about `fields` × 3 tokens, refused by validation (so cheap to run). */
  const document = (i: number, fields: number): string =>
    `subscription D${i} { queueChanged { ${Array.from({ length: fields }, (_, f) => `f${f}: type`).join(' ')} } nope }`;

  it('40 distinct large documents stay within its bound; one over the per-document limit is not kept', async () => {
    const { t } = app;
    const s = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    const cache = t.app.server.webSockets;
    for (let i = 0; i < 40; i++) {
      s.subscribe(`d${i}`, document(i, 120)); // ~360 tokens: ~180 KB estimated
      expect(errorsOf(await s.nextFor(`d${i}`))[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
      expect(cache.documentCacheBytes()).toBeLessThanOrEqual(maxBytes);
    }
    // Full: older documents made way for newer ones.
    const full = cache.documentCacheBytes();
    expect(full).toBeGreaterThan(maxBytes / 2);

    s.subscribe('huge', document(99, 5000)); // ~15 000 tokens: ~7 MB estimated, parsed but not kept
    expect(errorsOf(await s.nextFor('huge'))[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(cache.documentCacheBytes()).toBe(full);
    s.close();
  });
});

describe('invalid operations', () => {
  const app = withApp({});

  it('a syntax error, a validation error or an unknown operation fail that id only', async () => {
    const { t } = app;
    const g = await createGroup(t.admin);
    const s = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    await followQueue(t, s, 'live', g.id);

    s.subscribe('syntax', `subscription { queueChanged { type `);
    expect(errorsOf(await s.nextFor('syntax'))).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^Syntax Error/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }),
    ]);
    s.subscribe('invalid', `subscription { queueChanged { nope } }`);
    expect(errorsOf(await s.nextFor('invalid'))).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/Cannot query field "nope"/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);
    s.subscribe('unnamed', `subscription A { queueChanged { type } } subscription B { queueChanged { type } }`);
    expect(errorsOf(await s.nextFor('unnamed'))[0]).toMatchObject({ extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
    s.subscribe('unknown', `subscription A { queueChanged { type } }`, {}, 'B');
    expect(errorsOf(await s.nextFor('unknown'))[0]).toMatchObject({
      message: 'Unknown operation named "B".',
      extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
    });

    // The socket is open and its earlier stream still delivers.
    await expectQueued(t, s, 'live', g.id);
    s.close();
  });
});

describe('a socket whose token is revoked runs nothing more, even when its client never answers the close', () => {
  const app = withApp({});

  it('operations sent after the 4401 close are not run (one sent before it was: the control)', async () => {
    const { t } = app;
    const { createApiToken } = await t.admin.ok(`mutation { createApiToken(name: "leaked admin", role: ADMIN) { id token } }`);
    const socket = await RawWebSocket.open(t.app.server.wsUrl);
    const texts = (): string[] => socket.frames.flatMap((f) => ('text' in f ? [f.text] : []));
    const runs = (name: string, id: string): void =>
      socket.sendJson({
        id,
        type: 'subscribe',
        payload: {
          query: `mutation ${name} { createGroup(input: { name: "${name}", slFirstResponseSec: 60, slNextResponseSec: 60 }) { id } }`,
        },
      });
    const ran = async (name: string): Promise<number> =>
      sampleSum(parsePrometheus(await t.app.services.metrics.registry.metrics()), 'handover_graphql_operations_total', {
        transport: 'ws',
        operation: name,
      });
    try {
      socket.sendJson({ type: 'connection_init', payload: { authorization: `Bearer ${createApiToken.token}` } });
      await socket.waitFor((f) => 'text' in f && f.text.includes('connection_ack'));
      runs('BeforeRevoke', '1');
      await socket.waitFor((f) => 'text' in f && f.text.includes('"complete"'));
      expect(texts().some((text) => text.includes('"createGroup"'))).toBe(true);

      await t.admin.ok(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, { id: createApiToken.id });
      await socket.waitFor((f) => 'closeCode' in f && f.closeCode === 4401);
      runs('AfterRevoke', '2');
    } finally {
      socket.destroy();
    }
    // Once the server has let the socket go, every operation its frames started is counted.
    await eventually(() => t.app.server.sockets.size === 0, 10_000, 'socket released');
    expect(await ran('BeforeRevoke')).toBe(1);
    expect(await ran('AfterRevoke')).toBe(0);
    const { groups } = await t.admin.ok<{ groups: Array<{ name: string }> }>(`{ groups { name } }`);
    expect(groups.map((g) => g.name)).toContain('BeforeRevoke');
    expect(groups.map((g) => g.name)).not.toContain('AfterRevoke');
  });
});
