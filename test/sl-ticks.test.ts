import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock('2026-03-01T10:00:00.000Z');
  t = await startTestApp({ clock });
});
afterEach(() => t.stop());

const TICKS = `subscription($g: ID, $ms: Int) { slTicks(groupId: $g, intervalMs: $ms) {
  serverTime timers { dialogId groupId operatorId timer { kind remainingMs breached deadline } } } }`;

type Batch = {
  slTicks: {
    serverTime: string;
    timers: Array<{
      dialogId: string;
      groupId: string;
      operatorId: string | null;
      timer: { kind: string; remainingMs: number; breached: boolean };
    }>;
  };
};

async function nextMatching(sub: ReturnType<typeof subscribe<Batch>>, ok: (b: Batch) => boolean): Promise<Batch> {
  for (let i = 0; i < 40; i++) {
    const batch = await sub.next();
    if (ok(batch)) return batch;
  }
  throw new Error('no matching batch');
}

describe('slTicks', () => {
  it('streams running timers in scope, ticking with the clock, until the operator replies', async () => {
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const g = await createGroup(t.admin, { slFirstResponseSec: 60 });
    const other = await createGroup(t.admin, { slFirstResponseSec: 30 });
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    await setStatus(t.admin, op.id, 'ONLINE');
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: other.id });
    expect(queued.status).toBe('ASSIGNED'); // went to any available: op

    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const sub = subscribe<Batch>(ws, TICKS, { g: g.id, ms: 250 });
    const first = await nextMatching(sub, (b) => b.slTicks.timers.length > 0);
    expect(first.slTicks.serverTime).toBe(clock.now().toISOString());
    expect(first.slTicks.timers).toEqual([
      {
        dialogId: d.id,
        groupId: g.id,
        operatorId: op.id,
        timer: expect.objectContaining({ kind: 'FIRST_RESPONSE', remainingMs: 60_000, breached: false }),
      },
    ]);

    clock.advance(61_000);
    const late = await nextMatching(sub, (b) => b.slTicks.timers[0]?.timer.remainingMs === -1000);
    expect(late.slTicks.timers[0].timer.breached).toBe(true);

    const opClient = t.client(await login(t.client(), op.email, op.password));
    await opClient.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "Hello!") { id } }`, { id: d.id });
    const after = await nextMatching(sub, (b) => b.slTicks.timers.length === 0);
    expect(after.slTicks.timers).toEqual([]);
    sub.dispose();

    // An operator sees their own dialogs' timers; another group's stream is refused.
    const opWs = wsClient(t.app.server.wsUrl, await login(t.client(), op.email, op.password));
    const mine = subscribe<Batch>(opWs, TICKS, { ms: 250 });
    const own = await nextMatching(mine, (b) => b.slTicks.timers.length > 0);
    expect(own.slTicks.timers.map((x) => x.dialogId)).toEqual([queued.id]);
    const refused = subscribe<Batch>(opWs, TICKS, { g: other.id });
    await expect(refused.next(2000)).rejects.toThrow(/FORBIDDEN|Operators follow/);
    const bad = subscribe<Batch>(ws, TICKS, { ms: 10 });
    await expect(bad.next(2000)).rejects.toThrow(/intervalMs/);
    await ws.dispose();
    await opWs.dispose();
  });
});
