import pg from 'pg';
import { Webhook as Verifier } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { guardedLookup, refusedAddress, urlProblem } from '../src/webhooks/address-guard.js';
import { retryDelayMs } from '../src/webhooks/delivery-worker.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase } from './helpers/database.js';
import { closeDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator } from './helpers/factories.js';
import { GraphqlClient } from './helpers/gql.js';
import { startServerProcess } from './helpers/process.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

const ALL_TYPES = [
  'DIALOG_STARTED',
  'DIALOG_ASSIGNED',
  'DIALOG_QUEUED',
  'DIALOG_CLOSED',
  'MESSAGE_POSTED',
  'SL_WARNING',
  'SL_BREACHED',
  'OPERATOR_STATUS_CHANGED',
];
const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id url types active failingSince } } }`;
const DELIVERIES = `query($id: ID!, $first: Int, $after: String) { webhook(id: $id) { active failingSince
  deliveries(first: $first, after: $after) { edges { cursor node { id attempt at statusCode durationMs error nextAttemptAt event { id cursor type } } }
    pageInfo { hasNextPage endCursor } } } }`;

interface Attempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: string | null;
  event: { id: string; type: string };
}

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = new WebhookReceiver();
  await receiver.start();
});
afterEach(() => receiver.stop());

async function createWebhook(admin: GraphqlClient, url: string, types = ALL_TYPES): Promise<string> {
  const { createWebhook } = await admin.ok(CREATE, { input: { url, types } });
  expect(createWebhook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
  receiver.secret = createWebhook.secret;
  return createWebhook.webhook.id;
}

async function attempts(admin: GraphqlClient, id: string): Promise<Attempt[]> {
  const { webhook } = await admin.ok(DELIVERIES, { id, first: 100 });
  return webhook.deliveries.edges.map((e: { node: Attempt }) => e.node).reverse();
}

/** The public events the log holds after `after`, as [id, type], in commit order. */
async function feedEvents(url: string, after = 0): Promise<Array<[string, string]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Events are numbered just after their commit: wait until every committed one is.
    await eventually(
      async () =>
        (await client.query<{ n: number }>('select count(*)::int as n from event_log where position is null')).rows[0]?.n === 0,
      10_000,
      'events numbered',
    );
    const { rows } = await client.query<{ position: string; type: string }>(
      'select position, type from event_log where feed and position > $1 order by position',
      [after],
    );
    return rows.map((r) => [r.position, r.type]);
  } finally {
    await client.end();
  }
}

describe('webhooks in one process', () => {
  let t: TestApp;
  let clock: ManualClock;
  let bot: GraphqlClient;
  beforeEach(async () => {
    // Real time to start with: receivers check webhook-timestamp against their own clock.
    clock = new ManualClock(new Date());
    t = await startTestApp({ clock, config: { webhookAllowPrivateNetworks: true } });
    bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
  });
  afterEach(() => t.stop());

  it('a round that finds every webhook caught up leaves the next event to its own wake-up, not to the poll', async () => {
    const worker = t.app.services.webhookWorker;
    await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    const first = await startDialog(bot);
    await eventually(() => receiver.delivered().some((r) => r.body.data.dialog.id === first.id), 10_000, 'first delivery');
    // What the poll does: look again now. Every webhook is caught up, so the round finds nothing.
    await t.settled();
    await worker.idle();
    worker.webhooksChanged();
    await worker.idle();
    // The next event is fanned out, claimed and sent by the rounds its own delivery wakes.
    const second = await startDialog(bot);
    await t.settled();
    await worker.idle();
    expect(receiver.delivered().map((r) => r.body.data.dialog.id)).toContain(second.id);
  });

  it('delivers every public event once, signed, with the documented body', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const id = await createWebhook(t.admin, receiver.url);
    await setStatus(t.admin, op.id, 'ONLINE');
    // A body is read when its attempt is made: the status event's must go out before the
    // transfer below gives the operator a dialog, for its activeDialogCount to be 0.
    await eventually(() => receiver.delivered().length === 1, 10_000, 'the status event delivered');
    const d = await startDialog(bot, { externalId: 'chat-1', clientName: 'Ada' });
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hello") { id } }`, { id: d.id });
    await transfer(bot, d.id, { groupId: g.id });
    await closeDialog(t.admin, d.id);
    const expected = await feedEvents(t.db.url);
    expect(expected.map(([, type]) => type)).toEqual([
      'OPERATOR_STATUS_CHANGED',
      'DIALOG_STARTED',
      'MESSAGE_POSTED',
      'DIALOG_ASSIGNED',
      'DIALOG_CLOSED',
    ]);
    await eventually(() => receiver.delivered().length >= expected.length, 10_000, 'all deliveries');
    expect(receiver.rejected).toEqual([]);
    // The dialog's events arrive in commit order; the operator's status event has no order with them.
    const delivered = receiver.delivered().map((r) => [r.id, r.body.type]);
    const ofDialog = (events: string[][]) => events.filter(([, type]) => type !== 'OPERATOR_STATUS_CHANGED');
    expect(ofDialog(delivered)).toEqual(ofDialog(expected));
    const byPosition = [...receiver.delivered()].sort((a, b) => Number(a.id) - Number(b.id));
    expect(byPosition.map((r) => [r.id, r.body.type])).toEqual(expected);

    const [status, started, message, assigned, closed] = byPosition.map((r) => r.body);
    expect(status.data.operator).toEqual({
      id: op.id,
      firstName: expect.any(String),
      lastName: expect.any(String),
      status: 'ONLINE',
      maxDialogs: expect.any(Number),
      activeDialogCount: 0,
      lastActivityAt: expect.any(String),
      groupIds: [g.id],
    });
    expect(status.data.operator).not.toHaveProperty('email');
    expect(started).toEqual({
      type: 'DIALOG_STARTED',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: {
        eventId: expected[1][0],
        cursor: expected[1][0],
        dialog: expect.objectContaining({ id: d.id, externalId: 'chat-1', clientName: 'Ada' }),
        message: null,
        transfer: null,
        operator: null,
      },
    });
    expect(message.data.message).toMatchObject({ dialogId: d.id, author: 'CLIENT', text: 'hello', operatorId: null });
    expect(assigned.data.transfer).toMatchObject({ dialogId: d.id, outcome: 'ASSIGNED_TO_TARGET', toOperatorId: op.id });
    expect(assigned.data.operator).toMatchObject({ id: op.id });
    expect(closed.data.dialog).toMatchObject({ id: d.id, status: 'CLOSED', closedAt: expect.any(String) });

    await eventually(async () => (await attempts(t.admin, id)).length === expected.length, 10_000, 'attempts recorded');
    const list = await attempts(t.admin, id);
    expect(list.every((a) => a.attempt === 1 && a.statusCode === 200 && a.error === null && a.nextAttemptAt === null)).toBe(true);
    const metrics = await (await fetch(new URL('/metrics', t.app.url))).text();
    expect(metrics).toMatch(new RegExp(`handover_webhook_deliveries_total\\{result="delivered"\\} ${expected.length}\\b`));
    expect(metrics).toMatch(/handover_webhook_event_log_lag 0\b/);
  });

  it('sends many deliveries at once without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
      receiver.respond = () => 0;
      // Each attempt is held by the receiver: 20 at once are in flight together.
      for (let i = 0; i < 20; i++) await startDialog(bot);
      await eventually(() => receiver.held.length === 20, 10_000, '20 deliveries in flight');
      // A warning is emitted on the tick after its cause; the probe below goes the same way.
      await new Promise((resolve) => setImmediate(resolve));
      const probe = 'ProbeWarning: a test warning (the listener-leak test sees warnings)';
      process.emitWarning('a test warning (the listener-leak test sees warnings)', 'ProbeWarning');
      await eventually(() => warnings.includes(probe), 10_000, 'the probe warning');
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('retries a failing receiver with backoff and delivers once it recovers; failingSince shows the outage', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    receiver.respond = (_d, nth) => (nth <= 3 ? { status: 500, body: 'x'.repeat(5000) } : 200);
    await startDialog(bot);
    for (let n = 1; n <= 3; n++) {
      await eventually(async () => (await attempts(t.admin, id)).length === n, 10_000, `attempt ${n} recorded`);
      const { webhook } = await t.admin.ok(DELIVERIES, { id });
      expect(webhook.failingSince).not.toBeNull();
      // No more than the longest wait before attempt n + 1.
      clock.advance(retryDelayMs(n, () => 1));
    }
    await eventually(() => receiver.delivered().length === 1, 10_000, 'delivery after recovery');
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
    await eventually(async () => (await attempts(t.admin, id)).length === 4, 10_000, 'attempt 4 recorded');
    const list = await attempts(t.admin, id);
    expect(list.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ]);
    expect(list.slice(0, 3).every((a) => a.error === 'HTTP 500' && a.nextAttemptAt !== null)).toBe(true);
    expect(list[3].nextAttemptAt).toBeNull();
    const { webhook } = await t.admin.ok(DELIVERIES, { id });
    expect(webhook.failingSince).toBeNull();
    const [stored] = await t.app.orm.em
      .fork()
      .execute<Array<{ longest: number }>>('select max(octet_length(response_body)) as longest from webhook_attempts');
    expect(stored.longest).toBe(1024);
  });

  it('gives a delivery up after 24 h of failures, and the next event of its dialog goes out', async () => {
    // Starts a day back, so that after 24 h the receiver's own clock accepts the signatures again
    // (the first attempt, a day old, it refuses: a failure either way).
    clock.set(new Date(Date.now() - 24 * 60 * 60 * 1000));
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED', 'MESSAGE_POSTED']);
    receiver.respond = (d) => (d.body.type === 'DIALOG_STARTED' ? 503 : 200);
    const d = await startDialog(bot);
    await eventually(async () => (await attempts(t.admin, id)).length === 1, 10_000, 'first attempt');
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "later") { id } }`, { id: d.id });
    clock.advance(24 * 60 * 60 * 1000);
    await eventually(() => receiver.delivered().length === 1, 10_000, 'the held-back message');
    // The receiver answers before the worker records the attempt.
    await eventually(async () => (await attempts(t.admin, id)).length === 3, 10_000, 'the attempt recorded');
    const list = await attempts(t.admin, id);
    expect(list.map((a) => [a.event.type, a.statusCode, a.nextAttemptAt === null])).toEqual([
      ['DIALOG_STARTED', 401, false],
      ['DIALOG_STARTED', 503, true],
      ['MESSAGE_POSTED', 200, true],
    ]);
  });

  it('an event held back behind its dialog’s failing one gets its own 24 h, counted from its first try', async () => {
    clock.set(new Date(Date.now() - 24 * 60 * 60 * 1000));
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED', 'MESSAGE_POSTED']);
    receiver.respond = () => 503;
    const d = await startDialog(bot);
    await eventually(async () => (await attempts(t.admin, id)).length === 1, 10_000, 'first attempt');
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "later") { id } }`, { id: d.id });
    // Its delivery is made (and waits behind the first) before the day passes.
    const jobs = () => t.app.orm.em.fork().execute('select 1 from webhook_jobs where webhook_id = ?', [id]);
    await eventually(async () => (await jobs()).length === 2, 10_000, 'the message queued');
    clock.advance(24 * 60 * 60 * 1000);
    await eventually(async () => (await attempts(t.admin, id)).length === 3, 10_000, 'the held-back message tried');
    const list = await attempts(t.admin, id);
    expect(list.map((a) => [a.event.type, a.attempt, a.nextAttemptAt === null])).toEqual([
      ['DIALOG_STARTED', 1, false],
      ['DIALOG_STARTED', 2, true],
      // Its first try, a day after it was committed: retried, not given up.
      ['MESSAGE_POSTED', 1, false],
    ]);
  });

  it('a delivery pending while the webhook was off gets its 24 h of retries again from the reactivation', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    receiver.respond = () => 410;
    await startDialog(bot);
    await eventually(
      async () => !(await t.admin.ok(`query($id: ID!) { webhook(id: $id) { active } }`, { id })).webhook.active,
      10_000,
      'deactivated',
    );
    clock.advance(25 * 60 * 60 * 1000);
    receiver.respond = () => 503;
    await t.admin.ok(`mutation($id: ID!) { updateWebhook(id: $id, input: { active: true }) { active } }`, { id });
    await eventually(async () => (await attempts(t.admin, id)).length === 2, 10_000, 'sent again');
    const [, again] = await attempts(t.admin, id);
    // A failure again, a day after the first try: retried, not given up.
    expect(again.nextAttemptAt).not.toBeNull();
  });

  it('drops a delivery whose event the log no longer keeps, unsent, and the next event of its dialog goes out', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED', 'MESSAGE_POSTED']);
    receiver.respond = (d) => (d.body.type === 'DIALOG_STARTED' ? 503 : 200);
    const d = await startDialog(bot);
    await eventually(async () => (await attempts(t.admin, id)).length === 1, 10_000, 'first attempt');
    const [[started]] = await feedEvents(t.db.url);
    // What the retention sweep does to an event older than EVENT_RETENTION_DAYS.
    await t.app.orm.em.fork().execute('delete from event_log where position = ?', [started]);
    receiver.respond = () => 200;
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "later") { id } }`, { id: d.id });
    clock.advance(retryDelayMs(1, () => 1));
    await eventually(() => receiver.delivered().length === 1, 10_000, 'the message');
    expect(receiver.delivered().map((r) => r.body.type)).toEqual(['MESSAGE_POSTED']);
    const pending = await t.app.orm.em.fork().execute('select 1 from webhook_jobs where webhook_id = ?', [id]);
    expect(pending).toHaveLength(0);
  });

  it('holds back later events of a failing dialog only; they follow in order once it recovers', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED', 'MESSAGE_POSTED']);
    let failing = true;
    receiver.respond = (d) => (failing && d.body.data.dialog?.externalId === 'stuck' ? 500 : 200);
    const stuck = await startDialog(bot, { externalId: 'stuck' });
    const other = await startDialog(bot, { externalId: 'fine' });
    for (const text of ['s1', 's2']) {
      await bot.ok(`mutation($id: ID!, $t: String!) { postClientMessage(dialogId: $id, text: $t) { id } }`, {
        id: stuck.id,
        t: text,
      });
    }
    for (const text of ['o1', 'o2', 'o3']) {
      await bot.ok(`mutation($id: ID!, $t: String!) { postClientMessage(dialogId: $id, text: $t) { id } }`, {
        id: other.id,
        t: text,
      });
    }
    // Positive control: the other dialog's last event arrives while the stuck one's first still fails.
    await eventually(() => receiver.delivered().some((r) => r.body.data.message?.text === 'o3'), 10_000, 'other dialog');
    const ofStuck = (): string[] =>
      receiver.received
        .filter((r) => r.body.data.dialog?.id === stuck.id || r.body.data.message?.dialogId === stuck.id)
        .map((r) => `${r.body.type}:${r.body.data.message?.text ?? ''}:${r.status}`);
    expect(ofStuck().every((e) => e === 'DIALOG_STARTED::500')).toBe(true);
    expect(
      receiver
        .delivered()
        .filter((r) => r.body.data.message?.dialogId === other.id)
        .map((r) => r.body.data.message.text),
    ).toEqual(['o1', 'o2', 'o3']);
    // The retry is timed from when the failure is recorded: advance the clock only after that.
    await eventually(
      async () => (await attempts(t.admin, id)).some((a) => a.statusCode === 500 && a.nextAttemptAt !== null),
      10_000,
      "the stuck dialog's failed attempt recorded",
    );
    failing = false;
    clock.advance(retryDelayMs(1, () => 1));
    await eventually(() => ofStuck().filter((e) => e.endsWith(':200')).length === 3, 10_000, 'stuck dialog recovered');
    expect(ofStuck().filter((e) => e.endsWith(':200'))).toEqual([
      'DIALOG_STARTED::200',
      'MESSAGE_POSTED:s1:200',
      'MESSAGE_POSTED:s2:200',
    ]);
    expect(id).toBeTruthy();
  });

  it('410 Gone deactivates the webhook; reactivated, it sends the pending delivery and new events, not those in between', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    receiver.respond = () => 410;
    const first = await startDialog(bot, { externalId: 'first' });
    await eventually(async () => (await t.admin.ok(DELIVERIES, { id })).webhook.active === false, 10_000, 'deactivated');
    expect((await attempts(t.admin, id)).map((a) => [a.statusCode, a.nextAttemptAt])).toEqual([[410, null]]);
    await startDialog(bot, { externalId: 'while-inactive' });
    receiver.respond = () => 200;
    await t.admin.ok(`mutation($id: ID!) { updateWebhook(id: $id, input: { active: true }) { active } }`, { id });
    await startDialog(bot, { externalId: 'after' });
    await eventually(() => receiver.delivered().length === 2, 10_000, 'pending and new');
    expect(receiver.delivered().map((r) => r.body.data.dialog.externalId)).toEqual(['first', 'after']);
    expect(first.id).toBe(receiver.delivered()[0].body.data.dialog.id);
  });

  it('rotating the secret signs from then on with the new one only', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    const old = receiver.secret;
    await startDialog(bot);
    await eventually(() => receiver.delivered().length === 1, 10_000, 'first delivery');
    const { rotateWebhookSecret } = await t.admin.ok(
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }`,
      { id },
    );
    expect(rotateWebhookSecret.secret).not.toBe(old);
    // The receiver still holds the old secret: the next delivery is rejected as forged.
    await startDialog(bot);
    await eventually(() => receiver.rejected.length === 1, 10_000, 'rejected with the old secret');
    // The retry is timed from when the failure is recorded: advance the clock only after that.
    await eventually(
      async () => (await attempts(t.admin, id)).some((a) => a.nextAttemptAt !== null),
      10_000,
      'the failed attempt recorded',
    );
    receiver.secret = rotateWebhookSecret.secret;
    clock.advance(retryDelayMs(1, () => 1));
    await eventually(() => receiver.delivered().length === 2, 10_000, 'verified with the new secret');
    // The secret is not readable back.
    const { webhook } = await t.admin.ok(`query($id: ID!) { webhook(id: $id) { id url } }`, { id });
    expect(JSON.stringify(webhook)).not.toContain('whsec_');
    const [row] = await t.app.orm.em.fork().execute<Array<{ secret: string }>>('select secret from webhooks where id = ?', [id]);
    expect(row.secret).not.toContain(old.slice(6));
    expect(() => new Verifier(old)).not.toThrow();
  });

  it('new types, or turning it off, leave the events committed before them to the webhook as it was', async () => {
    const UPDATE = `mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { id } }`;
    const worker = t.app.services.webhookWorker;
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    try {
      for (const change of [{ types: ['MESSAGE_POSTED'] }, { active: false }]) {
        // The worker passes over a webhook whose row another transaction holds, so it is behind
        // the event below when the change comes, as it is under load.
        await db.query('begin');
        await db.query('select 1 from webhooks where id = $1 for no key update', [id]);
        const before = await startDialog(bot);
        const changing = t.admin.ok(UPDATE, { id, input: change });
        await eventually(
          async () => {
            await db.query('select pg_stat_clear_snapshot()');
            const { rows } = await db.query<{ n: number }>(
              'select count(*)::int as n from pg_stat_activity where pg_backend_pid() = any (pg_blocking_pids(pid))',
            );
            return rows[0].n > 0;
          },
          10_000,
          'the change waiting for the webhook',
        );
        await db.query('commit');
        await changing;
        // A round of the worker after the change: it fans out what it has not yet, as changed.
        await t.settled();
        worker.webhooksChanged();
        await worker.idle();
        await t.admin.ok(UPDATE, { id, input: { types: ['DIALOG_STARTED'], active: true } });
        await eventually(
          () => receiver.delivered().some((r) => r.body.data.dialog.id === before.id),
          10_000,
          `the event committed before ${JSON.stringify(change)}`,
        );
      }
    } finally {
      await db.end();
    }
  });

  it('redelivers an event on request, with the same webhook-id', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    await startDialog(bot);
    await eventually(() => receiver.delivered().length === 1, 10_000, 'first delivery');
    const eventId = receiver.delivered()[0].id;
    const { redeliverWebhookEvent } = await t.admin.ok(
      `mutation($w: ID!, $e: ID!) { redeliverWebhookEvent(webhookId: $w, eventId: $e) }`,
      { w: id, e: eventId },
    );
    expect(redeliverWebhookEvent).toBe(true);
    await eventually(() => receiver.delivered().length === 2, 10_000, 'redelivery');
    expect(receiver.delivered().map((r) => r.id)).toEqual([eventId, eventId]);
    await eventually(async () => (await attempts(t.admin, id)).length === 2, 10_000, 'attempt recorded');
    expect((await attempts(t.admin, id)).map((a) => [a.event.id, a.attempt])).toEqual([
      [eventId, 1],
      [eventId, 2],
    ]);
    await t.admin.fails(
      `mutation($w: ID!, $e: ID!) { redeliverWebhookEvent(webhookId: $w, eventId: $e) }`,
      { w: id, e: '999999' },
      'NOT_FOUND',
      'eventId',
    );
    const list = await t.admin.ok(DELIVERIES, { id, first: 1 });
    expect(list.webhook.deliveries.pageInfo.hasNextPage).toBe(true);
    const rest = await t.admin.ok(DELIVERIES, { id, first: 1, after: list.webhook.deliveries.pageInfo.endCursor });
    expect(rest.webhook.deliveries.edges.map((e: { node: Attempt }) => e.node.attempt)).toEqual([1]);
  });

  it('updates and deletes webhooks; input is checked', async () => {
    const id = await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED']);
    const { updateWebhook } = await t.admin.ok(
      `mutation($id: ID!) { updateWebhook(id: $id, input: { types: [DIALOG_CLOSED, DIALOG_CLOSED] }) { types url } }`,
      { id },
    );
    expect(updateWebhook).toEqual({ types: ['DIALOG_CLOSED'], url: receiver.url });
    await t.admin.fails(CREATE, { input: { url: 'ftp://example.com/x', types: ['DIALOG_STARTED'] } }, 'BAD_USER_INPUT', 'url');
    await t.admin.fails(CREATE, { input: { url: receiver.url, types: [] } }, 'BAD_USER_INPUT', 'types');
    expect((await t.admin.ok(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id })).deleteWebhook).toBe(id);
    expect((await t.admin.ok(`{ webhooks { id } }`)).webhooks).toEqual([]);
  });
});

describe('webhooks without WEBHOOK_ALLOW_PRIVATE_NETWORKS', () => {
  it('refuses internal addresses at creation', async () => {
    const t = await startTestApp();
    try {
      expect(t.app.services.config.webhookAllowPrivateNetworks).toBe(false);
      for (const url of [
        receiver.url,
        'http://localhost:8080/x',
        'http://10.1.2.3/x',
        'http://172.16.0.1/x',
        'http://192.168.1.1/x',
        'http://100.64.0.1/x',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]/x',
        'http://[fd00:ec2::254]/x',
        'http://[fe80::1]/x',
        'http://[::ffff:127.0.0.1]/x',
        'http://0.0.0.0/x',
        'http://224.0.0.1/x',
      ]) {
        await t.admin.fails(CREATE, { input: { url, types: ['DIALOG_STARTED'] } }, 'BAD_USER_INPUT', 'url');
      }
      const ok = await t.admin.ok(CREATE, { input: { url: 'https://203.0.113.7/hook', types: ['SL_BREACHED'] } });
      expect(ok.createWebhook.webhook.url).toBe('https://203.0.113.7/hook');
    } finally {
      await t.stop();
    }
  });

  it('refuses a name that resolves to an internal address when sending', async () => {
    const t = await startTestApp();
    try {
      const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
      // Stands for a public name whose DNS answer changed to an internal address after creation.
      const id = await createWebhook(t.admin, 'https://203.0.113.7/hook', ['DIALOG_STARTED']);
      const rebound = receiver.url.replace('127.0.0.1', 'localhost');
      await t.app.orm.em.fork().execute('update webhooks set url = ? where id = ?', [rebound, id]);
      await startDialog(bot);
      await eventually(async () => (await attempts(t.admin, id)).length === 1, 10_000, 'attempt recorded');
      const [attempt] = await attempts(t.admin, id);
      expect(attempt.statusCode).toBeNull();
      expect(attempt.error).toMatch(/^refused: localhost: (127\.0\.0\.1|::1) is not a public address$/);
      expect(receiver.received).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('classifies addresses', async () => {
    expect(refusedAddress('8.8.8.8')).toBeNull();
    expect(refusedAddress('2606:4700::1111')).toBeNull();
    expect(refusedAddress('::ffff:8.8.8.8')).toBeNull();
    expect(refusedAddress('::ffff:7f00:1')).not.toBeNull();
    expect(refusedAddress('64:ff9b::a9fe:a9fe')).not.toBeNull();
    expect(refusedAddress('ff02::1')).not.toBeNull();
    expect(urlProblem('http://user:pw@example.com/', false)).toMatch(/user name/);
    expect(urlProblem('http://127.0.0.1/', true)).toBeNull();
    const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup(false)('localhost', {}, (error) => resolve(error)),
    );
    expect(refused?.code).toBe('EADDRREFUSED');
  });
});

describe('webhooks across processes', () => {
  it('a delivery in flight when its process is killed (-9) is sent after a restart', async () => {
    const db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
    const env = { DATABASE_URL: db.url, PORT: '0', ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
    let server = await startServerProcess(env);
    try {
      const admin = new GraphqlClient(server.url, ADMIN_TOKEN);
      await createWebhook(admin, receiver.url, ['DIALOG_STARTED']);
      receiver.respond = (_d, nth) => (nth === 1 ? 0 : 200);
      const bot = new GraphqlClient(server.url, await apiToken(admin, 'INTEGRATION'));
      const d = await startDialog(bot);
      await eventually(() => receiver.held.length === 1, 20_000, 'the first attempt is in flight');
      await server.stop('SIGKILL');
      server = await startServerProcess(env);
      await eventually(() => receiver.delivered().length === 1, 30_000, 'delivered after the restart');
      expect(receiver.delivered()[0].body.data.dialog.id).toBe(d.id);
    } finally {
      await server.stop();
      await db.drop();
    }
  }, 120_000);

  it('two processes deliver each event once while the receiver is healthy', async () => {
    const t = await startTestApp({ config: { webhookAllowPrivateNetworks: true } });
    const other = await startServerProcess({
      DATABASE_URL: t.db.url,
      PORT: '0',
      ADMIN_TOKEN,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    try {
      await createWebhook(t.admin, receiver.url, ['DIALOG_STARTED', 'MESSAGE_POSTED']);
      const bots = [t.client(await apiToken(t.admin, 'INTEGRATION')), new GraphqlClient(other.url, ADMIN_TOKEN)];
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) {
        const bot = bots[i % 2];
        writes.push(
          startDialog(bot).then((d) =>
            bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hi") { id } }`, { id: d.id }),
          ),
        );
      }
      await Promise.all(writes);
      const expected = await feedEvents(t.db.url);
      expect(expected).toHaveLength(40);
      const control = expected.length + 1;
      await eventually(() => receiver.delivered().length >= 40, 20_000, 'all 40 events');
      // A duplicate would have been sent by now: one more event after them arrives on its own.
      await startDialog(bots[0]);
      expected.push(...(await feedEvents(t.db.url, Number(expected.at(-1)![0]))));
      await eventually(() => receiver.delivered().length >= 41, 20_000, 'the control event');
      expect(expected).toHaveLength(control);
      const ids = receiver.received.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(expected.map(([id]) => id).sort());
    } finally {
      expect(await other.stop()).toBe(0);
      await t.stop();
    }
  }, 120_000);
});
