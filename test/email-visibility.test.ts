import { getNamedType, isObjectType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handoverSchema } from '../src/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator, login, unique, type OperatorRef } from './helpers/factories.js';
import type { GraphqlClient, GraphqlError } from './helpers/gql.js';
import { wsClient } from './helpers/ws.js';

/**
 * Operator.email is for staff and the operator themself. Every path from a root field to an
 * Operator (derived from the schema) is run as each kind of viewer, and each answer is checked:
 * an e-mail appears only where allowed, FORBIDDEN at the field elsewhere, and the forbidden
 * addresses appear nowhere in the raw response.
 */
type ViewerName = 'ADMIN' | 'SUPERVISOR' | 'SELF' | 'OTHER' | 'INTEGRATION';
const VIEWERS: ViewerName[] = ['ADMIN', 'SUPERVISOR', 'SELF', 'OTHER', 'INTEGRATION'];
const MAX_PATH_LENGTH = 4;

/** Root field, then fields down to one whose type is Operator; no type twice on a path. */
function operatorPaths(schema: GraphQLSchema, root: GraphQLObjectType): string[][] {
  const operator = schema.getType('Operator');
  const paths: string[][] = [];
  const walk = (type: GraphQLObjectType, path: string[], seen: Set<string>): void => {
    for (const field of Object.values(type.getFields())) {
      const target = getNamedType(field.type);
      const next = [...path, field.name];
      if (target === operator) paths.push(next);
      else if (isObjectType(target) && next.length < MAX_PATH_LENGTH && !seen.has(target.name)) {
        walk(target, next, new Set([...seen, target.name]));
      }
    }
  };
  walk(root, [], new Set([root.name]));
  return paths;
}

const schema = await handoverSchema();
const KINDS = [
  ['query', schema.getQueryType()!],
  ['mutation', schema.getMutationType()!],
  ['subscription', schema.getSubscriptionType()!],
] as const;
const PATHS = KINDS.flatMap(([kind, root]) => operatorPaths(schema, root).map((path) => ({ kind, path, name: path.join('.') })));
/** Its answer is the signed-in user's, whoever calls: tested on its own below. */
const TESTED_APART = new Set(['login']);
const pathsOf = (kind: string): typeof PATHS => PATHS.filter((p) => p.kind === kind && !TESTED_APART.has(p.path[0]));

let t: TestApp;
const clients = {} as Record<ViewerName, GraphqlClient>;
const tokens = {} as Record<ViewerName, string>;
let opA: OperatorRef; // SELF
let opB: OperatorRef; // OTHER, offline until the last change, so fallbacks never pick them
const ids = {} as Record<'gA' | 'gB' | 'gEmpty' | 'sA' | 'dA' | 'dQ' | 'dAB', string>;

/** Which operators each viewer may read the e-mail of. */
function mayRead(viewer: ViewerName, operatorId: string): boolean {
  if (viewer === 'ADMIN' || viewer === 'SUPERVISOR') return true;
  if (viewer === 'SELF') return operatorId === opA.id;
  if (viewer === 'OTHER') return operatorId === opB.id;
  return false;
}

async function emailsById(): Promise<Map<string, string>> {
  const { operators } = await t.admin.ok<{ operators: Array<{ id: string; email: string }> }>(`{ operators { id email } }`);
  return new Map(operators.map((o) => [o.id, o.email]));
}

/** The selection of `path` below its root field, ending in `{ id email }`. */
function selection(path: readonly string[]): string {
  return path.slice(1).reduceRight((inner, field) => `{ ${field} ${inner} }`, '{ id email }');
}

/** Every non-null object at the end of `path` in `data` (lists flattened). */
function reached(data: unknown, path: readonly string[]): Array<{ id: string; email: string }> {
  let level: unknown[] = [data];
  for (const key of path) {
    level = level
      .flatMap((value) => (value && typeof value === 'object' ? [(value as Record<string, unknown>)[key]] : []))
      .flatMap((value) => (Array.isArray(value) ? value : [value]))
      .filter((value) => value !== null && value !== undefined);
  }
  return level as Array<{ id: string; email: string }>;
}

interface Outcome {
  /** ids whose e-mail was shown */
  shown: string[];
  /** FORBIDDEN errors at an email field */
  refused: number;
  /** refused before any Operator was reached (the role, visibility or state at a field above) */
  refusedAbove: boolean;
}

/** Checks one answer for `viewer` and says what it showed. */
function judge(
  viewer: ViewerName,
  name: string,
  path: readonly string[],
  raw: string,
  result: { data?: unknown; errors?: readonly GraphqlError[] },
  emails: Map<string, string>,
): Outcome {
  const where = `${viewer} ${name}: ${raw}`;
  for (const [id, email] of emails) {
    if (!mayRead(viewer, id)) expect(raw, where).not.toContain(email);
  }
  const outcome: Outcome = { shown: [], refused: 0, refusedAbove: false };
  for (const error of result.errors ?? []) {
    const at = error.path ?? [];
    if (at.at(-1) === 'email') {
      expect(error.extensions?.code, where).toBe('FORBIDDEN');
      outcome.refused++;
    } else {
      expect(['FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT'], where).toContain(error.extensions?.code);
      outcome.refusedAbove = true;
    }
  }
  for (const operator of reached(result.data, path)) {
    expect(mayRead(viewer, operator.id), where).toBe(true);
    expect(operator.email, where).toBe(emails.get(operator.id));
    outcome.shown.push(operator.id);
  }
  if (viewer === 'ADMIN' || viewer === 'SUPERVISOR') expect(outcome.refused, where).toBe(0);
  return outcome;
}

/** What each (path, viewer) showed over all its runs. */
interface Coverage {
  runs: number;
  /** runs stopped above the Operator (role, visibility or state) */
  stoppedAbove: number;
  shownOwn: boolean;
  shownAny: boolean;
  refused: boolean;
}
const coverage = new Map<string, Coverage>();
function record(viewer: ViewerName, name: string, outcome: Outcome): void {
  const key = `${name} ${viewer}`;
  const entry = coverage.get(key) ?? { runs: 0, stoppedAbove: 0, shownOwn: false, shownAny: false, refused: false };
  entry.runs++;
  if (outcome.refusedAbove) entry.stoppedAbove++;
  entry.shownAny ||= outcome.shown.length > 0;
  entry.shownOwn ||= outcome.shown.some((id) => (viewer === 'SELF' ? id === opA.id : viewer === 'OTHER' && id === opB.id));
  entry.refused ||= outcome.refused > 0;
  coverage.set(key, entry);
}

const DIALOG_BY_ADMIN = `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id status } }`;

async function botDialog(): Promise<string> {
  const { startDialog } = await t.admin.ok<{ startDialog: { id: string } }>(
    `mutation($s: ID) { startDialog(input: { scenarioId: $s, clientName: "Grace" }) { id } }`,
    { s: ids.sA },
  );
  return startDialog.id;
}

/** A dialog of group `groupId` held by opA, with opA's reply. */
async function heldByA(groupId = ids.gA): Promise<string> {
  const id = await botDialog();
  const { transferDialog } = await t.admin.ok<{ transferDialog: { status: string } }>(DIALOG_BY_ADMIN, {
    id,
    to: { operatorId: opA.id, groupId },
  });
  expect(transferDialog.status).toBe('ASSIGNED');
  await clients.SELF.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "hi, Ada here") { id } }`, { id });
  return id;
}

/** opA hands the dialog on to a group (opB's, or empty): nobody else is online, so it waits in Help. */
async function queuedFromA(groupId = ids.gEmpty): Promise<string> {
  const id = await heldByA();
  const { transferDialog } = await clients.SELF.ok<{ transferDialog: { status: string } }>(
    `mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { status } }`,
    { id, g: groupId },
  );
  expect(transferDialog.status).toBe('QUEUED');
  return id;
}

beforeAll(async () => {
  t = await startTestApp();
  await t.quiet();
  ids.gA = (await createGroup(t.admin)).id;
  ids.gB = (await createGroup(t.admin)).id;
  ids.gEmpty = (await createGroup(t.admin)).id;
  opA = await createOperator(t.admin, { groupIds: [ids.gA] });
  opB = await createOperator(t.admin, { groupIds: [ids.gB] });
  const { createScenario } = await t.admin.ok<{ createScenario: { id: string } }>(
    `mutation($g: ID!) { createScenario(name: "support", fallbackGroupId: $g) { id } }`,
    { g: ids.gA },
  );
  ids.sA = createScenario.id;
  tokens.ADMIN = t.admin.token!;
  tokens.SUPERVISOR = await apiToken(t.admin, 'SUPERVISOR');
  tokens.INTEGRATION = await apiToken(t.admin, 'INTEGRATION');
  tokens.SELF = await login(t.client(), opA.email, opA.password);
  tokens.OTHER = await login(t.client(), opB.email, opB.password);
  for (const viewer of VIEWERS) clients[viewer] = t.client(tokens[viewer]);
  await clients.SELF.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);

  ids.dA = await heldByA();
  ids.dQ = await queuedFromA(ids.gB);
  // Held by opA but aimed at opB's group: OTHER sees it, with opA as its operator.
  ids.dAB = await heldByA(ids.gB);
});
afterAll(() => t.stop());

/** The user account behind an operator. */
async function userOf(operatorId: string): Promise<string> {
  const { users } = await t.admin.ok<{ users: Array<{ id: string; operator: { id: string } | null }> }>(
    `{ users { id operator { id } } }`,
  );
  const user = users.find((u) => u.operator?.id === operatorId);
  if (!user) throw new Error(`no user for operator ${operatorId}`);
  return user.id;
}

/** Arguments for each root field, made afresh for each viewer; a field may be run several ways. */
type Prepare = () => Promise<{ args: string; variables: Record<string, unknown> }>;
const fixed =
  (args: string, variables: () => Record<string, unknown> = () => ({})): Prepare =>
  () =>
    Promise.resolve({ args, variables: variables() });

const QUERY_RUNS: Record<string, Prepare[]> = {
  operators: [fixed('')],
  operator: [fixed('(id: $id)', () => ({ id: opA.id })), fixed('(id: $id)', () => ({ id: opB.id }))],
  me: [fixed('')],
  viewer: [fixed('')],
  users: [fixed('')],
  dialog: (['dA', 'dQ', 'dAB'] as const).map((key) => fixed('(id: $id)', () => ({ id: ids[key] }))),
  dialogs: [fixed(''), fixed('(filter: $f)', () => ({ f: { groupId: ids.gA } }))],
  helpQueue: [fixed('')],
  group: [fixed('(id: $id)', () => ({ id: ids.gA })), fixed('(id: $id)', () => ({ id: ids.gB }))],
  groups: [fixed('')],
  scenarios: [fixed('')],
  events: [fixed('')],
};

const VARIABLE_TYPES: Record<string, string> = {
  id: 'ID!',
  f: 'DialogFilter',
  g: 'ID!',
  o: 'ID!',
  s: 'ID',
  to: 'TransferTarget!',
  n: 'String!',
  e: 'String!',
  q: 'ID',
  u: 'ID!',
};

/** Declares the variables used in `args`. */
function header(kind: string, variables: Record<string, unknown>): string {
  const names = Object.keys(variables);
  return names.length ? `${kind}(${names.map((n) => `$${n}: ${VARIABLE_TYPES[n]}`).join(', ')})` : kind;
}

const onDialog =
  (make: () => Promise<string>): Prepare =>
  async () => ({ args: '(dialogId: $id)', variables: { id: await make() } });

const MUTATION_RUNS: Record<string, Prepare[]> = {
  createGroup: [
    fixed('(input: { name: $n, slFirstResponseSec: 60, slNextResponseSec: 60, operatorIds: [$o] })', () => ({
      n: unique('g'),
      o: opA.id,
    })),
  ],
  updateGroup: [fixed('(id: $g, input: {})', () => ({ g: ids.gA }))],
  addOperatorsToGroup: [fixed('(groupId: $g, operatorIds: [$o])', () => ({ g: ids.gA, o: opA.id }))],
  removeOperatorsFromGroup: [fixed('(groupId: $g, operatorIds: [])', () => ({ g: ids.gA }))],
  createOperator: [fixed('(input: { firstName: "N", lastName: "N", email: $e })', () => ({ e: `${unique('n')}@example.com` }))],
  updateOperator: [fixed('(id: $o, input: {})', () => ({ o: opA.id }))],
  setOperatorStatus: [fixed('(status: ONLINE, operatorId: $o)', () => ({ o: opA.id }))],
  createUser: [
    fixed('(input: { firstName: "N", lastName: "N", email: $e, role: OPERATOR })', () => ({ e: `${unique('u')}@example.com` })),
  ],
  createScenario: [fixed('(name: $n, fallbackGroupId: $g)', () => ({ n: unique('s'), g: ids.gA }))],
  updateUser: [async () => ({ args: '(id: $u, input: {})', variables: { u: await userOf(opA.id) } })],
  updateScenario: [fixed('(id: $id)', () => ({ id: ids.sA }))],
  startDialog: [fixed('(input: { scenarioId: $s })', () => ({ s: ids.sA }))],
  postClientMessage: [async () => ({ args: '(dialogId: $id, text: "more")', variables: { id: await heldByA() } })],
  sendMessage: [async () => ({ args: '(dialogId: $id, text: "on it")', variables: { id: await heldByA() } })],
  transferDialog: [
    // a bot hands a dialog to opA
    async () => ({
      args: '(dialogId: $id, to: $to)',
      variables: { id: await botDialog(), to: { operatorId: opA.id, groupId: ids.gA } },
    }),
    // a dialog held by opA is handed on to an empty group
    async () => ({ args: '(dialogId: $id, to: $to)', variables: { id: await heldByA(), to: { groupId: ids.gEmpty } } }),
  ],
  takeDialog: [onDialog(() => queuedFromA(ids.gB))],
  closeDialog: [onDialog(() => heldByA())],
  reportBotFailure: [onDialog(botDialog)],
  setDialogPriority: [async () => ({ args: '(dialogId: $id, priority: 2)', variables: { id: await heldByA() } })],
  markDialogRead: [onDialog(() => heldByA())],
};

/** Paths the runs here produce for no viewer, and why (a prefix covers the paths below it). */
const NOT_PRODUCED: Record<string, string> = {
  'helpQueue.operator': 'a dialog waiting in Help has no operator',
  'startDialog.operator': 'a new dialog is with the bot',
  'startDialog.group': 'a new dialog is with the bot',
  'startDialog.messages': 'a new dialog has no messages',
  'startDialog.lastMessage': 'a new dialog has no messages',
  'startDialog.transfers': 'a new dialog has no transfers',
  'postClientMessage.operator': "a client's message has no operator",
  'reportBotFailure.messages': 'the bot failed before any operator replied',
  'reportBotFailure.lastMessage': 'the bot failed before any operator replied',
  'queueChanged.message': 'queue streams carry no MESSAGE events (myDialogs only)',
  'reportBotFailure.transfers.requestedOperator': 'a bot failure asks for the fallback group',
  'reportBotFailure.transfers.fromOperator': 'a bot failure hands over from the bot',
  'closeDialog.transfers.fromOperator': 'the dialogs closed here were handed over by the bot',
  'setDialogPriority.transfers.fromOperator': 'the dialogs re-prioritised here were handed over by the bot',
  'markDialogRead.transfers.fromOperator': 'the dialogs marked here were handed over by the bot',
};
const notProduced = (name: string): boolean =>
  Object.keys(NOT_PRODUCED).some((prefix) => name === prefix || name.startsWith(`${prefix}.`));

async function runHttp(kind: 'query' | 'mutation', runs: Record<string, Prepare[]>): Promise<void> {
  for (const { path, name } of pathsOf(kind)) {
    const root = path[0];
    const prepared = runs[root];
    expect(prepared, `no runs for ${kind} ${root}: add them to the table`).toBeDefined();
    for (const prepare of prepared) {
      const answers: Array<{ viewer: ViewerName; raw: string }> = [];
      for (const viewer of VIEWERS) {
        const { args, variables } = await prepare();
        const document = `${header(kind, variables)} { ${root}${args} ${selection(path)} }`;
        const response = await fetch(t.app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[viewer]}` },
          body: JSON.stringify({ query: document, variables }),
        });
        const raw = await response.text();
        expect(response.status, raw).toBeLessThan(500);
        answers.push({ viewer, raw });
      }
      // Read after the runs: a mutation may have created an operator.
      const emails = await emailsById();
      for (const { viewer, raw } of answers) record(viewer, name, judge(viewer, name, path, raw, JSON.parse(raw), emails));
    }
  }
}

interface Stream {
  readonly viewer: ViewerName;
  readonly name: string;
  readonly path: readonly string[];
  readonly results: Array<{ data?: unknown; errors?: readonly GraphqlError[] }>;
  completed: boolean;
}

/**
 * Subscribes every subscription path as every viewer (one socket each), then makes changes that
 * reach every stream: opA replies and hands a dialog on to Help (both operators follow Help with
 * the same document), a bot hands a dialog to opA, opA goes offline, opB comes online and takes
 * what waits.
 */
async function runSubscriptions(): Promise<void> {
  const dS = await heldByA(ids.gB);
  const runs: Record<string, Array<Record<string, unknown>>> = {
    queueChanged: [{ q: null }, { q: ids.gA }],
    myDialogs: [{}],
    dialogEvents: [{ id: dS }],
    operatorStatusChanged: [{ q: null }, { q: ids.gA }],
    events: [{}],
  };
  const args: Record<string, string> = {
    queueChanged: '(groupId: $q)',
    myDialogs: '',
    dialogEvents: '(dialogId: $id)',
    operatorStatusChanged: '(groupId: $q)',
    events: '',
  };
  const sockets = VIEWERS.map((viewer) => ({ viewer, client: wsClient(t.app.server.wsUrl, tokens[viewer]) }));
  const streams: Stream[] = [];
  const before = t.app.services.bus.handlerCount();
  for (const { path, name } of pathsOf('subscription')) {
    const root = path[0];
    expect(runs[root], `no runs for subscription ${root}: add them to the table`).toBeDefined();
    for (const variables of runs[root]) {
      for (const { viewer, client } of sockets) {
        const stream: Stream = { viewer, name, path, results: [], completed: false };
        streams.push(stream);
        client.subscribe(
          { query: `${header('subscription', variables)} { ${root}${args[root]} ${selection(path)} }`, variables },
          {
            next: (result) => stream.results.push(result as Stream['results'][number]),
            // Judged like any answer: an error that is not a refusal fails the test.
            error: (error) => stream.results.push({ errors: [{ message: `socket error: ${JSON.stringify(error)}`, path: [] }] }),
            complete: () => {
              stream.completed = true;
            },
          },
        );
      }
    }
  }
  // Every stream is either listening or was refused (and completed) before anything changes.
  await eventually(
    () => t.app.services.bus.handlerCount() - before === streams.filter((s) => !s.completed).length,
    20_000,
    'every subscription listening or refused',
  );

  await clients.SELF.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "still here") { id } }`, { id: dS });
  await t.admin.ok(DIALOG_BY_ADMIN, { id: await botDialog(), to: { operatorId: opA.id, groupId: ids.gA } });
  await clients.SELF.ok(`mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id } }`, {
    id: dS,
    g: ids.gEmpty,
  });
  await t.admin.ok(`mutation($o: ID!) { setOperatorStatus(operatorId: $o, status: OFFLINE) { id } }`, { o: opA.id });
  await t.admin.ok(`mutation($o: ID!) { setOperatorStatus(operatorId: $o, status: ONLINE) { id } }`, { o: opB.id });
  await eventually(() => streams.every((s) => s.results.length > 0), 20_000, 'an answer on every stream');

  const emails = await emailsById();
  for (const stream of streams) {
    for (const result of stream.results) {
      record(stream.viewer, stream.name, judge(stream.viewer, stream.name, stream.path, JSON.stringify(result), result, emails));
    }
  }
  await Promise.all(sockets.map(async ({ client }) => client.dispose()));
}

/**
 * Every path is produced (some viewer reached an operator on it), unless NOT_PRODUCED says
 * why not; wherever staff were shown one, INTEGRATION was refused at the email or stopped
 * above the Operator in every run.
 */
function checkCoverage(kind: string): void {
  for (const { name } of pathsOf(kind)) {
    const produced = VIEWERS.some(
      (viewer) => coverage.get(`${name} ${viewer}`)?.shownAny || coverage.get(`${name} ${viewer}`)?.refused,
    );
    expect.soft(produced, `${name} reached an operator`).toBe(!notProduced(name));
    // INTEGRATION reads what staff read (no per-operator visibility), so wherever staff were shown one…
    const integration = coverage.get(`${name} INTEGRATION`)!;
    if (coverage.get(`${name} ADMIN`)?.shownAny || coverage.get(`${name} SUPERVISOR`)?.shownAny) {
      expect
        .soft(
          integration.refused || integration.stoppedAbove === integration.runs,
          `${name} INTEGRATION: ${JSON.stringify(integration)}`,
        )
        .toBe(true);
    }
  }
}

/** Paths where a viewer must have been refused at the email (or, for SELF, shown their own). */
function expectCoverage(viewer: ViewerName, what: 'refused' | 'shownOwn', names: readonly string[]): void {
  for (const name of names) expect.soft(coverage.get(`${name} ${viewer}`)?.[what], `${name} ${viewer} ${what}`).toBe(true);
}

describe('Operator.email: staff and the operator themself, on every path', () => {
  it('the paths come from the schema', () => {
    const names = PATHS.map((p) => p.name);
    expect(PATHS.map((p) => p.name)).toContain('login.user.operator');
    for (const expected of [
      'operators',
      'me.operator',
      'dialog.operator',
      'dialog.transfers.toOperator',
      'dialog.transfers.fromOperator',
      'dialog.transfers.requestedOperator',
      'dialog.messages.operator',
      'groups.operators',
      'transferDialog.operator',
      'queueChanged.dialog.operator',
      'myDialogs.dialog.operator',
      'dialogEvents.message.operator',
      'operatorStatusChanged',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('queries', async () => {
    await runHttp('query', QUERY_RUNS);
    checkCoverage('query');
    const dialogPaths = [
      'dialog.operator',
      'dialog.transfers.toOperator',
      'dialog.transfers.fromOperator',
      'dialog.transfers.requestedOperator',
      'dialog.messages.operator',
      'dialogs.edges.node.operator',
    ];
    expectCoverage('INTEGRATION', 'refused', dialogPaths);
    expectCoverage('OTHER', 'refused', [
      ...dialogPaths.filter((p) => p !== 'dialogs.edges.node.operator'),
      'operator',
      'operators',
      'group.operators',
      'helpQueue.transfers.fromOperator',
    ]);
    expectCoverage('SELF', 'shownOwn', [
      ...dialogPaths,
      'operator',
      'me.operator',
      'group.operators',
      'scenarios.fallbackGroup.operators',
    ]);
    expectCoverage('SELF', 'refused', ['operators', 'groups.operators', 'dialog.group.operators']);
  });

  it('mutation results', { timeout: 180_000 }, async () => {
    await runHttp('mutation', MUTATION_RUNS);
    checkCoverage('mutation');
    expectCoverage('INTEGRATION', 'refused', [
      'transferDialog.operator',
      'transferDialog.transfers.toOperator',
      'transferDialog.transfers.requestedOperator',
      'reportBotFailure.operator',
      'closeDialog.operator',
    ]);
    expectCoverage('SELF', 'shownOwn', [
      'sendMessage.operator',
      'transferDialog.transfers.fromOperator',
      'takeDialog.operator',
      'closeDialog.operator',
      'setOperatorStatus',
    ]);
  });

  it("a login answers with the signed-in operator's e-mail, whoever calls; nothing else changes", async () => {
    const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { email operator { id email } } } }`;
    for (const caller of [t.client(), clients.OTHER, clients.INTEGRATION]) {
      const { login } = await caller.ok<{ login: { user: { email: string; operator: { id: string; email: string } } } }>(LOGIN, {
        e: opA.email,
        p: opA.password,
      });
      expect(login.user).toEqual({ email: opA.email, operator: { id: opA.id, email: opA.email } });
    }
    // The caller's own token still decides everything else in the operation.
    const result = await clients.INTEGRATION.request(
      `mutation($e: String!, $p: String!, $o: ID!) { login(email: $e, password: $p) { token } updateOperator(id: $o, input: {}) { email } }`,
      { e: opA.email, p: opA.password, o: opB.id },
    );
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(result)).not.toContain(opB.email);
  });

  it('subscription events', { timeout: 120_000 }, async () => {
    await runSubscriptions();
    checkCoverage('subscription');
    expectCoverage('INTEGRATION', 'refused', [
      'queueChanged.dialog.operator',
      'queueChanged.dialog.transfers.fromOperator',
      'dialogEvents.message.operator',
      'dialogEvents.dialog.operator',
    ]);
    // Both operators follow Help with the same document: the shared execution must not leak
    // opA's address to opB, nor hide it from opA.
    expectCoverage('SELF', 'shownOwn', [
      'queueChanged.dialog.transfers.fromOperator',
      'myDialogs.dialog.operator',
      'dialogEvents.message.operator',
      'dialogEvents.dialog.operator',
      'operatorStatusChanged',
    ]);
    expectCoverage('OTHER', 'refused', [
      'queueChanged.dialog.transfers.fromOperator',
      'myDialogs.dialog.transfers.fromOperator',
      'dialogEvents.message.operator',
    ]);
  });
});
