import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { closeDialog, startDialog } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';

let t: TestApp;
let bot: GraphqlClient;
beforeEach(async () => {
  t = await startTestApp();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(async () => {
  await assertInvariants(t.db.url);
  await t.stop();
});

const START = `mutation($input: StartDialogInput!, $key: String) { startDialog(input: $input, idempotencyKey: $key) { id externalId status } }`;

async function byExternalId(externalId: string): Promise<Array<{ id: string; status: string }>> {
  const { dialogs } = await bot.ok(
    `query($f: DialogFilter) { dialogs(filter: $f) { edges { node { id status } } totalCount } }`,
    {
      f: { externalId },
    },
  );
  expect(dialogs.totalCount).toBe(dialogs.edges.length);
  return dialogs.edges.map((e: { node: { id: string; status: string } }) => e.node);
}

describe('dialogs(filter: { externalId })', () => {
  it("finds the bot's dialogs of one external chat, closed ones too, newest first", async () => {
    const a1 = await startDialog(bot, { externalId: 'chat-a' });
    const b = await startDialog(bot, { externalId: 'chat-b' });
    await startDialog(bot);
    expect(await byExternalId('chat-a')).toEqual([{ id: a1.id, status: 'BOT' }]);
    expect(await byExternalId('chat-b')).toEqual([{ id: b.id, status: 'BOT' }]);
    expect(await byExternalId('chat-none')).toEqual([]);

    await closeDialog(bot, a1.id);
    const a2 = await startDialog(bot, { externalId: 'chat-a' });
    expect(await byExternalId('chat-a')).toEqual([
      { id: a2.id, status: 'BOT' },
      { id: a1.id, status: 'CLOSED' },
    ]);
  });
});

describe('one open dialog per externalId', () => {
  it('refuses a second start while the first is open, naming it; allows one once it is closed', async () => {
    const first = await startDialog(bot, { externalId: 'chat-1' });
    const error = await bot.fails(START, { input: { externalId: 'chat-1' } }, 'CONFLICT', 'externalId');
    expect(error.extensions?.['dialogId']).toBe(first.id);
    // Surrounding blanks are not a different chat.
    const padded = await bot.fails(START, { input: { externalId: ' chat-1 ' } }, 'CONFLICT', 'externalId');
    expect(padded.extensions?.['dialogId']).toBe(first.id);
    // Another chat is unaffected (positive control on the same path).
    expect((await startDialog(bot, { externalId: 'chat-2' })).status).toBe('BOT');

    await closeDialog(bot, first.id);
    const again = await startDialog(bot, { externalId: 'chat-1' });
    expect(again.id).not.toBe(first.id);
    expect((await bot.fails(START, { input: { externalId: 'chat-1' } }, 'CONFLICT')).extensions?.['dialogId']).toBe(again.id);
  });

  it('a repeated start with the same idempotency key returns the first dialog, not CONFLICT', async () => {
    const vars = { input: { externalId: 'chat-k' }, key: 'start-chat-k' };
    const first = (await bot.ok(START, vars)).startDialog;
    const repeat = (await bot.ok(START, vars)).startDialog;
    expect(repeat).toEqual(first);
    const other = await bot.fails(START, { ...vars, key: 'another-key' }, 'CONFLICT', 'externalId');
    expect(other.extensions?.['dialogId']).toBe(first.id);
  });

  it('of concurrent starts for one chat exactly one wins; the others are told its id', async () => {
    for (let round = 0; round < 3; round++) {
      const externalId = `race-${round}`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          bot.request(START, { input: { externalId }, key: i % 2 ? `race-${round}-${i}` : null }),
        ),
      );
      const winners = results.filter((r) => !r.errors);
      expect(winners).toHaveLength(1);
      const winnerId = winners[0].data!['startDialog'].id;
      for (const lost of results.filter((r) => r.errors)) {
        expect(lost.status).toBeLessThan(500);
        expect(lost.errors![0].extensions).toMatchObject({ code: 'CONFLICT', field: 'externalId', dialogId: winnerId });
      }
      expect(await byExternalId(externalId)).toEqual([{ id: winnerId, status: 'BOT' }]);
    }
  });
});

describe('INTEGRATION reads operators', () => {
  it('ids, names, status, groups and load, but not the email', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const FIELDS = 'id firstName lastName status activeDialogCount groups { id }';
    const { operators } = await bot.ok(`query($g: ID) { operators(groupId: $g) { ${FIELDS} } }`, { g: g.id });
    expect(operators).toEqual([
      {
        id: op.id,
        firstName: expect.any(String),
        lastName: expect.any(String),
        status: 'OFFLINE',
        activeDialogCount: 0,
        groups: [{ id: g.id }],
      },
    ]);
    const { operator } = await bot.ok(`query($id: ID!) { operator(id: $id) { ${FIELDS} } }`, { id: op.id });
    expect(operator).toEqual(operators[0]);
    const { group } = await bot.ok(`query($id: ID!) { group(id: $id) { operators { id } } }`, { id: g.id });
    expect(group.operators).toEqual([{ id: op.id }]);

    await bot.fails(`query($id: ID!) { operator(id: $id) { id email } }`, { id: op.id }, 'FORBIDDEN');
    await bot.fails(`{ operators { id email } }`, undefined, 'FORBIDDEN');
    // Staff still read it.
    expect((await t.admin.ok(`query($id: ID!) { operator(id: $id) { email } }`, { id: op.id })).operator.email).toEqual(
      expect.stringContaining('@'),
    );
  });
});
