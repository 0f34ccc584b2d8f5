import { afterEach, beforeEach, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup } from './helpers/factories.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { ProtocolSocket, subscribe, wsClient, type ProtocolMessage } from './helpers/ws.js';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.stop());

/** Running clocks in the group: with ALIASES copies of each id, a batch is about 250 KB. */
const CLOCKS = 60;
const ALIASES = 90;
const TICKS = `subscription($g: ID) { slTicks(groupId: $g, intervalMs: 250) { serverTime timers { ${Array.from(
  { length: ALIASES },
  (_, i) => `a${i}: dialogId`,
).join(' ')} } } }`;
type Batch = { slTicks: { serverTime: string } };

function serverTimeOf(message: ProtocolMessage): string {
  if (message.type !== 'next') throw new Error(`expected a next message, got ${JSON.stringify(message)}`);
  return (message.payload.data as Batch).slTicks.serverTime;
}

it('a client that stops reading gets the newest SL tick batch when it reads again, not the backlog', async () => {
  const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
  const g = await createGroup(t.admin);
  // Ten at a time: the paused client below must read again before a missed keep-alive ping
  // (every 12 s from the server's start) gets it dropped.
  for (let i = 0; i < CLOCKS; i += 10)
    await Promise.all(Array.from({ length: 10 }, async () => transfer(bot, (await startDialog(bot)).id, { groupId: g.id })));

  // The reference reads everything: it has every batch the server makes for this scope.
  const fast = wsClient(t.app.server.wsUrl, await apiToken(t.admin, 'SUPERVISOR'));
  const reference = subscribe<Batch>(fast, TICKS, { g: g.id });
  // The slow client is the only socket on ADMIN_TOKEN, which has no token row.
  const slow = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
  const slowOnServer = (): number =>
    [...t.app.server.sockets].find((info) => info.viewer.tokenId === null)?.socket.bufferedAmount ?? 0;
  try {
    await eventually(() => reference.buffered.length > 0, 10_000, 'the reference live');
    // Not reading from the start: the kernel's buffers for this socket stay at their first size,
    // so it backs up in seconds (well before a keep-alive ping unanswered for 12 s drops it).
    slow.socket.pause();
    slow.subscribe('ticks', TICKS, { g: g.id });
    // The kernel's buffers are full and the server holds the rest: its write has not completed.
    await eventually(() => slowOnServer() > 0, 20_000, 'the slow socket backed up on the server');
    const heldFrom = reference.buffered.length;
    await eventually(() => reference.buffered.length >= heldFrom + 8, 10_000, 'eight batches made meanwhile');
    const madeWhileHeld = reference.buffered.slice(heldFrom).map((b) => b.slTicks.serverTime);
    const newest = madeWhileHeld[madeWhileHeld.length - 1];

    slow.socket.resume();
    const received: string[] = [];
    while (received.length === 0 || received[received.length - 1] < newest)
      received.push(serverTimeOf(await slow.nextFor('ticks', 10_000)));

    // Caught up with the newest batch, without the ones made while it was not reading: at most
    // the one being written when it stopped and the newest when that write completed.
    const last = received[received.length - 1];
    await eventually(() => reference.buffered.some((b) => b.slTicks.serverTime === last), 10_000, 'the reference has it');
    const all = reference.buffered.map((b) => b.slTicks.serverTime);
    for (const time of received) expect(all).toContain(time);
    const caughtUp = madeWhileHeld.filter((time) => received.includes(time));
    expect(caughtUp.length).toBeLessThanOrEqual(2);
    expect(madeWhileHeld.length - caughtUp.length).toBeGreaterThanOrEqual(6);
  } finally {
    slow.close();
    reference.dispose();
    await fast.dispose();
  }
});
