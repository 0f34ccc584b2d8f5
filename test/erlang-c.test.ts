import { describe, expect, it } from 'vitest';
import { erlangB, erlangC, queueFigures, requiredAgents } from '../src/sl/erlang-c.js';

describe('Erlang C', () => {
  it("Westbay's worked example: 360 calls per 30 minutes, 240 s handle time, 15 s target", () => {
    const traffic = (720 * 240) / 3600; // 48 erlangs
    expect(traffic).toBe(48);
    const at53 = queueFigures(53, traffic, 240, 15);
    const at55 = queueFigures(55, traffic, 240, 15);
    expect(at53.serviceLevel).toBeCloseTo(0.7245, 4);
    expect(at55.serviceLevel).toBeCloseTo(0.8459, 4);
    expect(at55.probabilityOfWaiting).toBeCloseTo(0.2387, 4);
    expect(at55.avgWait).toBeCloseTo(8.18, 2);
    // 54 agents give 79.3 %: 55 is the fewest for 80 % in 15 s.
    expect(queueFigures(54, traffic, 240, 15).serviceLevel).toBeCloseTo(0.7929, 4);
    expect(requiredAgents(traffic, 240, 15, 0.8)).toMatchObject({ agents: 55, servers: 55 });
  });

  it('Call Centre Helper\'s "Erlang C Formula – Made Simple": 100 calls per 30 minutes, 180 s, 80 % in 20 s', () => {
    const traffic = (200 * 180) / 3600; // 10 erlangs
    const raw = queueFigures(11, traffic, 180, 20);
    expect(raw.probabilityOfWaiting).toBeCloseTo(0.6821, 4);
    expect(raw.serviceLevel).toBeCloseTo(0.3896, 4);
    expect(raw.avgWait).toBeCloseTo(122.8, 1);
    const needed = requiredAgents(traffic, 180, 20, 0.8);
    expect(needed.agents).toBe(14);
    expect(needed.serviceLevel).toBeCloseTo(0.8884, 4);
    expect(queueFigures(13, traffic, 180, 20).serviceLevel).toBeLessThan(0.8);
  });

  it('Erlang B recursion agrees with the closed form where factorials are still exact', () => {
    // B(N, A) = (A^N / N!) / Σ_{k=0..N} A^k / k!
    const closed = (n: number, a: number): number => {
      let term = 1;
      let sum = 1;
      for (let k = 1; k <= n; k++) {
        term *= a / k;
        sum += term;
      }
      return term / sum;
    };
    for (const [n, a] of [
      [1, 0.5],
      [5, 3],
      [10, 7.5],
      [20, 12],
    ] as const)
      expect(erlangB(n, a)).toBeCloseTo(closed(n, a), 12);
    expect(erlangB(0, 5)).toBe(1);
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12); // M/M/1: P(wait) = ρ
  });

  it('edge cases: zero traffic, A ≥ N, huge N', () => {
    expect(queueFigures(0, 0, 240, 20)).toEqual({ probabilityOfWaiting: 0, serviceLevel: 1, avgWait: 0 });
    expect(requiredAgents(0, 240, 20, 0.8)).toEqual({
      agents: 0,
      servers: 0,
      probabilityOfWaiting: 0,
      serviceLevel: 1,
      avgWait: 0,
    });
    // Overloaded: every arrival waits and the queue grows without end.
    expect(queueFigures(48, 48, 240, 15)).toEqual({ probabilityOfWaiting: 1, serviceLevel: 0, avgWait: Infinity });
    expect(queueFigures(10, 48, 240, 15).serviceLevel).toBe(0);
    // Far more servers than traffic: nobody waits, and nothing overflows to NaN.
    const huge = queueFigures(100_000, 5, 240, 15);
    expect(huge.probabilityOfWaiting).toBe(0);
    expect(huge.serviceLevel).toBe(1);
    // Large traffic stays finite (a factorial form overflows at N = 171).
    const big = queueFigures(3400, 3333.33, 240, 20);
    expect(Number.isFinite(big.probabilityOfWaiting) && big.probabilityOfWaiting > 0 && big.probabilityOfWaiting < 1).toBe(true);
    expect(() => requiredAgents(10, 180, 20, 1)).toThrow(RangeError);
    expect(() => requiredAgents(10, 180, 20, 0.8, 0.5)).toThrow(RangeError);
  });

  it('concurrency: an agent handling c dialogs at once counts as ⌊agents × c⌋ servers', () => {
    const traffic = 48;
    const three = requiredAgents(traffic, 240, 15, 0.8, 3);
    // 55 servers are needed alone; 19 agents × 3 = 57 ≥ 55 while 18 × 3 = 54 falls short.
    expect(three).toMatchObject({ agents: 19, servers: 57 });
    expect(requiredAgents(traffic, 240, 15, 0.8, 2.5)).toMatchObject({ agents: 22, servers: 55 });
  });
});
