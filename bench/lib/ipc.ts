import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './env.js';

export interface IpcChild {
  readonly child: ChildProcess;
  send(message: object): void;
  /** Resolves with the next message of `kind`. */
  next<T = Record<string, unknown>>(kind: string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Forks one of the compiled bench helpers (dist/bench/<name>.js). */
export function forkHelper(name: string): IpcChild {
  const child = fork(join(ROOT, 'dist/bench', `${name}.js`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<string, Array<(msg: Record<string, unknown>) => void>>();
  const inbox: Array<Record<string, unknown>> = [];
  child.on('message', (msg: Record<string, unknown>) => {
    const list = waiting.get(String(msg['kind']));
    const resolve = list?.shift();
    if (resolve) resolve(msg);
    else inbox.push(msg);
  });
  return {
    child,
    send: (message) => child.send(message),
    next: <T>(kind: string, timeoutMs = 120_000) =>
      new Promise<T>((resolve, reject) => {
        const i = inbox.findIndex((m) => m['kind'] === kind);
        if (i >= 0) return resolve(inbox.splice(i, 1)[0] as T);
        const timer = setTimeout(() => reject(new Error(`no "${kind}" from ${name}`)), timeoutMs);
        const list = waiting.get(kind) ?? [];
        list.push((msg) => {
          clearTimeout(timer);
          resolve(msg as T);
        });
        waiting.set(kind, list);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ kind: 'stop' });
      }),
  };
}
