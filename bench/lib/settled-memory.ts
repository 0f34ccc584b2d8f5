import { createServer } from 'node:net';
import WebSocket from 'ws';
import { rssKib } from './env.js';
import { eventually } from './eventually.js';

/** A TCP port free on this machine now, for a child's `--inspect-port`. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resident memory of a process after a full garbage collection, in KiB. The process runs with
 * `--inspect-port=<port>`: SIGUSR1 opens its inspector (it stays open), through which the
 * collection is asked for. Without one, an idle process's RSS depends on when V8 last collected:
 * the garbage of a burst of new subscriptions stays resident for as long as the server is idle.
 */
export async function rssAfterGc(pid: number, inspectPort: number): Promise<number> {
  process.kill(pid, 'SIGUSR1');
  let target: string | undefined;
  await eventually(
    async () => {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
          webSocketDebuggerUrl: string;
        }>;
        target = list[0]?.webSocketDebuggerUrl;
      } catch {
        target = undefined;
      }
      return target !== undefined;
    },
    10_000,
    `inspector of process ${pid}`,
  );
  const session = new WebSocket(target!);
  await new Promise((resolve, reject) => session.once('open', resolve).once('error', reject));
  // Twice: objects kept only by weak references and finalizers go in the second.
  for (const id of [1, 2]) {
    const answered = new Promise<void>((resolve) =>
      session.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { id?: number }).id === id) resolve();
      }),
    );
    session.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
    await answered;
  }
  session.close();
  return rssKib(pid);
}
