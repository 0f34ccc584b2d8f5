import { createClient } from 'graphql-ws';
import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { clientAddress, TRUST_NONE, type TrustProxy } from '../src/shared/client-address.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import type { GraphqlResult } from './helpers/gql.js';

/** Per email generous, per address tight: each test's failures trip the address limit only. */
const LIMITS: Partial<Config> = { loginMaxFailuresPerEmail: 100, loginMaxFailuresPerAddress: 2, loginThrottleWindowSec: 900 };

function trust(value: string): TrustProxy {
  return loadConfig({ TRUST_PROXY: value }).trustProxy;
}

describe('TRUST_PROXY', () => {
  it('parses hops, addresses and networks, and refuses anything else', () => {
    expect(loadConfig({}).trustProxy).toEqual(TRUST_NONE);
    for (const none of ['', '0', 'false']) expect(trust(none)).toEqual(TRUST_NONE);
    expect(trust('2')).toEqual({ kind: 'hops', hops: 2 });
    expect(trust('10.0.0.0/8, 192.168.1.7, fd00::/8').kind).toBe('addresses');
    for (const bad of ['101', 'proxy.example.com', '10.0.0.0/33', '10.0.0.1/8/2', '10.0.0.1,', 'true']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    }
  });

  it('reads X-Forwarded-For from its right end, only while the address in hand is a trusted proxy', () => {
    const lb = '10.0.0.5';
    const cases: Array<[TrustProxy, string | undefined, string | undefined, string | null]> = [
      // Trusting nobody, the header is never read.
      [TRUST_NONE, lb, '198.51.100.7', lb],
      // One hop: the load balancer appended the client it saw; what the client wrote before is ignored.
      [trust('1'), lb, '6.6.6.6, 198.51.100.7', '198.51.100.7'],
      [trust('2'), lb, '198.51.100.7, 10.0.0.9', '198.51.100.7'],
      // More hops trusted than entries: the leftmost entry.
      [trust('3'), lb, '198.51.100.7', '198.51.100.7'],
      // By address: the peer is a trusted proxy, and so is the next entry; the first untrusted one is the client.
      [trust('10.0.0.0/8'), lb, '6.6.6.6, 198.51.100.7, 10.1.2.3', '198.51.100.7'],
      // A peer that is not a trusted proxy is the client, whatever it claims.
      [trust('10.0.0.0/8'), '203.0.113.9', '198.51.100.7', '203.0.113.9'],
      // An IPv4 peer on a dual-stack socket matches its IPv4 network.
      [trust('10.0.0.0/8'), '::ffff:10.0.0.5', '198.51.100.7', '198.51.100.7'],
      [trust('fd00::/8'), 'fd00::1', '[2001:db8::1]', '2001:db8::1'],
      // An IPv6 zone is the forwarding host's own: left out (a client could make it any length).
      [trust('1'), lb, `fe80::1%${'a'.repeat(300)}`, 'fe80::1'],
      // An entry that is no address stops at the proxy that passed it on.
      [trust('1'), lb, 'not-an-address', lb],
      [trust('1'), lb, undefined, lb],
      [trust('1'), undefined, '198.51.100.7', null],
    ];
    for (const [t, peer, header, expected] of cases) {
      expect(clientAddress(peer, header, t), `${JSON.stringify(t)} ${peer} ${header}`).toBe(expected);
    }
  });
});

type LoginResult = GraphqlResult<{ login: { token: string } }>;

/** A failed `login` over real HTTP from a local address of our choosing, with an optional X-Forwarded-For. */
function failedLogin(app: TestApp, localAddress: string, forwardedFor?: string): Promise<LoginResult> {
  const body = JSON.stringify({
    query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
    // A fresh email each time, so only the per-address limit can trip.
    variables: { e: `nobody-${Math.random().toString(36).slice(2)}@example.com`, p: 'wrong password!' },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: app.app.server.port,
        path: '/graphql',
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
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

interface LogLine {
  readonly msg?: string;
  readonly clientAddress?: string | null;
}

/** A server with its request log captured. */
async function loggedApp(config: Partial<Config>): Promise<{ app: TestApp; addresses: () => Array<string | null | undefined> }> {
  const captured: string[] = [];
  const app = await startTestApp({
    config: { ...LIMITS, ...config, logLevel: 'info' },
    logDestination: { write: (line: string) => void captured.push(line) },
  });
  const addresses = (): Array<string | null | undefined> =>
    captured
      .map((line) => JSON.parse(line) as LogLine)
      .filter((line) => line.msg === 'graphql request')
      .map((line) => line.clientAddress);
  return { app, addresses };
}

describe('the client address behind a proxy (login throttling and request logs)', () => {
  let direct: Awaited<ReturnType<typeof loggedApp>>;
  let proxied: Awaited<ReturnType<typeof loggedApp>>;
  beforeAll(async () => {
    direct = await loggedApp({});
    // The proxy is 127.0.0.30; every other local address is a client reaching the server directly.
    proxied = await loggedApp({ trustProxy: trust('127.0.0.30') });
  });
  afterAll(async () => {
    await proxied.app.stop();
    await direct.app.stop();
  });

  it('without TRUST_PROXY, a spoofed X-Forwarded-For is ignored: the socket address is throttled and logged', async () => {
    expect(codeOf(await failedLogin(direct.app, '127.0.0.20', '198.51.100.1'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await failedLogin(direct.app, '127.0.0.20', '198.51.100.2'))).toBe('UNAUTHENTICATED');
    // A third "client" claiming yet another address is the same socket address, over its limit.
    expect(codeOf(await failedLogin(direct.app, '127.0.0.20', '198.51.100.3'))).toBe('TOO_MANY_REQUESTS');
    // Another socket address has a budget of its own.
    expect(codeOf(await failedLogin(direct.app, '127.0.0.21', '198.51.100.3'))).toBe('UNAUTHENTICATED');
    expect(direct.addresses()).toEqual(['127.0.0.20', '127.0.0.20', '127.0.0.20', '127.0.0.21']);
  });

  it('with TRUST_PROXY, the address the trusted proxy forwards is the client; a direct client cannot claim one', async () => {
    const proxy = '127.0.0.30';
    expect(codeOf(await failedLogin(proxied.app, proxy, '6.6.6.6, 198.51.100.7'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await failedLogin(proxied.app, proxy, '198.51.100.7'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await failedLogin(proxied.app, proxy, '198.51.100.7'))).toBe('TOO_MANY_REQUESTS');
    // Another client behind the same proxy is not throttled with the first.
    expect(codeOf(await failedLogin(proxied.app, proxy, '198.51.100.8'))).toBe('UNAUTHENTICATED');
    // A client that is not the proxy, claiming the throttled address, is itself: its own budget.
    expect(codeOf(await failedLogin(proxied.app, '127.0.0.31', '198.51.100.7'))).toBe('UNAUTHENTICATED');
    // Without the header, the proxy itself is the client.
    expect(codeOf(await failedLogin(proxied.app, proxy))).toBe('UNAUTHENTICATED');
    expect(proxied.addresses()).toEqual([
      '198.51.100.7',
      '198.51.100.7',
      '198.51.100.7',
      '198.51.100.8',
      '127.0.0.31',
      '127.0.0.30',
    ]);
  });

  it('applies to a WebSocket the same way, from the upgrade request: a throttled client stays throttled over its socket', async () => {
    const proxy = '127.0.0.30';
    const forwarded = '198.51.100.50';
    const client = createClient({
      url: `ws://127.0.0.1:${proxied.app.app.server.port}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { localAddress: proxy, headers: { 'x-forwarded-for': forwarded } });
        }
      },
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const loginOverSocket = (): Promise<string | undefined> =>
      new Promise((resolve, reject) => {
        let code: string | undefined;
        client.subscribe(
          {
            query: `mutation($e: String!) { login(email: $e, password: "wrong password!") { token } }`,
            variables: { e: `nobody-${Math.random().toString(36).slice(2)}@example.com` },
          },
          {
            next: (value) => (code = (value.errors?.[0]?.extensions as { code?: string } | undefined)?.code),
            error: reject,
            complete: () => resolve(code),
          },
        );
      });
    try {
      // Two failures over HTTP through the proxy use up the forwarded client's budget...
      expect(codeOf(await failedLogin(proxied.app, proxy, forwarded))).toBe('UNAUTHENTICATED');
      expect(codeOf(await failedLogin(proxied.app, proxy, forwarded))).toBe('UNAUTHENTICATED');
      // ...and its socket through the same proxy is that client too, while another forwarded client is not.
      expect(await loginOverSocket()).toBe('TOO_MANY_REQUESTS');
      expect(codeOf(await failedLogin(proxied.app, proxy, '198.51.100.51'))).toBe('UNAUTHENTICATED');
    } finally {
      await client.dispose();
    }
  });
});
