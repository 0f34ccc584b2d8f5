import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the reference operator panel is served. */
export const PANEL_PATH = '/panel';
/** graphql-ws's browser client and the modules it imports, under the panel. */
const VENDOR_PREFIX = '/vendor/graphql-ws/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** Answers requests under PANEL_PATH. */
export type PanelHandler = (req: IncomingMessage, res: ServerResponse, pathname: string) => void;

/** The panel's own files: the browser code beside this module (the build copies it into dist). */
const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** The relative imports (`from './x.js'`) of an ES module's source. */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/\bfrom\s*["']\.\/([\w.-]+\.js)["']/g)].map((m) => m[1]);
}

/**
 * graphql-ws's ESM browser client and the chunks it imports, read from the installed package:
 * the chunk names are hashed per release, so they are followed rather than listed.
 */
async function graphqlWsClient(): Promise<Map<string, Asset>> {
  // The CommonJS entry sits in the same folder as the ESM build.
  const dir = dirname(createRequire(import.meta.url).resolve('graphql-ws/client'));
  const files = new Map<string, Asset>();
  const pending = ['client.js'];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (files.has(name)) continue;
    const body = await readFile(join(dir, name));
    files.set(name, { body, type: CONTENT_TYPES['.js'] });
    pending.push(...relativeImports(body.toString('utf8')));
  }
  return files;
}

/**
 * The page's one inline script is its import map; the policy allows exactly that script by
 * hash, and everything else only from this server.
 */
function contentSecurityPolicy(indexHtml: string): string {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml);
  if (!importMap) throw new Error('panel index.html has no import map');
  const hash = createHash('sha256').update(importMap[1]).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self'",
    // 'self' covers the same origin's ws: and wss: too.
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Reads the panel's files once (a fixed set: a request can only name one of them, so no path
 * reaches outside) and returns the handler for PANEL_PATH and below.
 */
export async function loadPanel(): Promise<PanelHandler> {
  const assets = new Map<string, Asset>();
  const names = await readdir(STATIC_DIR).catch((error: unknown) => {
    throw new Error(`the operator panel's files are missing from ${STATIC_DIR} (npm run build copies them)`, { cause: error });
  });
  for (const name of names) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(`/${name}`, { body: await readFile(join(STATIC_DIR, name)), type });
  }
  for (const [name, asset] of await graphqlWsClient()) assets.set(`${VENDOR_PREFIX}${name}`, asset);
  const index = assets.get('/index.html');
  if (!index) throw new Error(`no index.html in ${STATIC_DIR}`);
  assets.set('/', index);
  const policy = contentSecurityPolicy(index.body.toString('utf8'));

  return (req, res, pathname) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    // Relative URLs in the page resolve against /panel/.
    if (pathname === PANEL_PATH) {
      res.writeHead(308, { location: `${PANEL_PATH}/` }).end();
      return;
    }
    const asset = assets.get(pathname.slice(PANEL_PATH.length));
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'content-security-policy': policy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // Revalidated on every load: a new release of the panel is picked up at once.
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };
}
