import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { eventually } from './helpers/eventually.js';
import { DIALOG_FIELDS, setStatus } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator } from './helpers/factories.js';
import { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { startServerProcess } from './helpers/process.js';
import { ProtocolSocket } from './helpers/ws.js';

const CLIENTS = 20;
/** Transfers completed before the signal: the load is running, not starting. */
const TRANSFERS_BEFORE_SIGNAL = 40;

const START = `mutation($input: StartDialogInput!) { startDialog(input: $input) { ${DIALOG_FIELDS} } }`;
const TRANSFER = `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { ${DIALOG_FIELDS} } }`;

/**
 * What became of one request: answered with data; refused cleanly (503 SHUTTING_DOWN, or the
 * connection refused or closed before any answer); or broken (anything else, e.g. a 500 or an
 * answer cut off mid-body).
 */
type DialogData = Record<string, { id: string; operator: { id: string } | null }>;
type Outcome =
  { kind: 'ok'; data: DialogData; answeredAt: number } | { kind: 'refused'; how: string } | { kind: 'broken'; detail: string };

async function send(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    // No answer at all: the request never reached a running server (connection refused, or
    // an idle kept-alive connection closed as the server stopped).
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'refused', how: cause?.code ?? cause?.message ?? String(error) };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    return { kind: 'broken', detail: `answer cut off after status ${response.status}: ${String(error)}` };
  }
  const body = JSON.parse(text) as { data?: DialogData; errors?: Array<{ extensions?: { code?: string } }> };
  if (response.status === 503 && body.errors?.[0]?.extensions?.code === 'SHUTTING_DOWN') return { kind: 'refused', how: '503' };
  if (response.status === 200 && body.data && !body.errors) return { kind: 'ok', data: body.data, answeredAt: Date.now() };
  return { kind: 'broken', detail: `${response.status} ${text}` };
}

describe('SIGTERM under load', () => {
  it('finishes or cleanly refuses every request, closes WebSockets with 1001, leaves nothing half-written, exits 0', async () => {
    const db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
    try {
      const server = await startServerProcess({ DATABASE_URL: db.url, PORT: '0', ADMIN_TOKEN });
      const admin = new GraphqlClient(server.url, ADMIN_TOKEN);
      const group = await createGroup(admin);
      // Room for every dialog the load can start: each transfer is assigned, none queued.
      for (let i = 0; i < 3; i++) {
        const op = await createOperator(admin, { groupIds: [group.id], maxDialogs: 100 });
        await setStatus(admin, op.id, 'ONLINE');
      }
      const bot = await apiToken(admin, 'INTEGRATION');

      const socket = await ProtocolSocket.connect(server.url.replace(/^http/, 'ws'), ADMIN_TOKEN);
      socket.subscribe('1', `subscription { queueChanged(groupId: "${group.id}") { sequence } }`);

      const outcomes: Outcome[] = [];
      let transfers = 0;
      let signalledAt = Number.POSITIVE_INFINITY;
      let enoughLoad!: () => void;
      const loadRunning = new Promise<void>((resolve) => (enoughLoad = resolve));
      // Each client starts and transfers dialogs until the server refuses it.
      const client = async (): Promise<void> => {
        for (;;) {
          const started = await send(server.url, bot, START, { input: {} });
          outcomes.push(started);
          if (started.kind !== 'ok') return;
          const moved = await send(server.url, bot, TRANSFER, { id: started.data['startDialog'].id, to: { groupId: group.id } });
          outcomes.push(moved);
          if (moved.kind !== 'ok') return;
          if (++transfers === TRANSFERS_BEFORE_SIGNAL) enoughLoad();
        }
      };
      const clients = Array.from({ length: CLIENTS }, () => client());
      await loadRunning;
      // The socket is live: it carries the load's queue events.
      expect((await socket.nextFor('1')).type).toBe('next');
      const closed = socket.closed;
      signalledAt = Date.now();
      const exited = server.stop('SIGTERM');
      await Promise.all(clients);

      expect(outcomes.filter((o) => o.kind === 'broken')).toEqual([]);
      // Every client ended on a refusal; requests in flight at the signal were still answered.
      expect(outcomes.filter((o) => o.kind === 'refused')).toHaveLength(CLIENTS);
      expect(outcomes.some((o) => o.kind === 'ok' && o.answeredAt > signalledAt)).toBe(true);
      expect(await closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(await exited).toBe(0);

      // Nothing half-written: each dialog's last transfer matches its state; each transfer a
      // client saw answered is in the database, and nothing ran without its answer arriving.
      const sql = new pg.Client({ connectionString: db.url });
      await sql.connect();
      try {
        const mismatched = await sql.query(`
          select d.id, d.status, d.operator_id, t.outcome, t.to_operator_id
            from dialogs d
            join lateral (select * from dialog_transfers t where t.dialog_id = d.id order by t.seq desc limit 1) t on true
           where d.status <> 'ASSIGNED' or d.operator_id is distinct from t.to_operator_id`);
        expect(mismatched.rows).toEqual([]);
        const answered = outcomes.flatMap((o) => (o.kind === 'ok' && o.data['transferDialog'] ? [o.data['transferDialog']] : []));
        expect(answered.length).toBeGreaterThanOrEqual(TRANSFERS_BEFORE_SIGNAL);
        const stored = await sql.query<{ id: string; operator_id: string }>(
          `select id, operator_id from dialogs where id = any($1::uuid[])`,
          [answered.map((d) => d.id)],
        );
        expect(new Map(stored.rows.map((r) => [r.id, r.operator_id]))).toEqual(
          new Map(answered.map((d) => [d.id, d.operator!.id])),
        );
        const answeredStarts = outcomes.filter((o) => o.kind === 'ok' && o.data['startDialog']).length;
        const counts = await sql.query<{ dialogs: number; transfers: number }>(
          `select (select count(*)::int from dialogs) as dialogs, (select count(*)::int from dialog_transfers) as transfers`,
        );
        expect(counts.rows[0]).toEqual({ dialogs: answeredStarts, transfers: answered.length });
      } finally {
        await sql.end();
      }
      await assertInvariants(db.url);
    } finally {
      await db.drop();
    }
  }, 120_000);
});

/** A POST whose body is sent only in part: a request in flight for as long as the test wants. */
function halfSentRequest(
  url: string,
  body: string,
): { req: ClientRequest; finish: () => void; answer: Promise<{ res: IncomingMessage; text: string }> } {
  const req = request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      authorization: `Bearer ${ADMIN_TOKEN}`,
    },
  });
  const answer = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ res, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  return { req, finish: () => req.end(body.slice(half)), answer };
}

/** The body at the start of `rest` and how many characters it took, or null while incomplete. */
function completeBody(rest: string, headers: ReadonlyMap<string, string>): { body: string; consumed: number } | null {
  if (headers.get('transfer-encoding') !== 'chunked') {
    const length = Number(headers.get('content-length') ?? 0);
    return rest.length >= length ? { body: rest.slice(0, length), consumed: length } : null;
  }
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(rest.slice(at, lineEnd), 16);
    const chunkEnd = lineEnd + 2 + size + 2;
    if (rest.length < chunkEnd) return null;
    if (size === 0) return { body, consumed: chunkEnd };
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    at = chunkEnd;
  }
}

/** One HTTP/1.1 answer read off a raw socket. */
interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * A raw TCP client speaking HTTP/1.1 by hand, so a test decides exactly which bytes of a
 * request reach the server when, on one kept-alive connection.
 */
class RawHttpConnection {
  private received = '';
  private waiting: (() => void) | null = null;
  readonly ended: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
      this.waiting?.();
    });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.ended.then(() => this.waiting?.());
  }

  static async open(url: string): Promise<RawHttpConnection> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawHttpConnection(socket);
  }

  /** The next complete answer: a content-length or a chunked body (the bodies here are ASCII). */
  async nextResponse(): Promise<RawResponse> {
    for (;;) {
      const headEnd = this.received.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const [statusLine = '', ...lines] = this.received.slice(0, headEnd).split('\r\n');
        const headers = new Map(
          lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
        );
        const complete = completeBody(this.received.slice(headEnd + 4), headers);
        if (complete) {
          this.received = this.received.slice(headEnd + 4 + complete.consumed);
          return { status: Number(statusLine.split(' ')[1]), headers, body: complete.body };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed before a complete answer: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = null;
    }
  }
}

describe('stop() of the server', () => {
  const body = JSON.stringify({
    query: `mutation { createGroup(input: { name: "Late", slFirstResponseSec: 60, slNextResponseSec: 120 }) { name } }`,
  });

  it('lets a request in flight finish while new connections are refused', async () => {
    const t = await startTestApp();
    try {
      const received = new Promise((resolve) => t.app.server.httpServer.once('request', resolve));
      const inFlight = halfSentRequest(t.app.url, body);
      await received;
      const stopped = t.app.server.stop();
      await expect(fetch(t.app.url.replace('/graphql', '/healthz'))).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      inFlight.finish();
      const { res, text } = await inFlight.answer;
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe('close');
      expect(JSON.parse(text)).toEqual({ data: { createGroup: { name: 'Late' } } });
      await stopped;
    } finally {
      await t.stop();
    }
  });

  it('answers a request that arrives on an open keep-alive connection after the signal with 503 SHUTTING_DOWN, and runs none of it', async () => {
    const t = await startTestApp();
    try {
      const serverSide = new Promise<Socket>((resolve) => t.app.server.httpServer.once('connection', resolve));
      const connection = await RawHttpConnection.open(t.app.url);
      // A first exchange: the connection is open and kept alive, as a client's pool keeps it.
      connection.socket.write('GET /healthz HTTP/1.1\r\nHost: handover\r\nConnection: keep-alive\r\n\r\n');
      const first = await connection.nextResponse();
      expect(first.status).toBe(200);
      expect(first.headers.get('connection')).toBe('keep-alive');
      const socket = await serverSide;

      // The next request has begun to arrive when the signal comes: its first bytes are in,
      // so the connection is not idle and stays open; the rest arrives after.
      const next = [
        'POST /graphql HTTP/1.1',
        'Host: handover',
        'Content-Type: application/json',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
      const begun = next.slice(0, 'POST /graphql'.length);
      const readBefore = socket.bytesRead;
      connection.socket.write(begun);
      await eventually(() => socket.bytesRead === readBefore + begun.length, 10_000, 'the first bytes received');
      const stopped = t.app.server.stop();
      // The positive control that the signal took effect: new connections are refused.
      await expect(fetch(t.app.url.replace('/graphql', '/healthz'))).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      connection.socket.write(next.slice(begun.length));

      const refused = await connection.nextResponse();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('connection')).toBe('close');
      expect(JSON.parse(refused.body)).toEqual({
        errors: [{ message: 'The server is shutting down; send the request again', extensions: { code: 'SHUTTING_DOWN' } }],
      });
      await connection.ended;
      await stopped;

      const sql = new pg.Client({ connectionString: t.db.url });
      await sql.connect();
      try {
        expect((await sql.query(`select name from groups where name = 'Late'`)).rows).toEqual([]);
      } finally {
        await sql.end();
      }
    } finally {
      await t.stop();
    }
  });

  it('cuts a request still running after SHUTDOWN_TIMEOUT_MS and reports it', async () => {
    const t = await startTestApp({ config: { shutdownTimeoutMs: 200 } });
    try {
      const received = new Promise((resolve) => t.app.server.httpServer.once('request', resolve));
      const stalled = halfSentRequest(t.app.url, body);
      await received;
      const cut = expect(stalled.answer).rejects.toThrow('socket hang up');
      // The app still stops its other parts, then reports the cut request.
      await expect(t.app.stop()).rejects.toThrow('1 request(s) still running after SHUTDOWN_TIMEOUT_MS were cut off');
      await cut;
    } finally {
      await t.db.drop();
    }
  });
});
