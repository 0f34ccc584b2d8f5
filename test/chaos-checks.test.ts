import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkInvariants, checkStream, isViolation, streamOk, type Observed } from '../bench/chaos/checks.js';
import { planOps } from '../bench/chaos/ops.js';
import { queueWatch } from '../bench/chaos/watchers.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** A subscriber's record: sequence numbers arriving one per second from t = 1000. */
function observed(sequences: number[], interruptions: Array<{ at: number; reason: string }> = []): Observed {
  return {
    spec: queueWatch(null, 1),
    received: sequences.map((sequence, i) => ({ sequence, at: 1000 * (i + 1) })),
    interruptions,
    eventErrors: [],
  };
}

describe('the chaos run: stream check', () => {
  it('passes a complete stream and counts its pairs', () => {
    const check = checkStream(observed([4, 5, 6, 7]), [], [], 7);
    expect(check).toMatchObject({ strictPairs: 3, missing: 0, tailMissing: 0 });
    expect(streamOk(check)).toBe(true);
  });

  it('fails a gap anywhere, even across a listener outage or a resubscription in the database outage', () => {
    const gap = observed([1, 2, 5, 6]); // 3 and 4 missing between t = 2000 and t = 3000
    for (const [listenerDown, dbOutages] of [
      [[], []],
      [[{ from: 2200, to: 2900 }], []],
      [[], [{ from: 2200, to: 2900 }]],
    ]) {
      const check = checkStream(gap, listenerDown, dbOutages, 6);
      expect(check.missing).toBe(2);
      expect(streamOk(check)).toBe(false);
    }
  });

  it('accepts a resubscription during the database outage when it resumed without a gap, not outside it', () => {
    const resubscribed = observed([1, 2, 3], [{ at: 2500, reason: 'socket closed' }]);
    const during = checkStream(resubscribed, [], [{ from: 2400, to: 2600 }], 3);
    expect(during).toMatchObject({ missing: 0, interruptionsInOutage: ['socket closed'] });
    expect(streamOk(during)).toBe(true);
    const outside = checkStream(resubscribed, [], [{ from: 5000, to: 6000 }], 3);
    expect(outside.interruptionsOutsideOutage).toEqual(['socket closed']);
    expect(streamOk(outside)).toBe(false);
  });

  it('fails events out of order, missing at the end, or beyond what was committed', () => {
    expect(checkStream(observed([1, 3, 2]), [], [], 3).outOfOrder).toBe(1);
    expect(checkStream(observed([1, 2]), [], [], 5).tailMissing).toBe(3);
    expect(checkStream(observed([1, 2]), [], [], 1).beyondCommitted).toBe(true);
    expect(streamOk(checkStream(observed([]), [], [], 0))).toBe(false);
  });

  it('allows INTERNAL and SERVICE_UNAVAILABLE errors only during the database outage, transport errors also while a server is killed', () => {
    expect(isViolation('INTERNAL_SERVER_ERROR', 'normal')).toBe(true);
    expect(isViolation('INTERNAL_SERVER_ERROR', 'server-kill')).toBe(true);
    expect(isViolation('INTERNAL_SERVER_ERROR', 'db-outage')).toBe(false);
    expect(isViolation('SERVICE_UNAVAILABLE', 'normal')).toBe(true);
    expect(isViolation('SERVICE_UNAVAILABLE', 'db-outage')).toBe(false);
    expect(isViolation('TRANSPORT', 'normal')).toBe(true);
    expect(isViolation('TRANSPORT', 'server-kill')).toBe(false);
    expect(isViolation('HTTP_500', 'normal')).toBe(true);
    expect(isViolation('CONFLICT', 'normal')).toBe(false);
  });
});

describe('the chaos run: operation plan', () => {
  it('is the same for the same seed (what --seed replays), and another for another seed', () => {
    expect(planOps(42, 200)).toEqual(planOps(42, 200));
    expect(planOps(43, 200)).not.toEqual(planOps(42, 200));
    expect(new Set(planOps(42, 2000).map((op) => op.kind)).size).toBeGreaterThanOrEqual(13);
  });
});

describe('the chaos run: SQL invariant checks', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  async function operator(status: string, active: number, max = 3): Promise<string> {
    const user = randomUUID();
    const id = randomUUID();
    await client.query(
      `insert into users (id, email, first_name, last_name, role, created_at) values ($1, $2, 'A', 'B', 'OPERATOR', now())`,
      [user, `${user}@x.test`],
    );
    await client.query(
      `insert into operators (id, user_id, max_dialogs, status, active_dialog_count, created_at) values ($1, $2, $3, $4, $5, now())`,
      [id, user, max, status, active],
    );
    return id;
  }

  async function dialog(status: string, operatorId: string | null): Promise<string> {
    const id = randomUUID();
    await client.query(`insert into dialogs (id, status, operator_id, created_at) values ($1, $2, $3, now())`, [
      id,
      status,
      operatorId,
    ]);
    return id;
  }

  const failing = async (started: string[] = []): Promise<string[]> =>
    (await checkInvariants(db.url, started)).filter((c) => c.violations > 0).map((c) => c.name);

  it('finds nothing in a consistent database, and each kind of breakage when it is there', async () => {
    const busy = await operator('ONLINE', 1, 1);
    const held = await dialog('ASSIGNED', busy);
    expect(await failing([held])).toEqual([]);

    const wrongCount = await operator('ONLINE', 2);
    expect(await failing()).toEqual(['3: active_dialog_count = ASSIGNED dialogs per operator']);
    await client.query(`update operators set active_dialog_count = 0 where id = $1`, [wrongCount]);

    const queued = await dialog('QUEUED', null);
    expect(await failing()).toEqual(['nothing waits in Help while an ONLINE operator has free capacity (after a sweep)']);
    await client.query(`update dialogs set handed_on_by = $2 where id = $1`, [queued, wrongCount]);
    await client.query(`update operators set status = 'OFFLINE' where id = $1`, [wrongCount]);
    expect(await failing()).toEqual([]);

    await client.query(`update operators set status = 'OFFLINE' where id = $1`, [busy]);
    expect(await failing()).toEqual(['no OFFLINE or deleted operator holds ASSIGNED dialogs']);
    await client.query(`update operators set status = 'ONLINE' where id = $1`, [busy]);

    expect(await failing([randomUUID()])).toEqual(['2: no started dialog lost (1 started)']);
  });
});
