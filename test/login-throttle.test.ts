import { createClient } from 'graphql-ws';
import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { createOperator, unique } from './helpers/factories.js';
import type { GraphqlResult } from './helpers/gql.js';

// Small limits so the edges are cheap to reach; the window is long enough never to pass.
const LIMITS = { loginMaxFailuresPerEmail: 3, loginMaxFailuresPerAddress: 5, loginThrottleWindowSec: 900 };

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await startTestApp({ config: LIMITS });
  // A second server process on the same database: the counters live in PostgreSQL.
  b = await startTestApp({ config: LIMITS, db: a.db });
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

// Every loopback address reaches the server; each test's client gets addresses of its own.
let nextHost = 2;
function freshAddress(): string {
  return `127.0.0.${nextHost++}`;
}

type LoginResult = GraphqlResult<{ login: { token: string } }>;

/** `login` over HTTP from the given local address, as a client on another machine would. */
function loginFrom(app: TestApp, localAddress: string, email: string, password: string): Promise<LoginResult> {
  const body = JSON.stringify({
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
    variables: { e: email, p: password },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: app.app.server.port,
        path: '/graphql',
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(JSON.parse(text) as Omit<LoginResult, 'status'>) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function codeOf(result: LoginResult): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}

function expectThrottled(result: LoginResult): void {
  expect(result.status).toBeLessThan(500);
  expect(codeOf(result), JSON.stringify(result)).toBe('TOO_MANY_REQUESTS');
  expect(result.data?.login ?? null).toBeNull();
  const retryAfterSec = result.errors![0].extensions!['retryAfterSec'];
  expect(Number.isInteger(retryAfterSec)).toBe(true);
  expect(retryAfterSec).toBeGreaterThanOrEqual(1);
  expect(retryAfterSec).toBeLessThanOrEqual(LIMITS.loginThrottleWindowSec);
}

async function failTimes(app: TestApp, address: string, email: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    expect(codeOf(await loginFrom(app, address, email, 'wrong password'))).toBe('UNAUTHENTICATED');
  }
}

describe('login throttling per email', () => {
  it('allows up to the limit of failures; a success forgets them; one more failure than the limit locks the email from any address', async () => {
    const op = await createOperator(a.admin);
    const [first, second, third] = [freshAddress(), freshAddress(), freshAddress()];
    // Just under the limit: the right password still gets in, and the count starts afresh.
    await failTimes(a, first, op.email, LIMITS.loginMaxFailuresPerEmail - 1);
    expect((await loginFrom(a, first, op.email, op.password)).data?.login.token).toMatch(/^hov_/);
    // A full limit of failures after the success (spread over two addresses, below their limits).
    await failTimes(a, first, op.email.toUpperCase(), 2);
    await failTimes(a, second, op.email, LIMITS.loginMaxFailuresPerEmail - 2);
    // Over: even the right password, from an address that never failed, is refused.
    expectThrottled(await loginFrom(a, third, op.email, op.password));
    // Another account from the same address is not affected.
    const other = await createOperator(a.admin);
    expect((await loginFrom(a, third, other.email, other.password)).data?.login.token).toMatch(/^hov_/);
  });

  it('unknown emails are counted like known ones', async () => {
    const nobody = `${unique('nobody')}@example.com`;
    const address = freshAddress();
    await failTimes(a, address, nobody, LIMITS.loginMaxFailuresPerEmail);
    expectThrottled(await loginFrom(a, freshAddress(), nobody, 'anything at all'));
  });
});

describe('login throttling per client address', () => {
  it('allows up to the limit of failures from one address, whatever the emails; successes use none of it', async () => {
    const op = await createOperator(a.admin);
    const address = freshAddress();
    // Just under, with a success in between that does not count.
    await failTimes(a, address, `${unique('x')}@example.com`, 2);
    expect((await loginFrom(a, address, op.email, op.password)).data?.login.token).toMatch(/^hov_/);
    for (let i = 2; i < LIMITS.loginMaxFailuresPerAddress; i++) await failTimes(a, address, `${unique('x')}@example.com`, 1);
    // The address has used its limit: the next attempt, right password or not, is refused...
    expectThrottled(await loginFrom(a, address, op.email, op.password));
    // ...while the same account logs in from elsewhere.
    expect((await loginFrom(a, freshAddress(), op.email, op.password)).data?.login.token).toMatch(/^hov_/);
  });
});

describe('login throttling across server instances', () => {
  it('failures on one instance count on the other, per email and per address', async () => {
    const op = await createOperator(a.admin);
    const address = freshAddress();
    await failTimes(a, address, op.email, 2);
    await failTimes(b, address, op.email, LIMITS.loginMaxFailuresPerEmail - 2);
    expectThrottled(await loginFrom(a, freshAddress(), op.email, op.password));
    expectThrottled(await loginFrom(b, freshAddress(), op.email, op.password));

    const shared = freshAddress();
    for (let i = 0; i < LIMITS.loginMaxFailuresPerAddress; i++) {
      await failTimes(i % 2 ? a : b, shared, `${unique('x')}@example.com`, 1);
    }
    const fresh = await createOperator(a.admin);
    expectThrottled(await loginFrom(a, shared, fresh.email, fresh.password));
    expectThrottled(await loginFrom(b, shared, fresh.email, fresh.password));
    expect((await loginFrom(b, freshAddress(), fresh.email, fresh.password)).data?.login.token).toMatch(/^hov_/);
  });
});

describe('login throttling over WebSocket', () => {
  it("counts the socket's address: failures over a socket lock that address for HTTP too", async () => {
    const address = freshAddress();
    const client = createClient({
      url: `ws://127.0.0.1:${a.app.server.port}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { localAddress: address });
        }
      },
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const loginOverSocket = (email: string): Promise<LoginResult> =>
      new Promise((resolve, reject) => {
        let result: LoginResult = { status: 200 };
        client.subscribe<{ login: { token: string } }>(
          { query: `mutation($e: String!) { login(email: $e, password: "wrong password") { token } }`, variables: { e: email } },
          {
            next: (value) => (result = { status: 200, ...(value as Omit<LoginResult, 'status'>) }),
            error: reject,
            complete: () => resolve(result),
          },
        );
      });
    for (let i = 0; i < LIMITS.loginMaxFailuresPerAddress; i++) {
      expect(codeOf(await loginOverSocket(`${unique('x')}@example.com`))).toBe('UNAUTHENTICATED');
    }
    expectThrottled(await loginOverSocket(`${unique('x')}@example.com`));
    const op = await createOperator(a.admin);
    expectThrottled(await loginFrom(a, address, op.email, op.password));
    await client.dispose();
  });
});

describe('forgetting old counters', () => {
  it('the sweep deletes counters whose window ended over an hour ago and keeps the others', async () => {
    // Only the sweep called below runs: the timed ones of both instances stop.
    await a.quiet();
    await b.quiet();
    const db = a.app.orm.em.fork();
    const now = Date.now();
    const rows: Array<[string, number]> = [
      ['email:long-gone', now - 2 * 3600_000],
      ['email:recently-ended', now - 60_000],
      ['email:running', now + 600_000],
    ];
    await db.execute(`insert into login_throttle (key, points, expire) values (?, 3, ?), (?, 3, ?), (?, 3, ?)`, rows.flat());
    const { throttleCountersPurged } = await a.app.sweeper.runOnce();
    expect(throttleCountersPurged).toBe(1);
    const left = await db.execute<Array<{ key: string }>>(`select key from login_throttle where key in (?) order by key`, [
      ['email:long-gone', 'email:recently-ended', 'email:running'],
    ]);
    expect(left.map((r) => r.key)).toEqual(['email:recently-ended', 'email:running']);
  });
});
