import { describe, expect, it } from 'vitest';
import { stopInOrder } from '../src/shutdown.js';

describe('stopInOrder (the shutdown of npm start)', () => {
  it('exits 0 when every part stopped; skips parts that never started', async () => {
    const order: string[] = [];
    const logged: unknown[] = [];
    const code = await stopInOrder(
      [
        ['app', () => void order.push('app')],
        ['never started', () => undefined],
        ['postgres', async () => void order.push('postgres')],
      ],
      (message) => logged.push(message),
    );
    expect(code).toBe(0);
    expect(logged).toEqual([]);
    expect(order).toEqual(['app', 'postgres']);
  });

  it('logs a failure, still stops the later parts, and exits 1', async () => {
    const logged: Array<[string, unknown]> = [];
    let postgresStopped = false;
    const failure = new Error('the pool would not close');
    const code = await stopInOrder(
      [
        ['the server', async () => Promise.reject(failure)],
        ['embedded PostgreSQL', () => void (postgresStopped = true)],
      ],
      (message, error) => logged.push([message, error]),
    );
    expect(code).toBe(1);
    expect(postgresStopped).toBe(true);
    expect(logged).toEqual([['stopping the server failed', failure]]);
  });
});
