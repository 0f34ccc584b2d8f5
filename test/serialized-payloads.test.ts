import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { createGroup } from './helpers/factories.js';
import { ProtocolSocket } from './helpers/ws.js';

const QUEUE = `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id status } } }`;
const QUEUE_WITH_STATS = `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id } stats { queued } } }`;
/** An id a client may choose, spelled as the server's payload placeholder is in JSON. */
const LOOKALIKE_ID = '\u0000payload';
/** Characters of two, three and four bytes in UTF-8, before the payload's place. */
const MULTIBYTE_ID = 'ä-✓-😀';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

async function follow(s: ProtocolSocket, id: string, query: string, g: string): Promise<void> {
  const before = t.app.services.bus.handlerCount();
  s.subscribe(id, query, { g });
  await eventually(() => t.app.services.bus.handlerCount() > before, 10_000, `${id} registered`);
}

describe('next messages of a shared execution', () => {
  it('carry each socket its own id around the same payload, as text frames', async () => {
    const g = await createGroup(t.admin);
    const first = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    const second = await ProtocolSocket.connect(t.app.server.wsUrl, ADMIN_TOKEN);
    const frames: Array<{ text: string; isBinary: boolean }> = [];
    second.socket.on('message', (data, isBinary) => frames.push({ text: (data as Buffer).toString('utf8'), isBinary }));
    await follow(first, 'a', QUEUE, g.id);
    await follow(first, 'b', QUEUE_WITH_STATS, g.id);
    await follow(second, LOOKALIKE_ID, QUEUE, g.id);
    await follow(second, MULTIBYTE_ID, QUEUE, g.id);

    const dialog = await transfer(t.admin, (await startDialog(t.admin)).id, { groupId: g.id });
    const a = await first.nextFor('a');
    const b = await first.nextFor('b');
    const lookalike = await second.nextFor(LOOKALIKE_ID);
    const multibyte = await second.nextFor(MULTIBYTE_ID);

    const expected = { data: { queueChanged: { type: 'QUEUED', dialog: { id: dialog.id, status: 'QUEUED' } } } };
    expect(a).toEqual({ id: 'a', type: 'next', payload: expected });
    expect(lookalike).toEqual({ id: LOOKALIKE_ID, type: 'next', payload: expected });
    expect(multibyte).toEqual({ id: MULTIBYTE_ID, type: 'next', payload: expected });
    // Another document of the same event is its own execution and its own bytes.
    expect(b).toEqual({
      id: 'b',
      type: 'next',
      payload: { data: { queueChanged: { type: 'QUEUED', dialog: { id: dialog.id }, stats: { queued: 1 } } } },
    });
    const next = frames.find((f) => f.text.includes('"next"'));
    expect(next?.isBinary).toBe(false);
    expect(JSON.parse(next?.text ?? 'null')).toEqual(lookalike);
    first.close();
    second.close();
  });
});
