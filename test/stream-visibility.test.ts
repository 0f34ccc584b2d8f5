import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { subscribe, wsClient } from './helpers/ws.js';

/** What a resumed stream shows an operator of a dialog that has since gone where they may not look. */

let t: TestApp;
let bot: GraphqlClient;
beforeAll(async () => {
  t = await startTestApp();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterAll(() => t.stop());

const EVENT_FIELDS = `type dialog { id status clientName messages { text } lastMessage { text } transfers { kind } } message { text }`;
interface QueueEventView {
  type: string;
  dialog: {
    id: string;
    clientName: string | null;
    messages: Array<{ text: string }>;
    lastMessage: { text: string } | null;
    transfers: unknown[];
  };
  message: { text: string } | null;
}

/** The first `count` events of `query` (with `after`) on a socket of `token`. */
async function replayed(
  token: string,
  field: string,
  query: string,
  variables: Record<string, unknown>,
  count: number,
): Promise<QueueEventView[]> {
  const client = wsClient(t.app.server.wsUrl, token);
  const stream = subscribe<Record<string, QueueEventView>>(client, query, variables);
  try {
    const events: QueueEventView[] = [];
    while (events.length < count) events.push((await stream.next(10_000))[field]);
    return events;
  } finally {
    stream.dispose();
    await client.dispose();
  }
}

const post = (dialogId: string, text: string) =>
  bot.ok(`mutation($id: ID!, $text: String!) { postClientMessage(dialogId: $id, text: $text) { id } }`, { id: dialogId, text });

describe('replayed queue and own-dialog events', () => {
  it('show an operator who may no longer see the dialog which dialog and where it went, not what was said', async () => {
    const mine = await createGroup(t.admin);
    const others = await createGroup(t.admin);
    const watcher = await createOperator(t.admin, { groupIds: [mine.id] });
    const holder = await createOperator(t.admin, { groupIds: [mine.id] });
    const taker = await createOperator(t.admin, { groupIds: [others.id] });
    const watcherToken = await login(t.client(), watcher.email, watcher.password);
    const holderToken = await login(t.client(), holder.email, holder.password);
    const holderClient = t.client(holderToken);

    // The Help queue, followed by an operator of another group: a dialog waits there, then goes to `taker`.
    const { queueStats } = await t.client(watcherToken).ok(`{ queueStats { sequence } }`);
    const waiting = await startDialog(bot, { clientName: 'Grace' });
    await post(waiting.id, 'queued: hello');
    await transfer(bot, waiting.id, { groupId: others.id });
    await setStatus(t.admin, taker.id, 'ONLINE');
    await post(waiting.id, 'SECRET told to the taker');

    const QUEUE = `subscription($after: Int) { queueChanged(after: $after) { ${EVENT_FIELDS} } }`;
    const seen = await replayed(watcherToken, 'queueChanged', QUEUE, { after: queueStats.sequence }, 2);
    expect(seen.map((e) => [e.type, e.dialog.id])).toEqual([
      ['QUEUED', waiting.id],
      ['ASSIGNED', waiting.id],
    ]);
    for (const { dialog } of seen) {
      expect(dialog).toMatchObject({ clientName: null, messages: [], lastMessage: null, transfers: [] });
    }
    // The same replay for an administrator has it all (control).
    const [, assigned] = await replayed(
      'test-admin-token-0123456789abcdef',
      'queueChanged',
      QUEUE,
      { after: queueStats.sequence },
      2,
    );
    expect(assigned.dialog.messages.map((m) => m.text)).toEqual(['queued: hello', 'SECRET told to the taker']);

    // An operator's own dialogs: one is taken from them to a group of others.
    await setStatus(t.admin, holder.id, 'ONLINE');
    const { operator } = await holderClient.ok(`query($id: ID!) { operator(id: $id) { dialogsSequence } }`, { id: holder.id });
    const held = await startDialog(bot, { clientName: 'Ada' });
    await transfer(bot, held.id, { groupId: mine.id });
    await post(held.id, 'told to the holder');
    await transfer(holderClient, held.id, { groupId: others.id });
    await post(held.id, 'SECRET told after it left');
    const MINE = `subscription($after: Int) { myDialogs(after: $after) { ${EVENT_FIELDS} } }`;
    const own = await replayed(holderToken, 'myDialogs', MINE, { after: operator.dialogsSequence }, 3);
    expect(own.map((e) => [e.type, e.dialog.id])).toEqual([
      ['ASSIGNED', held.id],
      ['MESSAGE', held.id],
      ['TRANSFERRED', held.id],
    ]);
    expect(JSON.stringify(own)).not.toContain('SECRET');
    expect(own.every((e) => e.dialog.messages.length === 0 && e.message === null)).toBe(true);
  });
});
