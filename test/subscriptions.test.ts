import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator } from './helpers/factories.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import type { GraphqlClient } from './helpers/gql.js';
import { subscribe, wsClient } from './helpers/ws.js';
import { ADMIN_TOKEN } from './helpers/app.js';
import { eventually } from './helpers/eventually.js';

let t: TestApp;
let bot: GraphqlClient;
beforeEach(async () => {
  t = await startTestApp();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(() => t.stop());

const QUEUE = `subscription($g: ID) { queueChanged(groupId: $g) { type sequence groupId dialog { id status operator { id } } stats { queued onlineOperators freeCapacity } } }`;

describe('queueChanged', () => {
  it('streams a group queue and the Help queue, committed changes only, with sequences', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1 });
    await setStatus(t.admin, op.id, 'ONLINE');
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const group = subscribe(ws, QUEUE, { g: g.id });
    const help = subscribe(ws, QUEUE, { g: null });
    await eventually(() => t.app.services.bus.handlerCount() === before + 2, 10_000, 'subscriptions registered');

    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const e1 = (await group.next()).queueChanged;
    expect(e1).toMatchObject({
      type: 'ASSIGNED',
      groupId: g.id,
      dialog: { id: d1.id, status: 'ASSIGNED', operator: { id: op.id } },
    });
    expect(e1.stats).toMatchObject({ queued: 0, onlineOperators: 1, freeCapacity: 0 });

    // A failing mutation (unknown target group) changes nothing and emits nothing.
    await bot.fails(
      `mutation($id: ID!) { transferDialog(dialogId: $id, to: { groupId: "00000000-0000-4000-8000-000000000000" }) { id } }`,
      { id: d1.id },
      'NOT_FOUND',
    );

    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d2.status).toBe('QUEUED');
    const e2 = (await group.next()).queueChanged;
    expect(e2).toMatchObject({ type: 'QUEUED', dialog: { id: d2.id } });
    expect(e2.sequence).toBe(e1.sequence + 1);
    expect(e2.stats.queued).toBe(1);
    const h = (await help.next()).queueChanged;
    expect(h).toMatchObject({ type: 'QUEUED', groupId: null, dialog: { id: d2.id } });
    // d1, assigned in g, never reached Help: h came first, and the next one is the next Help change.
    const { reportBotFailure: d3 } = await bot.ok(`mutation($id: ID!) { reportBotFailure(dialogId: $id) { id status } }`, {
      id: (await startDialog(bot)).id,
    });
    expect(d3.status).toBe('QUEUED');
    expect((await help.next()).queueChanged).toMatchObject({
      type: 'QUEUED',
      groupId: null,
      dialog: { id: d3.id },
      sequence: h.sequence + 1,
    });
    expect(group.errors).toEqual([]);
    await ws.dispose();
  });

  it("subscribers of one document naming different operations each get their operation's result", async () => {
    const g = await createGroup(t.admin);
    const document = `subscription Types($g: ID) { queueChanged(groupId: $g) { type } }
      subscription Sequences($g: ID) { queueChanged(groupId: $g) { sequence } }`;
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const types = subscribe(ws, document, { g: g.id }, 'Types');
    const sequences = subscribe(ws, document, { g: g.id }, 'Sequences');
    await eventually(() => t.app.services.bus.handlerCount() === before + 2, 10_000, 'subscriptions registered');

    await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(await types.next()).toEqual({ queueChanged: { type: 'QUEUED' } });
    expect(await sequences.next()).toEqual({ queueChanged: { sequence: expect.any(Number) } });
    await ws.dispose();
  });
});

describe('a subscription sent over HTTP', () => {
  it('is refused with BAD_REQUEST pointing at WebSocket, not an internal error; WebSocket serves it', async () => {
    const g = await createGroup(t.admin);
    const result = await t.admin.request(QUEUE, { g: g.id });
    expect(result.status).toBe(400);
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0].extensions?.code).toBe('BAD_REQUEST');
    expect(result.errors![0].message).toMatch(/WebSocket/);

    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const group = subscribe(ws, QUEUE, { g: g.id });
    await eventually(() => t.app.services.bus.handlerCount() === before + 1, 10_000, 'subscription registered');
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await group.next()).queueChanged).toMatchObject({ type: 'QUEUED', dialog: { id: d.id } });
    group.dispose();
    await ws.dispose();
  });
});
