import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';

const ALLOWED = 'http://localhost:5173';
const OTHER = 'http://evil.example';
const QUERY = JSON.stringify({ query: '{ __typename }' });

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

function post(url: string, origin?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...(origin ? { origin } : {}) },
    body: QUERY,
  });
}

/** Opens a graphql-ws socket with this `Origin` (none when undefined): `ack`, or the HTTP status of the refusal. */
function connect(wsUrl: string, origin?: string): Promise<'ack' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', origin ? { origin } : {});
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'connection_ack') resolve('ack');
      socket.close();
    });
    socket.on('error', reject);
  });
}

describe('with CORS_ORIGINS set', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: { corsOrigins: loadConfig({ CORS_ORIGINS: ` ${ALLOWED}/ , https://app.example ` }).corsOrigins },
    });
  });
  afterAll(() => t.stop());

  it('answers the preflight of an allowed origin', async () => {
    const res = await preflight(t.app.url, ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const headers = res.headers.get('access-control-allow-headers')!.split(/,\s*/);
    expect(headers).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight', 'x-request-id']),
    );
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('refuses the preflight of another origin with 403 and no CORS headers', async () => {
    const res = await preflight(t.app.url, OTHER);
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('echoes an allowed origin on POST and GET, and gives another origin nothing', async () => {
    const allowed = await post(t.app.url, ALLOWED);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('vary')).toContain('Origin');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(await allowed.json()).toEqual({ data: { __typename: 'Query' } });

    // Apollo's CSRF prevention still applies to GET: a browser must preflight it.
    const get = await fetch(`${t.app.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { origin: ALLOWED, 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const simple = await fetch(`${t.app.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { origin: ALLOWED } });
    expect(simple.status).toBe(400);

    const other = await post(t.app.url, OTHER);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('accepts a page of this server itself (same host) without listing it', async () => {
    const self = new URL(t.app.url).origin;
    expect((await preflight(t.app.url, self)).status).toBe(204);
    expect(await connect(t.app.server.wsUrl, self)).toBe('ack');
  });

  it('checks the WebSocket Origin: refused for another origin, accepted for an allowed one and for none', async () => {
    expect(await connect(t.app.server.wsUrl, OTHER)).toBe(403);
    expect(await connect(t.app.server.wsUrl, 'null')).toBe(403);
    expect(await connect(t.app.server.wsUrl, ALLOWED)).toBe('ack');
    expect(await connect(t.app.server.wsUrl, 'https://app.example')).toBe('ack');
    expect(await connect(t.app.server.wsUrl)).toBe('ack');
  });
});

describe('with CORS_ORIGINS=*', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: { corsOrigins: '*' } });
  });
  afterAll(() => t.stop());

  it('allows any origin, never with credentials', async () => {
    const res = await preflight(t.app.url, OTHER);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await post(t.app.url, OTHER)).headers.get('access-control-allow-origin')).toBe('*');
    expect(await connect(t.app.server.wsUrl, OTHER)).toBe('ack');
  });
});

describe('by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.stop());

  it('sends no CORS headers at all and leaves the WebSocket open to every origin', async () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const res = await preflight(t.app.url, ALLOWED);
    expect(res.status).not.toBe(204);
    expect(res.status).toBeLessThan(500);
    const posted = await post(t.app.url, ALLOWED);
    expect(posted.status).toBe(200);
    for (const response of [res, posted]) {
      const cors = [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
    expect(await connect(t.app.server.wsUrl, OTHER)).toBe('ack');
  });

  it('tells browsers and proxies to keep no answer: POST, GET and an error alike', async () => {
    const posted = await post(t.app.url, ALLOWED);
    const get = await fetch(`${t.app.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    const failed = await fetch(t.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ nosuchfield }' }),
    });
    expect([posted.status, get.status, failed.status]).toEqual([200, 200, 400]);
    for (const response of [posted, get, failed]) expect(response.headers.get('cache-control')).toBe('no-store');
  });
});

describe('CORS_ORIGINS', () => {
  it('is normalised, and anything but * alone or origins is refused at start', () => {
    expect(loadConfig({ CORS_ORIGINS: 'HTTPS://App.Example.com/,http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins).toBe('*');
    for (const bad of ['*,http://a.example', 'app.example.com', 'https://a.example/path', 'ftp://a.example', 'null']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(ConfigError);
    }
  });
});
