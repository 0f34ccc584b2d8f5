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

it('reads no clocks while nobody subscribes; the first subscriber gets those started meanwhile', async () => {
  const ticker = t.app.services.slTicker;
  const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
  const g = await createGroup(t.admin);
  const clockReads = t.watchStatements(/from dialogs where .*sl_deadline is not null/s);
  const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
  expect(queued.status).toBe('QUEUED');
  await t.settled(); // the ticker has been told of the clock's start
  await ticker.tick(); // the round running now, if one is
  await ticker.tick(); // and one that began after it
  expect(clockReads()).toBe(0);

  // Positive control: with a subscriber, a round reads the clocks and serves the one started above.
  const batches: SlTickBatch[] = [];
  const remove = ticker.add(
    `group:${g.id}`,
    (clock) => clock.groupId === g.id,
    1000,
    (b) => batches.push(b),
    g.id,
  );
  try {
    await ticker.tick();
    await ticker.tick();
    expect(clockReads()).toBeGreaterThan(0);
    await eventually(() => batches.length > 0, 10_000, 'a batch for the subscriber');
    expect(batches[0].timers.map((x) => x.dialogId)).toEqual([queued.id]);
  } finally {
    remove();
  }
});
