import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_TOKEN } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { GraphqlClient, type GraphqlResult } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { seededRandom as prng } from '../bench/lib/rng.js';

/**
 * Two real server processes on one database, 32 concurrent clients, thousands of successful
 * routing decisions mixed with bot failures, closes, takes, status flips (AWAY included),
 * priorities, operators' hand-offs, no-answer re-routes by both processes' sweeps (two groups
 * re-route after 2 s) and maxDialogs changes; then MISSION's invariants, in SQL.
 */
const CLIENTS = 32;
const TRANSFERS = 2000;
/** Each client's attempt cap: about ten times what reaching TRANSFERS usually takes. */
const MAX_STEPS_PER_CLIENT = 1500;
/** Each client's first steps start dialogs, so the others find some to act on. */
const WARM_UP_STEPS = 2;

let db: TestDatabase;
const servers: ServerProcess[] = [];

/** Client `client`'s own generator: its stream does not depend on how many draws the others made. */
function clientPrng(seed: number, client: number): () => number {
  return prng(createHash('sha256').update(`${seed}:${client}`).digest().readUInt32LE(0));
}

/** One step of a client: which operation, and the draws that pick its targets and values. */
interface Step {
  readonly roll: number;
  readonly dialog: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The element at fraction `u` of `list` (undefined when it is empty). */
function at<T>(list: readonly T[], u: number): T | undefined {
  return list[Math.floor(u * list.length)];
}

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
  const env = { DATABASE_URL: db.url, PORT: '0', ADMIN_TOKEN, SWEEP_INTERVAL_MS: '500', DB_POOL_SIZE: '12' };
  servers.push(...(await Promise.all([startServerProcess(env), startServerProcess(env)])));
}, 90_000);

afterAll(async () => {
  const codes = await Promise.all(servers.map((s) => s.stop()));
  expect(codes).toEqual(servers.map(() => 0));
  await db?.drop();
}, 60_000);

describe('routing under concurrency on two processes', () => {
  it('keeps every invariant', async () => {
    // Each client's steps (operations, draws) replay from the seed; the interleaving of the 32
    // clients does not, and neither do the dialogs a draw lands on (the shared list depends on it).
    const seed = Number(process.env['ROUTING_SEED'] ?? 20261124);
    console.log(`routing seed ${seed} (ROUTING_SEED=${seed} replays each client's steps)`);
    const admins = servers.map((s) => new GraphqlClient(s.url, ADMIN_TOKEN));
    const admin = admins[0];

    const groups: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { createGroup } = await admin.ok(
        `mutation($n: String!, $r: Int!) { createGroup(input: { name: $n, slFirstResponseSec: ${30 + i * 10}, slNextResponseSec: 60, reassignAfterSec: $r }) { id } }`,
        { n: `group ${i}`, r: i < 2 ? 2 : 0 },
      );
      groups.push(createGroup.id);
    }
    const operators: Array<{ id: string; sessions: GraphqlClient[] }> = [];
    for (let i = 0; i < 30; i++) {
      const email = `op${i}@example.com`;
      const { createOperator } = await admin.ok(
        `mutation($input: CreateOperatorInput!) { createOperator(input: $input) { id } }`,
        {
          input: {
            firstName: 'Op',
            lastName: String(i),
            email,
            password: 'password123',
            maxDialogs: 2 + (i % 5),
            groupIds: [groups[i % 6], groups[(i + 1) % 6]],
          },
        },
      );
      const sessions = await Promise.all(
        servers.map(async (s) => {
          const { login } = await new GraphqlClient(s.url).ok(
            `mutation($e: String!) { login(email: $e, password: "password123") { token } }`,
            { e: email },
          );
          return new GraphqlClient(s.url, login.token);
        }),
      );
      if (i % 6 !== 5) await sessions[0].ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
      operators.push({ id: createOperator.id, sessions });
    }
    const bots = await Promise.all(
      admins.map(
        async (a) =>
          new GraphqlClient(
            a.url,
            (await a.ok(`mutation { createApiToken(name: "bot", role: INTEGRATION) { token } }`)).createApiToken.token,
          ),
      ),
    );

    const dialogs: string[] = [];
    let started = 0;
    // Only transfers that succeeded count towards TRANSFERS; refused ones are in `outcomes`.
    let transfers = 0;
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    let steps = 0;

    const check = (op: string, result: GraphqlResult, alsoLegitimate: readonly string[] = []): boolean => {
      const code = result.errors?.[0]?.extensions?.code ?? 'OK';
      outcomes.set(`${op}:${code}`, (outcomes.get(`${op}:${code}`) ?? 0) + 1);
      const legitimate = ['OK', 'CONFLICT', 'BAD_USER_INPUT', ...alsoLegitimate];
      if (result.status >= 500 || !legitimate.includes(String(code)))
        failures.push(`${op}: ${JSON.stringify(result.errors ?? result.status)}`);
      return code === 'OK';
    };
    const forget = (id: string): void => {
      // A closed dialog refuses every later change: stop picking it.
      const i = dialogs.indexOf(id);
      if (i >= 0) dialogs.splice(i, 1);
    };

    const started0 = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const random = clientPrng(seed, c);
        const bot = bots[c % bots.length];
        const side = c % servers.length;
        for (let i = 0; i < MAX_STEPS_PER_CLIENT && transfers < TRANSFERS && failures.length === 0; i++) {
          // Every step draws the same five numbers, whatever it does with them.
          const step: Step = { roll: random(), dialog: random(), a: random(), b: random(), c: random() };
          steps++;
          const group = at(groups, step.a)!;
          const op = at(operators, step.a)!;
          if (i < WARM_UP_STEPS || step.roll < 0.45) {
            const start = await bot.request<{ startDialog: { id: string } }>(
              `mutation($p: Int) { startDialog(input: { priority: $p }) { id } }`,
              { p: Math.floor(step.c * 11) },
            );
            check('start', start);
            if (!start.data) continue;
            started++;
            const id = start.data.startDialog.id;
            dialogs.push(id);
            if (step.b < 0.1) {
              check(
                'botFailure',
                await bot.request(`mutation($id: ID!) { reportBotFailure(dialogId: $id, reason: "stuck") { id } }`, { id }),
              );
            } else if (
              check(
                'transfer',
                await bot.request(`mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id } }`, {
                  id,
                  g: group,
                }),
              )
            ) {
              transfers++;
            }
            continue;
          }
          if (step.roll >= 0.79 && step.roll < 0.8) {
            // Raising frees capacity (and drains); lowering below the load is refused.
            check(
              'maxDialogs',
              await admins[side].request(
                `mutation($id: ID!, $m: Int!) { updateOperator(id: $id, input: { maxDialogs: $m }) { id } }`,
                { id: op.id, m: 2 + Math.floor(step.b * 6) },
              ),
            );
            continue;
          }
          if (step.roll >= 0.85 && step.roll < 0.93) {
            check(
              'status',
              await op.sessions[side].request(`mutation($s: OperatorStatus!) { setOperatorStatus(status: $s) { id } }`, {
                s: step.b < 0.45 ? 'ONLINE' : step.b < 0.7 ? 'AWAY' : 'OFFLINE',
              }),
            );
            continue;
          }
          if (step.roll >= 0.45 && step.roll < 0.5) {
            // An operator hands on a dialog they hold (it may have moved meanwhile: FORBIDDEN then).
            const held = await op.sessions[side].request<{ dialogs: { edges: Array<{ node: { id: string } }> } }>(
              `query($o: ID!) { dialogs(filter: { operatorId: $o, status: [ASSIGNED] }, first: 5) { edges { node { id } } } }`,
              { o: op.id },
            );
            if (!check('held', held)) continue;
            const mine = at(held.data!.dialogs.edges, step.dialog)?.node.id;
            if (mine === undefined) {
              outcomes.set('handOff:none', (outcomes.get('handOff:none') ?? 0) + 1);
              continue;
            }
            const to = step.b < 0.5 ? { groupId: group } : { operatorId: at(operators, step.c)!.id };
            const handOff = await op.sessions[side].request(
              `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id } }`,
              { id: mine, to },
            );
            if (check('handOff', handOff, ['FORBIDDEN'])) transfers++;
            continue;
          }
          // The rest act on a dialog some client started and nobody closed yet.
          const id = at(dialogs, step.dialog);
          if (id === undefined) {
            outcomes.set('noDialog', (outcomes.get('noDialog') ?? 0) + 1);
            continue;
          }
          if (step.roll < 0.62) {
            const to =
              step.b < 0.5
                ? { operatorId: at(operators, step.c)!.id }
                : { groupId: group, operatorId: at(operators, step.c)!.id };
            if (
              check(
                'transfer',
                await bot.request(`mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id } }`, {
                  id,
                  to,
                }),
              )
            ) {
              transfers++;
            }
          } else if (step.roll < 0.79) {
            if (check('close', await bot.request(`mutation($id: ID!) { closeDialog(dialogId: $id) { id } }`, { id }))) forget(id);
          } else if (step.roll < 0.83) {
            check(
              'message',
              await bot.request(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hello") { id } }`, { id }),
            );
          } else if (step.roll < 0.85) {
            check(
              'priority',
              await bot.request(`mutation($id: ID!, $p: Int!) { setDialogPriority(dialogId: $id, priority: $p) { id } }`, {
                id,
                p: Math.floor(step.c * 11),
              }),
            );
          } else {
            check('take', await op.sessions[side].request(`mutation($id: ID!) { takeDialog(dialogId: $id) { id } }`, { id }));
          }
        }
      }),
    );
    const seconds = (Date.now() - started0) / 1000;
    console.log(
      `seed ${seed}: ${transfers} transfers, ${started} dialogs in ${steps} steps, ${seconds.toFixed(1)} s on ${servers.length} processes`,
      Object.fromEntries(outcomes),
    );
    if (failures.length)
      console.log(
        servers
          .map((s) => s.output())
          .join('\n')
          .slice(0, 6000),
      );
    expect(failures, `seed ${seed}`).toEqual([]);
    expect(transfers, `seed ${seed}: ${steps} steps`).toBeGreaterThanOrEqual(TRANSFERS);

    await assertInvariants(db.url);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(Number((await client.query('select count(*) from dialogs')).rows[0].count)).toBe(started);
      const unexplained = await client.query(`
        select d.id from dialogs d
         where (d.status in ('QUEUED', 'ASSIGNED') or d.handed_over_at is not null)
           and not exists (select 1 from dialog_transfers t where t.dialog_id = d.id)`);
      expect(unexplained.rows).toEqual([]);
      const wrongLast = await client.query(`
        select d.id from dialogs d
          join lateral (select to_operator_id from dialog_transfers t where t.dialog_id = d.id order by seq desc limit 1) last on true
         where d.status = 'ASSIGNED' and last.to_operator_id is distinct from d.operator_id`);
      expect(wrongLast.rows).toEqual([]);
      // Capacity and a waiting dialog never stay apart for long (the sweep catches lost wake-ups),
      // unless the only free operators are those who handed that dialog on.
      const stuck = `select exists (select 1 from dialogs d join operators o
                                      on o.status = 'ONLINE' and o.deleted_at is null and o.active_dialog_count < o.max_dialogs
                                     where d.status = 'QUEUED' and d.handed_on_by is distinct from o.id) as stuck`;
      const until = Date.now() + 15_000;
      let isStuck = (await client.query(stuck)).rows[0].stuck as boolean;
      while (isStuck && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        isStuck = (await client.query(stuck)).rows[0].stuck as boolean;
      }
      expect(isStuck).toBe(false);
      const kinds = await client.query(`select kind, count(*)::int as n from dialog_transfers group by kind order by kind`);
      console.log('decisions by kind', Object.fromEntries(kinds.rows.map((r) => [r.kind, r.n])));
    } finally {
      await client.end();
    }
    await assertInvariants(db.url);
  }, 900_000); // a guard against a hang, not a budget: the steps bound the work
});
