import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;
let origin: string;

beforeAll(async () => {
  t = await startTestApp();
  origin = new URL(t.app.url).origin;
});
afterAll(() => t.stop());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as written (fetch would resolve `..` before sending). */
function raw(path: string, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the operator panel is served at /panel', () => {
  it('redirects /panel to /panel/ so the page’s relative URLs resolve below it', async () => {
    const answer = await raw('/panel');
    expect(answer.status).toBe(308);
    expect(answer.headers.location).toBe('/panel/');
  });

  it('serves the page with a content security policy that allows its import map by hash and nothing from elsewhere', async () => {
    const answer = await raw('/panel/');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(answer.body)![1];
    const hash = createHash('sha256').update(importMap).digest('base64');
    const policy = String(answer.headers['content-security-policy']);
    expect(policy).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    // No CDN: every script and stylesheet the page names is a relative URL on this server.
    for (const [, url] of answer.body.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^\.?\/?[\w./-]+$/);
  });

  it('serves its modules and stylesheet with their content types', async () => {
    for (const [path, type] of [
      ['/panel/main.js', 'text/javascript; charset=utf-8'],
      ['/panel/stream.js', 'text/javascript; charset=utf-8'],
      ['/panel/graphql.js', 'text/javascript; charset=utf-8'],
      ['/panel/dom.js', 'text/javascript; charset=utf-8'],
      ['/panel/panel.css', 'text/css; charset=utf-8'],
    ]) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers['content-type'], path).toBe(type);
    }
  });

  it("serves graphql-ws's browser client from the installed package, with every module it imports", async () => {
    const client = await raw('/panel/vendor/graphql-ws/client.js');
    expect(client.status).toBe(200);
    expect(client.body).toContain('createClient');
    const imports = [...client.body.matchAll(/\bfrom\s*["']\.\/([\w.-]+\.js)["']/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const name of imports) expect((await raw(`/panel/vendor/graphql-ws/${name}`)).status, name).toBe(200);
  });

  it('answers 404 for anything else, however the path is spelled', async () => {
    for (const path of [
      '/panel/../package.json',
      '/panel/%2e%2e/package.json',
      '/panel/..%2fpackage.json',
      '/panel/%2e%2e%2f%2e%2e%2fpackage.json',
      '/panel//etc/passwd',
      // In the panel's folder, but not a file of the page.
      '/panel/tsconfig.json',
      // In graphql-ws's folder, but not imported by its browser client.
      '/panel/vendor/graphql-ws/index.js',
      '/panel/vendor/graphql-ws/../../package.json',
      '/panel/nope.js',
    ]) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toContain('"name"');
    }
  });

  it('answers only GET and HEAD', async () => {
    const post = await raw('/panel/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await raw('/panel/main.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });
});
