import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { closeDialog, getDialog, lastTransfer, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login, type OperatorRef } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { eventually } from './helpers/eventually.js';
import { assertInvariants } from './helpers/invariants.js';
import { tableCounts } from './helpers/table-counts.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

/** Issue #12's routing rules, each through the API. */

let t: TestApp;
let bot: GraphqlClient;
let clock: ManualClock;
const apps: TestApp[] = [];

async function start(config: Partial<Config> = {}): Promise<void> {
  clock = new ManualClock('2026-07-01T08:00:00.000Z');
  t = await startTestApp({ clock, config });
  apps.push(t);
  // Background sweeps would race the clock moves; each test sweeps when it means to.
  await t.quiet();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
}
beforeEach(() => start());
afterEach(async () => {
  for (const app of apps.splice(0)) {
    await assertInvariants(app.db.url);
    await app.stop();
  }
});

const sec = (n: number): void => clock.advance(n * 1000);
const sweep = () => t.app.sweeper.runOnce();

async function online(groupIds: string[], maxDialogs?: number): Promise<string> {
  const op = await createOperator(t.admin, { groupIds, maxDialogs });
  await setStatus(t.admin, op.id, 'ONLINE');
  return op.id;
}
async function session(op: OperatorRef): Promise<GraphqlClient> {
  return t.client(await login(t.client(), op.email, op.password));
}
async function newDialog(to: { groupId?: string; operatorId?: string }, input: Record<string, unknown> = {}) {
  sec(1);
  return transfer(bot, (await startDialog(bot, input)).id, to);
}
async function operatorState(id: string): Promise<{ status: string; awayReason: string | null; activeDialogCount: number }> {
  const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { status awayReason activeDialogCount } }`, { id });
  return operator;
}
async function transfersOf(id: string): Promise<Array<Record<string, unknown>>> {
  const { dialog } = await t.admin.ok(
    `query($id: ID!) { dialog(id: $id) { transfers { kind outcome reasons note fromOperator { id } toOperator { id } } } }`,
    { id },
  );
  return dialog.transfers;
}

describe('AWAY (pause)', () => {
  it('keeps and works the dialogs held, receives nothing new, and drains again when ONLINE', async () => {
    const g = await createGroup(t.admin);
    const pausing = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 5 });
    const me = await session(pausing);
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const held = await newDialog({ groupId: g.id });
    expect(held.operator?.id).toBe(pausing.id);

    const { setOperatorStatus } = await me.ok(
      `mutation { setOperatorStatus(status: AWAY, reason: "  lunch  ") { status awayReason activeDialogCount } }`,
    );
    expect(setOperatorStatus).toEqual({ status: 'AWAY', awayReason: 'lunch', activeDialogCount: 1 });
    // They still work what they hold.
    await me.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "back in a bit") { id } }`, { id: held.id });

    // Named, in a group, as a fallback, or for a drain: never picked while AWAY.
    const colleague = await online([g.id], 1);
    const named = await newDialog({ operatorId: pausing.id, groupId: g.id });
    expect(named.operator?.id).toBe(colleague);
    expect(await lastTransfer(t.admin, named.id)).toMatchObject({ outcome: 'ASSIGNED_TO_TARGET', reasons: ['OPERATOR_AWAY'] });
    const toGroup = await newDialog({ groupId: g.id });
    expect(toGroup.status).toBe('QUEUED');
    expect(await lastTransfer(t.admin, toGroup.id)).toMatchObject({
      reasons: ['GROUP_AT_CAPACITY', 'NO_OPERATOR_AVAILABLE'],
    });
    const other = await createGroup(t.admin);
    const fallback = await newDialog({ groupId: other.id });
    expect(fallback.status).toBe('QUEUED');
    await sweep();
    for (const id of [toGroup.id, fallback.id]) expect((await getDialog(t.admin, id)).status).toBe('QUEUED');
    // A bad reason changes nothing.
    await me.fails(
      `mutation($r: String) { setOperatorStatus(status: AWAY, reason: $r) { id } }`,
      { r: 'x'.repeat(201) },
      'BAD_USER_INPUT',
      'reason',
    );
    expect(await operatorState(pausing.id)).toEqual({ status: 'AWAY', awayReason: 'lunch', activeDialogCount: 1 });

    // Back ONLINE: the queue drains to them as coming online does, the reason goes.
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    expect(await operatorState(pausing.id)).toEqual({ status: 'ONLINE', awayReason: null, activeDialogCount: 3 });
    expect(await lastTransfer(t.admin, toGroup.id)).toMatchObject({ kind: 'DRAIN', toOperator: { id: pausing.id } });
    // They close what they held while away.
    await closeDialog(me, held.id);
  });

  it('auto-logout counts AWAY as logged in; going OFFLINE from AWAY routes the dialogs on', async () => {
    const g = await createGroup(t.admin);
    const idle = await createOperator(t.admin, { groupIds: [g.id], autoLogoutSec: 60 });
    await setStatus(t.admin, idle.id, 'ONLINE');
    const d = await newDialog({ groupId: g.id });
    await setStatus(t.admin, idle.id, 'AWAY');
    sec(59);
    await sweep();
    expect((await operatorState(idle.id)).status).toBe('AWAY');
    sec(1);
    const colleague = await online([g.id]);
    await sweep();
    expect(await operatorState(idle.id)).toEqual({ status: 'OFFLINE', awayReason: null, activeDialogCount: 0 });
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({ kind: 'REROUTE', toOperator: { id: colleague } });
  });
});

describe('presence follows sessions', () => {
  it('logging out one of two sessions keeps the operator ONLINE; the last one logs them out', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const laptop = await session(op);
    const phone = await session(op);
    await laptop.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const d = await newDialog({ groupId: g.id });
    expect((await laptop.ok(`mutation { logout }`)).logout).toBe(true);
    expect(await operatorState(op.id)).toMatchObject({ status: 'ONLINE', activeDialogCount: 1 });
    await phone.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "still here") { id } }`, { id: d.id });
    expect((await phone.ok(`mutation { logout }`)).logout).toBe(true);
    expect(await operatorState(op.id)).toMatchObject({ status: 'OFFLINE', activeDialogCount: 0 });
    expect((await getDialog(t.admin, d.id)).status).toBe('QUEUED');
  });

  it('the last session expiring logs the operator out', async () => {
    const op = await createOperator(t.admin);
    const me = await session(op);
    await me.ok(`mutation { setOperatorStatus(status: AWAY) { id } }`);
    const d = await newDialog({ operatorId: op.id });
    expect(d.status).toBe('QUEUED');
    sec(t.app.services.config.sessionTtlSec + 1);
    expect((await sweep()).sessionsExpired).toBe(1);
    expect((await operatorState(op.id)).status).toBe('OFFLINE');
  });

  it('a new password set by an administrator ends every session and so logs the operator out; one changed by the operator keeps them on', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const me = await session(op);
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const d = await newDialog({ groupId: g.id });
    expect(d.operator?.id).toBe(op.id);
    // Their own change keeps the session it is made from.
    await me.ok(`mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`, {
      c: op.password,
      n: 'another long password',
    });
    expect(await operatorState(op.id)).toMatchObject({ status: 'ONLINE', activeDialogCount: 1 });
    const { viewer } = await me.ok(`query { viewer { user { id } } }`);
    await t.admin.ok(`mutation($u: ID!, $p: String!) { setPassword(userId: $u, password: $p) }`, {
      u: viewer.user.id,
      p: 'a third long password',
    });
    expect(await operatorState(op.id)).toMatchObject({ status: 'OFFLINE', activeDialogCount: 0 });
    expect((await getDialog(t.admin, d.id)).status).toBe('QUEUED');
  });

  it('an expiry whose logout fails is left whole to the next sweep; the other users in the sweep go on', async () => {
    const g = await createGroup(t.admin);
    const failing = await createOperator(t.admin, { groupIds: [g.id] });
    const other = await createOperator(t.admin, { groupIds: [g.id] });
    for (const op of [failing, other]) await (await session(op)).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    // A real failure in the logout's transaction: the database refuses any change to this operator.
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    try {
      await db.query(
        `create function refuse_change() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`,
      );
      await db.query(
        `create trigger refuse_change before update on operators for each row when (old.id = '${failing.id}') execute function refuse_change()`,
      );
      sec(t.app.services.config.sessionTtlSec + 1);
      await expect(sweep()).rejects.toThrow(/sweep step/);
      expect((await operatorState(other.id)).status).toBe('OFFLINE');
      expect((await operatorState(failing.id)).status).toBe('ONLINE');
      await db.query('drop trigger refuse_change on operators');
      // Its session was not ended without the logout, so the next sweep finds both again.
      expect((await sweep()).sessionsExpired).toBe(1);
      expect((await operatorState(failing.id)).status).toBe('OFFLINE');
    } finally {
      await db.query('drop trigger if exists refuse_change on operators');
      await db.query('drop function if exists refuse_change()');
      await db.end();
    }
  });

  it('PRESENCE_GRACE_SEC: logged out once no WebSocket was open for the grace; a reconnect within it keeps everything', async () => {
    await t.stop();
    apps.splice(apps.indexOf(t), 1);
    await start({ presenceGraceSec: 30 });
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const token = await login(t.client(), op.email, op.password);
    const socket = async () => {
      const client = wsClient(t.app.url.replace('http', 'ws'), token, { lazy: false });
      await connected(client);
      return client;
    };
    // The sweep counts the sockets the server has: the clock moves on only once it has seen a close.
    const closed = async (client: typeof ws): Promise<void> => {
      await client.dispose();
      await eventually(
        () => ![...t.app.server.sockets].some((info) => info.viewer.operatorId === op.id),
        10_000,
        'socket closed',
      );
    };
    let ws = await socket();
    await t.client(token).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const d = await newDialog({ groupId: g.id });
    sec(60);
    await sweep(); // the open socket keeps them present
    expect((await operatorState(op.id)).status).toBe('ONLINE');
    await closed(ws);
    sec(29);
    await sweep();
    expect((await operatorState(op.id)).status).toBe('ONLINE');
    ws = await socket(); // back within the grace
    await sweep();
    sec(29);
    await sweep();
    expect(await operatorState(op.id)).toMatchObject({ status: 'ONLINE', activeDialogCount: 1 });
    await closed(ws);
    sec(30);
    expect((await sweep()).graceLoggedOut).toBe(1);
    expect(await operatorState(op.id)).toMatchObject({ status: 'OFFLINE', activeDialogCount: 0 });
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({ kind: 'REROUTE', outcome: 'QUEUED' });
    // Still logged in: the session works, and going ONLINE again takes the dialog back.
    await t.client(token).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    expect((await getDialog(t.admin, d.id)).operator?.id).toBe(op.id);
  });
});

describe('no-answer re-routing', () => {
  it('re-routes once per assignment, skips the silent operator, keeps the SL start, and is seen live', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 300 });
    await t.admin.ok(`mutation($id: ID!) { updateGroup(id: $id, input: { reassignAfterSec: 60 }) { reassignAfterSec } }`, {
      id: g.id,
    });
    const silent = await online([g.id], 2);
    const d = await newDialog({ groupId: g.id });
    expect(d.operator?.id).toBe(silent);
    const helper = await online([g.id], 1);
    const dashboard = wsClient(t.app.url.replace('http', 'ws'), await apiToken(t.admin, 'SUPERVISOR'));
    const events = subscribe<{ queueChanged: { type: string; dialog: { id: string; operator: { id: string } | null } } }>(
      dashboard,
      `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id operator { id } } } }`,
      { g: g.id },
    );
    await sweep();
    sec(59);
    await sweep();
    expect((await getDialog(t.admin, d.id)).operator?.id).toBe(silent);
    sec(1);
    expect((await sweep()).unanswered).toBe(1);
    const moved = await getDialog(t.admin, d.id);
    expect(moved.operator?.id).toBe(helper);
    expect(moved.slTimer?.startedAt).toBe(d.slTimer?.startedAt);
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({
      kind: 'NO_ANSWER',
      outcome: 'ASSIGNED_TO_TARGET',
      fromOperator: { id: silent },
      toOperator: { id: helper },
      reasons: [],
    });
    const event = await events.next();
    expect(event.queueChanged).toEqual({ type: 'TRANSFERRED', dialog: { id: d.id, operator: { id: helper } } });
    // Nothing more until the new assignment's own time is up.
    await sweep();
    expect((await transfersOf(d.id)).filter((x) => x.kind === 'NO_ANSWER')).toHaveLength(1);
    // The helper stays silent too: the next round may not go back to them, nor by a drain.
    sec(60);
    await setStatus(t.admin, silent, 'OFFLINE');
    expect((await sweep()).unanswered).toBe(1);
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({
      kind: 'NO_ANSWER',
      outcome: 'QUEUED',
      fromOperator: { id: helper },
    });
    await sweep();
    expect((await getDialog(t.admin, d.id)).status).toBe('QUEUED');
    events.dispose();
    await dashboard.dispose();
  });

  it('does not fire when the operator answered at the last moment', async () => {
    const g = await createGroup(t.admin);
    await t.admin.ok(`mutation($id: ID!) { updateGroup(id: $id, input: { reassignAfterSec: 60 }) { id } }`, { id: g.id });
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const me = await session(op);
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    await online([g.id]);
    const d = await newDialog({ groupId: g.id, operatorId: op.id });
    sec(59);
    await me.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "hello") { id } }`, { id: d.id });
    sec(1);
    expect((await sweep()).unanswered).toBe(0);
    sec(600);
    expect((await sweep()).unanswered).toBe(0);
    expect((await getDialog(t.admin, d.id)).operator?.id).toBe(op.id);
  });
});

describe('priority', () => {
  it('drains higher priority first, then the earliest deadline; queuePosition follows the same order', async () => {
    const fast = await createGroup(t.admin, { slFirstResponseSec: 30 });
    const slow = await createGroup(t.admin, { slFirstResponseSec: 600 });
    const urgentSl = await newDialog({ groupId: fast.id });
    const vip = await newDialog({ groupId: slow.id }, { priority: 5 });
    const plain = await newDialog({ groupId: slow.id });
    const bumped = await newDialog({ groupId: slow.id });
    const { setDialogPriority } = await bot.ok(
      `mutation($id: ID!) { setDialogPriority(dialogId: $id, priority: 10) { priority queuePosition } }`,
      { id: bumped.id },
    );
    expect(setDialogPriority).toEqual({ priority: 10, queuePosition: 1 });
    const order = [bumped.id, vip.id, urgentSl.id, plain.id];
    const { helpQueue } = await t.admin.ok(`{ helpQueue { id queuePosition priority } }`);
    expect(helpQueue.map((d: { id: string }) => d.id)).toEqual(order);
    expect(helpQueue.map((d: { queuePosition: number }) => d.queuePosition)).toEqual([1, 2, 3, 4]);
    // The bot reads it too.
    const { dialog } = await bot.ok(`query($id: ID!) { dialog(id: $id) { queuePosition } }`, { id: plain.id });
    expect(dialog.queuePosition).toBe(4);

    const op = await online([], 2);
    expect((await getDialog(t.admin, bumped.id)).operator?.id).toBe(op);
    expect((await getDialog(t.admin, vip.id)).operator?.id).toBe(op);
    const after = await t.admin.ok(`query($id: ID!) { dialog(id: $id) { queuePosition } }`, { id: plain.id });
    expect(after.dialog.queuePosition).toBe(2);
    const assigned = await t.admin.ok(`query($id: ID!) { dialog(id: $id) { queuePosition estimatedWaitSec } }`, { id: vip.id });
    expect(assigned.dialog).toEqual({ queuePosition: null, estimatedWaitSec: null });
  });

  it('refuses a priority outside 0–10 and changes nothing', async () => {
    await bot.fails(`mutation { startDialog(input: { priority: 11 }) { id } }`, undefined, 'BAD_USER_INPUT', 'priority');
    const d = await startDialog(bot, { priority: 3 });
    for (const p of [-1, 11]) {
      await bot.fails(
        `mutation($id: ID!, $p: Int!) { setDialogPriority(dialogId: $id, priority: $p) { id } }`,
        { id: d.id, p },
        'BAD_USER_INPUT',
        'priority',
      );
    }
    const { dialog } = await bot.ok(`query($id: ID!) { dialog(id: $id) { priority } }`, { id: d.id });
    expect(dialog.priority).toBe(3);
  });
});

describe('wait estimate', () => {
  it('is position × 900 s ÷ the dialogs that left the queue in the last 900 s, rounded up; null without history', async () => {
    const g = await createGroup(t.admin);
    const first = await newDialog({ groupId: g.id });
    const q = async (id: string) =>
      (await bot.ok(`query($id: ID!) { dialog(id: $id) { queuePosition estimatedWaitSec } }`, { id })).dialog;
    expect(await q(first.id)).toEqual({ queuePosition: 1, estimatedWaitSec: null });

    // History: an operator takes 1 dialog at 08:00:xx (outside the window later), then 3 more.
    const op = await createOperator(t.admin, { maxDialogs: 1 });
    const me = await session(op);
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`); // drains `first` (left the queue)
    const leave = async () => {
      const d = await newDialog({ groupId: g.id });
      expect(d.status).toBe('QUEUED');
      const held = (await me.ok(`{ dialogs(filter: { status: [ASSIGNED] }) { edges { node { id } } } }`)).dialogs.edges[0].node
        .id;
      await closeDialog(me, held); // frees the place: `d` drains to them
      expect((await getDialog(t.admin, d.id)).operator?.id).toBe(op.id);
    };
    sec(400);
    await leave();
    await leave();
    await leave();
    // 3 departures in the window (the first is now over 900 s old); the queue then holds 4.
    sec(500);
    const waiting = [];
    for (let i = 0; i < 4; i++) waiting.push(await newDialog({ groupId: g.id }));
    const { transfers } = (await t.admin.ok(`query($id: ID!) { dialog(id: $id) { transfers { at } } }`, { id: first.id })).dialog;
    expect(clock.now().getTime() - new Date(transfers.at(-1).at).getTime()).toBeGreaterThan(900_000);
    // Hand-computed: one departure per 300 s; position p waits p × 300 s.
    expect(await Promise.all(waiting.map((d) => q(d.id)))).toEqual([
      { queuePosition: 1, estimatedWaitSec: 300 },
      { queuePosition: 2, estimatedWaitSec: 600 },
      { queuePosition: 3, estimatedWaitSec: 900 },
      { queuePosition: 4, estimatedWaitSec: 1200 },
    ]);
  });
});

describe('queue limits', () => {
  it("refuses a bot's hand-off past the group's maxQueued: REJECTED, the dialog stays with the bot, nothing else written", async () => {
    const g = await createGroup(t.admin);
    await t.admin.ok(`mutation($id: ID!) { updateGroup(id: $id, input: { maxQueued: 1 }) { maxQueued } }`, { id: g.id });
    const waiting = await newDialog({ groupId: g.id });
    expect(waiting.status).toBe('QUEUED');
    const d = await startDialog(bot, { externalId: 'chat-full' });
    const counts = await tableCounts(t.db.url);
    try {
      const before = await counts.read();
      const refused = await transfer(bot, d.id, { groupId: g.id });
      expect(refused).toMatchObject({ status: 'BOT', group: null, operator: null, slTimer: null, queuedAt: null });
      expect(await lastTransfer(t.admin, d.id)).toMatchObject({
        kind: 'TRANSFER',
        outcome: 'REJECTED',
        reasons: ['GROUP_EMPTY', 'NO_OPERATOR_AVAILABLE', 'QUEUE_FULL'],
        toOperator: null,
      });
      expect(await counts.read()).toEqual({ ...before, dialog_transfers: before['dialog_transfers'] + 1 });
      // A bot failure is a hand-off from the bot too.
      const { createScenario } = await t.admin.ok(`mutation($g: ID) { createScenario(name: "s", fallbackGroupId: $g) { id } }`, {
        g: g.id,
      });
      const failing = await startDialog(bot, { scenarioId: createScenario.id });
      const { reportBotFailure } = await bot.ok(
        `mutation($id: ID!) { reportBotFailure(dialogId: $id, reason: "x, y") { status transfers { outcome reasons note } } }`,
        { id: failing.id },
      );
      expect(reportBotFailure).toEqual({
        status: 'BOT',
        transfers: [{ outcome: 'REJECTED', reasons: ['GROUP_EMPTY', 'NO_OPERATOR_AVAILABLE', 'QUEUE_FULL'], note: 'x, y' }],
      });
    } finally {
      await counts.close();
    }
    // Dialogs already with operators always queue.
    const other = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [other.id] });
    const me = await session(op);
    await me.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const held = await newDialog({ groupId: other.id });
    const handedOn = await transfer(me, held.id, { groupId: g.id });
    expect(handedOn.status).toBe('QUEUED');
    // Room again: the refused dialog can be handed over (nobody online: it waits).
    await me.ok(`mutation { setOperatorStatus(status: OFFLINE) { id } }`);
    await closeDialog(bot, waiting.id);
    await closeDialog(bot, handedOn.id);
    expect((await transfer(bot, d.id, { groupId: g.id })).status).toBe('QUEUED');
  });

  it('HELP_QUEUE_MAX limits the whole Help queue', async () => {
    await t.stop();
    apps.splice(apps.indexOf(t), 1);
    await start({ helpQueueMax: 2 });
    const g = await createGroup(t.admin);
    for (let i = 0; i < 2; i++) expect((await newDialog({ groupId: g.id })).status).toBe('QUEUED');
    const d = await startDialog(bot);
    const { reportBotFailure } = await bot.ok(`mutation($id: ID!) { reportBotFailure(dialogId: $id) { status } }`, { id: d.id });
    expect(reportBotFailure.status).toBe('BOT');
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({
      outcome: 'REJECTED',
      reasons: ['NO_TARGET', 'NO_OPERATOR_AVAILABLE', 'QUEUE_FULL'],
    });
  });

  it('refuses out-of-range group settings', async () => {
    const g = await createGroup(t.admin);
    for (const [field, value] of [
      ['reassignAfterSec', -1],
      ['maxQueued', 100_001],
      ['preferLastOperatorSec', 2_592_001],
    ] as const) {
      await t.admin.fails(
        `mutation($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { id } }`,
        { id: g.id, input: { [field]: value } },
        'BAD_USER_INPUT',
        field,
      );
    }
  });
});

describe('returning clients', () => {
  it("go first to the operator who closed their last dialog, only within the group's window", async () => {
    const g = await createGroup(t.admin);
    await t.admin.ok(`mutation($id: ID!) { updateGroup(id: $id, input: { preferLastOperatorSec: 600 }) { id } }`, { id: g.id });
    const first = await online([g.id]);
    const second = await online([g.id]);
    const d1 = await newDialog({ groupId: g.id }, { externalId: 'client-7' });
    const served = d1.operator!.id;
    const other = served === first ? second : first;
    // Make the one who served them the busier one: by load they would not get the next dialog.
    await newDialog({ operatorId: served });
    await closeDialog(bot, d1.id);
    await newDialog({ operatorId: served });
    sec(598);
    const d2 = await newDialog({ groupId: g.id }, { externalId: 'client-7' });
    expect(d2.operator?.id).toBe(served);
    expect(await lastTransfer(t.admin, d2.id)).toMatchObject({ outcome: 'ASSIGNED_TO_TARGET', reasons: [] });
    await closeDialog(bot, d2.id);
    // Past the window: by load as usual.
    sec(601);
    const d3 = await newDialog({ groupId: g.id }, { externalId: 'client-7' });
    expect(d3.operator?.id).toBe(other);
  });
});
