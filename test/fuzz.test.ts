import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, type Caller } from './helpers/access.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { closeDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlError } from './helpers/gql.js';
import { inputArb, resolveRefs, type Hints } from './helpers/hostile-input.js';
import { operationFor, rootFields, type RootField } from './helpers/schema-ops.js';
import { tableCounts, type TableCounts } from './helpers/table-counts.js';

/**
 * Every Query and Mutation field, called by every role and anonymously with hostile arguments
 * generated from the schema. Whatever comes in: no HTTP 5xx, no INTERNAL_SERVER_ERROR, only
 * documented error codes, and a request that answers only errors writes nothing.
 *
 * FUZZ_SEED (default below) and FUZZ_RUNS (per field) steer it. A failure prints the seed, the
 * fast-check path, the request as sent and the answer; `FUZZ_SEED=… FUZZ_PATH=… npx vitest run
 * test/fuzz.test.ts -t <field>` draws the same arguments again (ids of real rows are resolved
 * against the data as it is then, which earlier fields of a full run have changed).
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 20);
const PATH = process.env['FUZZ_PATH'];

/** The codes README documents; anything else (INTERNAL_SERVER_ERROR above all) is a bug. */
const DOCUMENTED_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'OPERATION_LIMIT_EXCEEDED',
  'TOO_MANY_REQUESTS',
]);
/** Written by failures on purpose: failed password checks are counted (login throttling). */
const FAILURE_COUNTERS = ['login_throttle'];
const MAIN_TABLES = [
  'groups',
  'operators',
  'users',
  'group_members',
  'scenarios',
  'dialogs',
  'messages',
  'dialog_transfers',
  'auth_tokens',
  'sl_responses',
];
/** Tables whose rows are the ids an argument may name (dialogs, groups, … and the wrong ones). */
const ID_TABLES = [
  'groups',
  'operators',
  'users',
  'scenarios',
  'dialogs',
  'messages',
  'dialog_transfers',
  'auth_tokens',
  'groups.deleted',
  'operators.deleted',
];

/** Known when the file loads, so each field is its own test (`-t <field>`). */
const FIELDS = (await rootFields())
  .filter((f) => f.kind !== 'subscription')
  // Deleting runs last, so the other fields still find the seeded groups and operators.
  .sort((a, b) => Number(a.name.startsWith('delete')) - Number(b.name.startsWith('delete')));

let t: TestApp;
let counts: TableCounts;
const tokens = {} as Record<Caller, string | undefined>;
/** The OPERATOR caller's login, renewed when a fuzzed call ends it (logout, deleting its operator). */
let operatorLogin: { email: string; password: string };

async function seed(): Promise<void> {
  const admin = t.admin;
  const bot = t.client(await apiToken(admin, 'INTEGRATION'));
  const [g1, g2] = [await createGroup(admin), await createGroup(admin)];
  await createGroup(admin); // no members: transfers there fall back
  await admin.ok(`mutation($g: ID) { createScenario(name: "Greeting", fallbackGroupId: $g) { id } }`, { g: g1.id });
  const a = await createOperator(admin, { groupIds: [g1.id, g2.id], maxDialogs: 3 });
  const c = await createOperator(admin, { groupIds: [g2.id], maxDialogs: 1 });
  await createOperator(admin, { groupIds: [g1.id] }); // stays OFFLINE
  await createOperator(admin); // in no group
  await admin.ok(
    `mutation { createUser(input: { email: "sup@example.com", firstName: "S", lastName: "V", role: SUPERVISOR }) { id } }`,
  );
  operatorLogin = a;
  tokens.ADMIN = ADMIN_TOKEN;
  tokens.SUPERVISOR = await apiToken(admin, 'SUPERVISOR');
  tokens.INTEGRATION = await apiToken(admin, 'INTEGRATION');
  tokens.OPERATOR = await login(t.client(), a.email, a.password);
  tokens.ANONYMOUS = undefined;

  await bot.ok(
    `mutation { startDialog(input: { externalId: "bot-1", clientName: "Grace" }, idempotencyKey: "fuzz-key") { id } }`,
  ); // BOT
  await setStatus(admin, a.id, 'ONLINE');
  await setStatus(admin, c.id, 'ONLINE');
  // Answered and closed: messages, transfers and SL responses exist.
  const closed = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
  await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hello") { id } }`, { id: closed.id });
  await t.client(tokens.OPERATOR).ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "hi!") { id } }`, { id: closed.id });
  await closeDialog(bot, closed.id);
  // Everyone at capacity (a: 3, c: 1), then two more wait in Help.
  for (const to of [
    { groupId: g1.id },
    { groupId: g1.id },
    { operatorId: a.id },
    { groupId: g2.id },
    { groupId: g1.id },
    { groupId: g2.id },
  ]) {
    await transfer(bot, (await startDialog(bot)).id, to);
  }
}

beforeAll(async () => {
  console.info(`fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}${PATH ? ` FUZZ_PATH=${PATH}` : ''}`);
  t = await startTestApp();
  await t.quiet();
  counts = await tableCounts(t.db.url);
  await seed();
});
afterAll(async () => {
  await counts?.close();
  await t?.stop();
});

describe('the dataset the fuzz draws from', () => {
  it('counts every main table, and holds dialogs in every state', async () => {
    expect(counts.tables).toEqual(expect.arrayContaining(MAIN_TABLES));
    const statuses = await t.admin.ok<{ dialogs: { edges: Array<{ node: { status: string } }> } }>(
      `{ dialogs(first: 100) { edges { node { status } } } }`,
    );
    expect(new Set(statuses.dialogs.edges.map((e) => e.node.status))).toEqual(new Set(['BOT', 'QUEUED', 'ASSIGNED', 'CLOSED']));
  });

  it('sees a committed write in the counts (the positive control of "nothing written")', async () => {
    const before = await counts.read();
    await createGroup(t.admin);
    const after = await counts.read();
    expect(after['groups']).toBe(before['groups'] + 1);
  });
});

interface Answer {
  status: number;
  body: string;
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
}

async function send(caller: Caller, query: string, variables: unknown): Promise<Answer> {
  const token = tokens[caller];
  const response = await fetch(t.app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  let parsed: Pick<Answer, 'data' | 'errors'> = {};
  try {
    parsed = JSON.parse(body) as Pick<Answer, 'data' | 'errors'>;
  } catch {
    // reported below: every answer must be GraphQL JSON
  }
  return { status: response.status, body, ...parsed };
}

function short(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'string' && v.length > 200 ? `${v.slice(0, 40)}…(${v.length} chars)` : v,
    )?.slice(0, 4000) ?? 'undefined'
  );
}

/** The OPERATOR caller's session again, if a fuzzed call ended it. */
async function keepOperatorSession(): Promise<void> {
  const me = await t.client(tokens.OPERATOR).request(`{ me { id } }`);
  if (!me.errors) return;
  const again = await t
    .client()
    .request<{ login: { token: string } }>(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`, {
      e: operatorLogin.email,
      p: operatorLogin.password,
    });
  if (again.data?.login) {
    tokens.OPERATOR = again.data.login.token;
    return;
  }
  // Its operator was deleted or its email changed: a new one (its groups may be gone too).
  const op = await createOperator(t.admin);
  operatorLogin = op;
  tokens.OPERATOR = await login(t.client(), op.email, op.password);
}

describe('fuzz: every Query and Mutation field, every caller, hostile arguments', () => {
  it('covers every root field of the schema (a new field is fuzzed without anyone listing it)', () => {
    expect(FIELDS.map((f) => f.name)).toEqual(
      expect.arrayContaining(['dialogs', 'slReport', 'createOperator', 'transferDialog', 'login']),
    );
  });

  for (const root of FIELDS) {
    it(`${root.name}: no 5xx, no INTERNAL_SERVER_ERROR, only documented codes, nothing written when it answers only errors`, async () => {
      const hints = hintsFor(root);
      const arb = fc.record({
        caller: fc.oneof(
          { arbitrary: fc.constant<Caller>('ADMIN'), weight: 3 },
          { arbitrary: fc.constantFrom<Caller>(...CALLERS), weight: 5 },
        ),
        variables: fc.record(Object.fromEntries(root.args.map((a) => [a.name, inputArb(a.type, a.name, hints)]))),
      });
      const query = operationFor(root);
      let requests = 0;
      await fc
        .assert(
          fc.asyncProperty(arb, async ({ caller, variables }) => {
            requests++;
            const problems = await check(root, query, caller, variables);
            if (problems) throw new Error(problems);
          }),
          { seed: SEED, numRuns: RUNS, path: PATH, endOnFailure: true, includeErrorInReport: true },
        )
        .catch((error: unknown) => {
          throw new Error(
            `fuzz of ${root.name} failed; replay with FUZZ_SEED=${SEED} FUZZ_PATH=<path below> -t ${root.name}\n${error instanceof Error ? error.message : String(error)}`,
          );
        });
      expect(requests).toBe(PATH ? 1 : RUNS);
    });
  }
});

/** Ids of the entity an argument names (`groupIds` → groups; `id` of updateGroup → groups). */
const ENTITY_TABLES: Array<[RegExp, string]> = [
  [/group/i, 'groups'],
  [/operator/i, 'operators'],
  [/dialog/i, 'dialogs'],
  [/scenario/i, 'scenarios'],
  [/user/i, 'users'],
];

/** Arguments by name that reach deeper than random values: the right entity's ids, real emails, limits. */
function hintsFor(root: RootField): Hints {
  const entityOf = (name: string): string | undefined => ENTITY_TABLES.find(([pattern]) => pattern.test(name))?.[1];
  return {
    tables: ID_TABLES,
    tableOf: (field) => entityOf(field === 'id' ? root.name : field),
    byName: {
      email: fc.oneof(
        fc.constantFrom('sup@example.com', operatorLogin.email, 'A@EXAMPLE.COM', 'a@b', 'a@@b.c'),
        fc.uuid().map((u) => `${u.slice(0, 8)}@example.com`),
      ),
      password: fc.constantFrom(operatorLogin.password, 'short', 'x'.repeat(1025)),
      idempotencyKey: fc.oneof({ arbitrary: fc.constant('fuzz-key'), weight: 1 }, { arbitrary: fc.uuid(), weight: 4 }),
      intervalMs: fc.constantFrom(249, 250, 60_000, 60_001),
      first: fc.constantFrom(0, 1, 200, 201),
    },
  };
}

/** One request and its properties; a description of what broke, or null. */
async function check(root: RootField, query: string, caller: Caller, variables: unknown): Promise<string | null> {
  const resolved = resolveRefs(variables, await counts.ids());
  // The sequencer numbers earlier requests' events in the background (stream entries): let it
  // finish first, so what changes below is this request's doing.
  await t.settled();
  const before = await counts.read();
  const answer = await send(caller, query, resolved);
  const after = await counts.read();
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  if (answer.data === undefined && answer.errors === undefined) problems.push('not a GraphQL response');
  for (const error of answer.errors ?? []) {
    const code = String(error.extensions?.code);
    if (!DOCUMENTED_CODES.has(code)) problems.push(`error code ${code}`);
    if (code === 'BAD_USER_INPUT' && typeof error.extensions?.field !== 'string')
      problems.push('BAD_USER_INPUT without extensions.field');
  }
  const onlyErrors = !!answer.errors?.length && (answer.data == null || Object.values(answer.data).every((v) => v == null));
  if (onlyErrors) {
    const changed = counts.tables
      .filter((name) => !FAILURE_COUNTERS.includes(name) && before[name] !== after[name])
      .map((n) => `${n} ${before[n]} → ${after[n]}`);
    if (changed.length) problems.push(`rows written by a request that answered only errors: ${changed.join(', ')}`);
  }
  if (root.kind === 'mutation' && !answer.errors?.length) await keepOperatorSession();
  if (!problems.length) return null;
  return `${problems.join('; ')}\n${caller} ${query}\nvariables: ${short(resolved)}\nanswer: HTTP ${answer.status} ${short(answer.body)}`;
}
