import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, createOperator, unique } from './helpers/factories.js';
import { tableOutage } from './helpers/database.js';
import { eventually } from './helpers/eventually.js';

/** A captured JSON log line (the fields the request log writes). */
interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  operation?: string | null;
  type?: string;
  role?: string;
  durationMs?: number;
  outcome?: string;
}

const ERROR_LEVEL = 50;
const DEBUG_LEVEL = 20;
const captured: string[] = [];
let t: TestApp;

/** The captured lines, from the `from`th write on. */
function lines(from = 0): LogLine[] {
  return captured
    .slice(from)
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

function requestLine(operation: string): LogLine {
  const found = lines().filter((l) => l.msg === 'graphql request' && l.operation === operation);
  expect(found, `one request line for ${operation}`).toHaveLength(1);
  return found[0];
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly requestId: string | null;
  readonly body: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(body: Record<string, unknown>, token = ADMIN_TOKEN): Promise<Answer> {
  const response = await fetch(t.app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    requestId: response.headers.get('x-request-id'),
    body: (await response.json()) as Answer['body'],
  };
}

/** `send`'s answer when the database drops the connection its request waits on for `table`. */
async function duringOutage(table: string, send: () => Promise<Answer>): Promise<Answer> {
  const db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
  try {
    const outage = await tableOutage(db, table);
    try {
      let answered = false;
      const answer = send().finally(() => (answered = true));
      // Away until the request is answered: whatever else waits for the table meanwhile is dropped too.
      await outage.dropWaitingUntil(() => answered, `an answer while ${table} is away`);
      return await answer;
    } finally {
      await outage.end();
    }
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  t = await startTestApp({
    config: { logLevel: 'trace' },
    logDestination: { write: (line: string) => void captured.push(line) },
  });
});
afterAll(async () => {
  await t.stop();
});

describe('structured logs', () => {
  it('write one line per request and never a password, a token or a message text', async () => {
    const mark = randomBytes(6).toString('hex');
    const password = `Recognizable-Password-${mark}`;
    const wrongPassword = `Wrong-Password-${mark}`;
    const clientText = `client-text-${mark}`;
    const replyText = `operator-reply-${mark}`;
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const anonymous = t.client();
    const first = await anonymous.ok<{ login: { token: string } }>(
      `mutation FirstLogin($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
      { e: op.email, p: op.password },
    );
    const { viewer } = await t
      .client(first.login.token)
      .ok<{ viewer: { user: { id: string } } }>(`query Me { viewer { user { id } } }`);
    await t.admin.ok(`mutation SetPassword($id: ID!, $p: String!) { setPassword(userId: $id, password: $p) }`, {
      id: viewer.user.id,
      p: password,
    });
    const refused = await anonymous.request(
      `mutation WrongLogin($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
      {
        e: op.email,
        p: wrongPassword,
      },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBeDefined();
    const { login } = await anonymous.ok<{ login: { token: string } }>(
      `mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
      { e: op.email, p: password },
    );
    const { createApiToken } = await t.admin.ok<{ createApiToken: { token: string } }>(
      `mutation CreateToken($n: String!) { createApiToken(name: $n, role: INTEGRATION) { token } }`,
      { n: unique('bot') },
    );
    const operator = t.client(login.token);
    const bot = t.client(createApiToken.token);
    await operator.ok(`mutation GoOnline { setOperatorStatus(status: ONLINE) { id } }`);
    const { startDialog } = await bot.ok<{ startDialog: { id: string } }>(
      `mutation StartDialog { startDialog(input: { clientName: "Client ${mark}" }) { id } }`,
    );
    const dialogId = startDialog.id;
    await bot.ok(`mutation PostMessage($id: ID!, $text: String!) { postClientMessage(dialogId: $id, text: $text) { id } }`, {
      id: dialogId,
      text: clientText,
    });
    const { transferDialog } = await bot.ok<{ transferDialog: { operator: { id: string } | null } }>(
      `mutation Transfer($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { operator { id } } }`,
      { id: dialogId, g: g.id },
    );
    expect(transferDialog.operator?.id).toBe(op.id);
    await operator.ok(`mutation Reply($id: ID!, $text: String!) { sendMessage(dialogId: $id, text: $text) { id } }`, {
      id: dialogId,
      text: replyText,
    });
    await operator.ok(`mutation Close($id: ID!) { closeDialog(dialogId: $id) { id } }`, { id: dialogId });

    const log = captured.join('');
    for (const secret of [
      password,
      wrongPassword,
      op.password,
      first.login.token,
      login.token,
      createApiToken.token,
      ADMIN_TOKEN,
      clientText,
      replyText,
    ]) {
      expect(log.includes(secret), `log contains ${secret}`).toBe(false);
    }
    // Positive control: the same log has each request's line, with who and how it went.
    const expected: Array<[string, string, string]> = [
      ['FirstLogin', 'anonymous', 'ok'],
      ['SetPassword', 'ADMIN', 'ok'],
      ['Login', 'anonymous', 'ok'],
      ['CreateToken', 'ADMIN', 'ok'],
      ['GoOnline', 'OPERATOR', 'ok'],
      ['StartDialog', 'INTEGRATION', 'ok'],
      ['PostMessage', 'INTEGRATION', 'ok'],
      ['Transfer', 'INTEGRATION', 'ok'],
      ['Reply', 'OPERATOR', 'ok'],
      ['Close', 'OPERATOR', 'ok'],
    ];
    const ids = new Set<string>();
    for (const [operation, role, outcome] of expected) {
      const line = requestLine(operation);
      expect(line).toMatchObject({ role, outcome, type: 'mutation' });
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(line.requestId!);
    }
    expect(ids.size).toBe(expected.length);
    expect(requestLine('WrongLogin').outcome).toBe(refused.errors?.[0]?.extensions?.code);
  });

  it('logs an internal error with the request id that the answer carries as extensions.requestId', async () => {
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    // Reading groups now fails inside the database layer.
    await db.query('alter table groups rename to groups_away');
    try {
      const ask = async (
        headers: Record<string, string>,
      ): Promise<{ body: { errors?: Array<{ extensions?: Record<string, unknown> }> }; header: string | null }> => {
        const response = await fetch(t.app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
          body: JSON.stringify({ query: 'query Groups { groups { id } }' }),
        });
        return {
          body: (await response.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> },
          header: response.headers.get('x-request-id'),
        };
      };
      // A caller's own request id is kept; a missing or unusable one is replaced by a fresh one.
      const given = await ask({ 'x-request-id': 'lb-trace.0042' });
      const fresh = await ask({ 'x-request-id': 'not a sane id; drop table' });
      expect(given.body.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'lb-trace.0042' });
      expect(given.header).toBe('lb-trace.0042');
      const freshId = fresh.body.errors?.[0]?.extensions?.['requestId'];
      expect(freshId).toMatch(/^[0-9a-f-]{36}$/);
      expect(fresh.header).toBe(freshId);
      for (const requestId of ['lb-trace.0042', freshId as string]) {
        const errors = lines().filter((l) => l.requestId === requestId && l.level === ERROR_LEVEL && l.msg === 'internal error');
        expect(errors, `internal error logged for ${requestId}`).toHaveLength(1);
        const request = lines().filter((l) => l.requestId === requestId && l.msg === 'graphql request');
        expect(request).toEqual([
          expect.objectContaining({ operation: 'Groups', outcome: 'INTERNAL_SERVER_ERROR', role: 'ADMIN' }),
        ]);
      }
      // A client error carries no request id.
      const bad = await t.admin.request(`query { operator(id: "not-a-uuid") { id } }`);
      expect(bad.errors?.[0]?.extensions?.['requestId']).toBeUndefined();
    } finally {
      await db.query('alter table groups_away rename to groups');
      await db.end();
    }
  });

  it('a failure to authenticate (the database unreachable) answers 503 SERVICE_UNAVAILABLE and is logged with the request id it returns', async () => {
    const op = await createOperator(t.admin);
    const token = (
      await t
        .client()
        .ok<{ login: { token: string } }>(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`, {
          e: op.email,
          p: op.password,
        })
    ).login.token;
    const answer = await duringOutage('auth_tokens', () => post({ query: '{ viewer { role } }' }, token));
    // Nothing ran: the client is told to send it again shortly, not that the server broke.
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    expect(answer.body.errors?.[0]).toMatchObject({
      message: 'The database is unavailable; send the request again shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE', requestId: answer.requestId },
    });
    expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const logged = lines().filter(
      (l) => l.requestId === answer.requestId && l.level === ERROR_LEVEL && l.msg === 'internal error',
    );
    expect(logged).toHaveLength(1);
    // Positive control: the same request goes through once the database answers.
    const again = await t.client(token).request('{ viewer { role } }');
    expect(again.errors).toBeUndefined();
  });

  it('a query the database cannot serve answers 503 SERVICE_UNAVAILABLE; a mutation INTERNAL_SERVER_ERROR, as its commit may have been under way', async () => {
    const from = captured.length;
    const query = await duringOutage('groups', () => post({ query: 'query GroupsInOutage { groups { id } }' }));
    expect(query.status).toBe(503);
    expect(query.retryAfter).toBe('1');
    expect(query.body.data ?? null).toBeNull();
    expect(query.body.errors).toEqual([
      expect.objectContaining({
        message: 'The database is unavailable; send the request again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE', requestId: query.requestId },
      }),
    ]);
    expect(requestLine('GroupsInOutage')).toMatchObject({ requestId: query.requestId, outcome: 'SERVICE_UNAVAILABLE' });
    const logged = lines(from).filter(
      (l) => l.requestId === query.requestId && l.level === ERROR_LEVEL && l.msg === 'internal error',
    );
    expect(logged).toHaveLength(1);

    // At once after it, a request is served: the connection the database dropped is not lent again.
    await createGroup(t.admin);

    const name = unique('Outage');
    const mutation = await duringOutage('groups', () =>
      post({
        query: 'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
        variables: { input: { name, slFirstResponseSec: 60, slNextResponseSec: 120 } },
      }),
    );
    expect(mutation.status).toBe(200);
    expect(mutation.retryAfter).toBeNull();
    expect(mutation.body.errors).toEqual([
      expect.objectContaining({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: mutation.requestId },
      }),
    ]);
    // Nothing of it was written (here its transaction never committed), and both work again.
    const after = await t.admin.ok<{ groups: Array<{ name: string }> }>('{ groups { name } }');
    expect(after.groups.map((g) => g.name)).not.toContain(name);
    await createGroup(t.admin, { name });
    // The pool's note of the connection the database dropped is a log line too, not console output.
    expect(lines(from).filter((l) => l.msg === 'database pool').length).toBeGreaterThan(0);
  });

  it('logs a client that closed its connection before its request body arrived at debug level, not as an error', async () => {
    const from = captured.length;
    const { hostname, port } = new URL(t.app.url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const received = new Promise((resolve) => t.app.server.httpServer.once('request', resolve));
    socket.write(
      [
        'POST /graphql HTTP/1.1',
        'Host: handover',
        'Content-Type: application/json',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        'Content-Length: 1000',
        '',
        '{"query":',
      ].join('\r\n'),
    );
    await received;
    socket.destroy();
    await eventually(
      () =>
        lines(from).some(
          (l) => l.msg === 'the client closed the connection before its request body arrived' && l.level === DEBUG_LEVEL,
        ),
      10_000,
      'the closed request logged',
    );
    expect(lines(from).filter((l) => l.level >= ERROR_LEVEL)).toEqual([]);
  });
});
