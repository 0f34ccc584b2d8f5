import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../src/realtime/event-bus.js';
import type { SlTickBatch } from '../src/sl/sl-tick.types.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup } from './helpers/factories.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.stop());

const TICKS = `subscription($g: ID) { slTicks(groupId: $g, intervalMs: 250) { timers { dialogId } } }`;
type Batch = { slTicks: { timers: Array<{ dialogId: string }> } };

it('slTicks catches up with clocks started while the event listener was disconnected', async () => {
  const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
  const g = await createGroup(t.admin);
  const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
  const sub = subscribe<Batch>(ws, TICKS, { g: g.id });
  expect((await sub.next()).slTicks.timers).toEqual([]);

  const db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
  try {
    await db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()`,
      [LISTENER_APPLICATION_NAME],
    );
    await eventually(() => !t.app.services.bus.isListening(), 5000, 'the listener gone');
    // No event reaches this process for this clock: only a re-read after reconnecting finds it.
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(queued.status).toBe('QUEUED');
    await eventually(() => t.app.services.bus.isListening(), 10_000, 'the listener back');
    await eventually(
      async () => (await sub.next()).slTicks.timers.some((x) => x.dialogId === queued.id),
      10_000,
      'the missed clock in a tick batch',
    );
  } finally {
    await db.end();
    await ws.dispose();
  }
});

it('subscribers of one scope and interval share one batch per round, whenever they subscribed', async () => {
  const ticker = t.app.services.slTicker;
  const seen: Array<Array<SlTickBatch>> = [[], []];
  const removeFirst = ticker.add(
    'all',
    () => true,
    1000,
    (b) => seen[0].push(b),
  );
  await new Promise((r) => setTimeout(r, 400)); // a different phase of the 1-second period
  const removeSecond = ticker.add(
    'all',
    () => true,
    1000,
    (b) => seen[1].push(b),
  );
  try {
    await eventually(() => seen[1].length >= 3, 10_000, 'three batches for the later subscriber');
    // After its first batch, the later subscriber gets the very batch objects the first one gets.
    const later = seen[1].slice(1);
    for (const batch of later) expect(seen[0]).toContain(batch);
  } finally {
    removeFirst();
    removeSecond();
  }
});
