import { createHash } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { formatError } from '../src/shared/format-error.js';
import { ADMIN_TOKEN, startTestApp, testConfig, type TestApp } from './helpers/app.js';
import { createGroup, createOperator, login } from './helpers/factories.js';
import { subscribe, wsClient } from './helpers/ws.js';

const DEFAULTS = testConfig().operationLimits;

let t: TestApp;
let operatorToken: string;

beforeAll(async () => {
  t = await startTestApp();
  await t.quiet();
  // 10 groups × 10 operators, every operator in every group.
  const groups = [];
  for (let i = 0; i < 10; i++) groups.push(await createGroup(t.admin));
  const groupIds = groups.map((g) => g.id);
  const operators = await Promise.all(Array.from({ length: 10 }, () => createOperator(t.admin, { groupIds })));
  operatorToken = await login(t.client(), operators[0].email, operators[0].password);
}, 60_000);
afterAll(() => t.stop());

interface RawAnswer {
  status: number;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  data?: Record<string, unknown> | null;
}

/** POSTs a raw body; `/healthz` must answer within 2 s while the request is being handled. */
async function postWhileHealthy(url: string, body: string, token?: string): Promise<RawAnswer> {
  const pending = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const health = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(2000) });
  expect(health.status).toBe(200);
  const response = await pending;
  return { status: response.status, ...((await response.json()) as Omit<RawAnswer, 'status'>) };
}

function query(text: string, token?: string, url = t.app.url): Promise<RawAnswer> {
  return postWhileHealthy(url, JSON.stringify({ query: text }), token);
}

/** Asserts the answer is a 400 whose only error is the `limit` of `max`. */
function expectLimit(answer: RawAnswer, limit: string, max: number): void {
  expect(answer.status, JSON.stringify(answer).slice(0, 500)).toBe(400);
  expect(answer.errors).toHaveLength(1);
  expect(answer.errors![0].extensions).toEqual({ code: 'OPERATION_LIMIT_EXCEEDED', limit, max });
  expect(answer.errors![0].message).toContain(limit);
  expect(answer.errors![0].message).toContain(String(max));
  expect(answer.data).toBeUndefined();
}

function nested(levels: number): string {
  let selection = 'id';
  for (let i = 0; i < levels; i++) selection = `${i % 2 === 0 ? 'groups' : 'operators'} { ${selection} }`;
  return `{ ${selection} }`;
}

function aliased(count: number, field: string): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
}

describe('operation limits over HTTP', () => {
  it('the 106-byte nested operators/groups query of an OPERATOR is too costly, and so is one level less', async () => {
    const attack = nested(8);
    expect(attack).toBe(
      '{ operators { groups { operators { groups { operators { groups { operators { groups { id } } } } } } } } }',
    );
    expectLimit(await query(attack, operatorToken), 'cost', DEFAULTS.cost);
    expectLimit(await query(nested(7), operatorToken), 'cost', DEFAULTS.cost);
    // The same caller, with the nesting the product needs:
    const ok = await query(nested(2), operatorToken);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!['operators']).toHaveLength(10);
  });

  it('a document deeper than MAX_QUERY_DEPTH is refused by depth', async () => {
    // Depth is checked with the document's other rules, before its cost is estimated.
    expectLimit(await query(nested(DEFAULTS.depth), ADMIN_TOKEN), 'depth', DEFAULTS.depth);
    // At the limit, depth lets it through (and cost refuses it).
    expectLimit(await query(nested(DEFAULTS.depth - 1), ADMIN_TOKEN), 'cost', DEFAULTS.cost);
  });

  it('20,000 aliased groups stop at the token limit; 101 at the alias limit', async () => {
    const huge = aliased(20_000, 'groups { id }');
    expect(huge.length).toBeGreaterThan(300_000);
    expectLimit(await query(huge, operatorToken), 'tokens', DEFAULTS.tokens);
    expectLimit(await query(aliased(DEFAULTS.aliases + 1, 'groups { id }'), operatorToken), 'aliases', DEFAULTS.aliases);
    const ok = await query(aliased(DEFAULTS.aliases, 'groups { id }'), operatorToken);
    expect(ok.errors).toBeUndefined();
  });

  it('5,000 aliased queueStats stop at the token limit', async () => {
    expectLimit(await query(aliased(5000, 'queueStats { queued }'), operatorToken), 'tokens', DEFAULTS.tokens);
  });

  it('an anonymous 186 KB body of directives answers at once with the token limit, as does a 760 KB one', async () => {
    for (const repeats of [11_000, 45_000]) {
      const text = `{ __typename${' @include(if:true)'.repeat(repeats)} }`;
      const answer = await query(text);
      expectLimit(answer, 'tokens', DEFAULTS.tokens);
    }
  });

  it('more directives than MAX_QUERY_DIRECTIVES are refused by directives', async () => {
    const fields = Array.from({ length: DEFAULTS.directives + 1 }, (_, i) => `f${i}: __typename @include(if: true)`);
    expectLimit(await query(`{ ${fields.join(' ')} }`), 'directives', DEFAULTS.directives);
    const ok = await query(`{ ${fields.slice(1).join(' ')} }`);
    expect(ok.errors).toBeUndefined();
  });

  it('a large body under the token limit with many validation errors answers with a bounded list', async () => {
    // Few tokens, many bytes: each unknown field carries a 20 KB string.
    const padding = 'x'.repeat(20_000);
    const text = `{ ${Array.from({ length: 45 }, (_, i) => `nope${i}(arg: "${padding}")`).join(' ')} }`;
    expect(text.length).toBeGreaterThan(900_000);
    const answer = await query(text);
    expect(answer.status).toBe(400);
    expect(answer.errors!.length).toBeGreaterThanOrEqual(20);
    expect(answer.errors!.length).toBeLessThanOrEqual(21);
    expect(answer.errors![0]).toMatchObject({
      message: 'Cannot query field "nope0" on type "Query".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect(answer.errors!.at(-1)!.message).toMatch(/Too many validation errors/);
  });

  it('the queries the dashboards and README send pass, and so does the full introspection query', async () => {
    const { dialogs } = await t.admin.ok<{ dialogs: { edges: unknown[] } }>(
      `{ dialogs(first: 100) { edges { node { id operator { groups { id } } group { operators { id } } messages { id } } } } }`,
    );
    expect(dialogs.edges).toEqual([]);
    const { groups } = await t.admin.ok<{ groups: Array<{ operators: unknown[] }> }>(
      `{ groups { id name operators { id firstName activeDialogCount groups { id } } } }`,
    );
    expect(groups).toHaveLength(10);
    expect(groups.every((g) => g.operators.length === 10)).toBe(true);
    const introspection = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    });
    const { __schema } = await t.client().ok<{ __schema: { types: unknown[] } }>(introspection);
    expect(__schema.types.length).toBeGreaterThan(20);
  });
});

describe('operation limits over WebSocket', () => {
  it('a too deep, too costly or too long document fails that operation only; the socket goes on', async () => {
    const ws = wsClient(t.app.server.wsUrl, operatorToken);
    try {
      const attempts: Array<[string, string]> = [
        // 11 levels: myDialogs, dialog, operator, then groups/operators 7 times and id.
        [`subscription { myDialogs { dialog { operator { ${nested(7).slice(2, -2)} } } } }`, 'depth'],
        [nested(7), 'cost'],
        // Over the token limit, under the WebSocket frame size.
        [aliased(2_000, 'groups { id }'), 'tokens'],
      ];
      for (const [text, limit] of attempts) {
        const failed = subscribe(ws, text);
        const error = await failed.next().then(
          () => null,
          (e: unknown) => String(e),
        );
        expect(error).toContain('OPERATION_LIMIT_EXCEEDED');
        expect(error).toContain(`"limit":"${limit}"`);
        failed.dispose();
      }
      const broken = subscribe(ws, `{ groups { id }`);
      await expect(broken.next()).rejects.toThrow(/"code":"GRAPHQL_PARSE_FAILED"/);
      // Positive control on the same socket.
      const ok = subscribe<{ groups: unknown[] }>(ws, `{ groups { id } }`);
      expect((await ok.next()).groups).toHaveLength(10);
    } finally {
      await ws.dispose();
    }
  });
});

describe('the cost limit on its own', () => {
  let wide: TestApp;
  beforeAll(async () => {
    wide = await startTestApp({ config: { operationLimits: { ...DEFAULTS, tokens: 1_000_000, aliases: 100_000 } } });
    await wide.quiet();
  });
  afterAll(() => wide.stop());

  it('5,000 aliased queueStats are refused by cost before any of them runs SQL', async () => {
    wide.resetQueryCount();
    expectLimit(await query(aliased(5000, 'queueStats { queued }'), ADMIN_TOKEN, wide.app.url), 'cost', DEFAULTS.cost);
    expect(wide.queryCount()).toBeLessThan(5);
    // Positive control: a handful of them run.
    const ok = await query(aliased(5, 'queueStats { queued }'), ADMIN_TOKEN, wide.app.url);
    expect(ok.errors).toBeUndefined();
    expect(wide.queryCount()).toBeGreaterThanOrEqual(5);
  });

  it('a connection counts its page: first from the document or its variables, else the default page', async () => {
    const perNode = `edges { node { id transfers { toOperator { groups { operators { groups { id } } } } } } }`;
    const tooCostly = { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'cost', max: DEFAULTS.cost };
    expect((await wide.admin.request(`{ dialogs(first: 1) { ${perNode} } }`)).errors).toBeUndefined();
    expect((await wide.admin.request(`{ dialogs(first: 2) { ${perNode} } }`)).errors?.[0]?.extensions).toEqual(tooCostly);
    const byVariable = `query($n: Int) { dialogs(first: $n) { ${perNode} } }`;
    expect((await wide.admin.request(byVariable, { n: 1 })).errors).toBeUndefined();
    expect((await wide.admin.request(byVariable, { n: 2 })).errors?.[0]?.extensions).toEqual(tooCostly);
    expect((await wide.admin.request(byVariable, {})).errors?.[0]?.extensions).toEqual(tooCostly);
  });

  it('the estimate of a document is kept only when no variable can change it', async () => {
    const perNode = `edges { node { id transfers { toOperator { groups { operators { groups { id } } } } } } }`;
    const tooCostly = { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'cost', max: DEFAULTS.cost };
    // A fixed document answers the same every time (the second answer comes from the kept estimate).
    for (let i = 0; i < 2; i++) {
      expect((await wide.admin.request(`{ dialogs(first: 2) { ${perNode} } }`)).errors?.[0]?.extensions).toEqual(tooCostly);
      expect((await wide.admin.request(`{ dialogs(first: 1) { ${perNode} } }`)).errors).toBeUndefined();
    }
    // An @include condition set by a variable changes what runs, so each request is estimated.
    const byCondition = `query($all: Boolean!) { dialogs(first: 2) @include(if: $all) { ${perNode} } }`;
    expect((await wide.admin.request(byCondition, { all: false })).errors).toBeUndefined();
    expect((await wide.admin.request(byCondition, { all: true })).errors?.[0]?.extensions).toEqual(tooCostly);
    expect((await wide.admin.request(byCondition, { all: false })).errors).toBeUndefined();
  });
});

describe('HTTP bodies over MAX_BODY_BYTES', () => {
  it('answer 413 with a GraphQL error body, and the connection still delivers it', async () => {
    const max = testConfig().maxBodyBytes;
    const body = JSON.stringify({ query: `{ __typename }`, padding: 'x'.repeat(2 * max) });
    const answer = await postWhileHealthy(t.app.url, body);
    expect(answer.status).toBe(413);
    expect(answer.errors).toEqual([
      { message: `Request body exceeds ${max} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE', max } },
    ]);
    const ok = await query(`{ __typename }`);
    expect(ok.data).toEqual({ __typename: 'Query' });
  });
});

describe('automatic persisted queries', () => {
  const text = `{ groups { id } }`;
  const sha = createHash('sha256').update(text).digest('hex');
  const post = (body: unknown): Promise<RawAnswer> => postWhileHealthy(t.app.url, JSON.stringify(body), ADMIN_TOKEN);
  const extensions = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

  it('an unknown hash answers PERSISTED_QUERY_NOT_FOUND; registering it makes the hash alone work', async () => {
    const unknown = await post({ extensions: extensions(sha) });
    expect(unknown.status).toBeLessThan(500);
    expect(unknown.errors?.[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post({ query: text, extensions: extensions(sha) });
    expect(registered.errors).toBeUndefined();
    const byHash = await post({ extensions: extensions(sha) });
    expect(byHash.data!['groups']).toHaveLength(10);
  });

  it('a hash that does not match its query answers BAD_REQUEST, not an internal error', async () => {
    const answer = await post({ query: text, extensions: extensions('0'.repeat(64)) });
    expect(answer.status).toBe(400);
    expect(answer.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }]);
  });
});

describe('error formatting', () => {
  it('reads a document once for all of its errors', () => {
    const text = `{ ${Array.from({ length: 50 }, (_, i) => `dialogs(first: "x${i}") { totalCount }`).join(' ')} }`;
    let reads = 0;
    const source = {
      get body(): string {
        reads++;
        return text;
      },
    };
    const fields = Array.from({ length: 50 }, (_, i) => {
      // What graphql-js reports for each literal that is not an Int (duck-typed as the formatter reads it).
      const error = { message: `Int cannot represent non-integer value: "x${i}"`, source, positions: [text.indexOf(`"x${i}"`)] };
      const formatted = formatError({ message: error.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, error);
      return formatted.extensions?.['field'];
    });
    expect(fields).toEqual(Array.from({ length: 50 }, () => 'first'));
    expect(reads).toBe(1);
  });
});

describe('limit configuration', () => {
  it('reads every limit from the environment and refuses values out of range', () => {
    const config = loadConfig({
      MAX_BODY_BYTES: '2048',
      MAX_QUERY_TOKENS: '300',
      MAX_QUERY_DEPTH: '4',
      MAX_QUERY_ALIASES: '0',
      MAX_QUERY_DIRECTIVES: '3',
      MAX_QUERY_COST: '500',
    });
    expect(config.maxBodyBytes).toBe(2048);
    expect(config.operationLimits).toEqual({ tokens: 300, depth: 4, aliases: 0, directives: 3, cost: 500 });
    for (const name of [
      'MAX_BODY_BYTES',
      'MAX_QUERY_TOKENS',
      'MAX_QUERY_DEPTH',
      'MAX_QUERY_ALIASES',
      'MAX_QUERY_DIRECTIVES',
      'MAX_QUERY_COST',
    ]) {
      expect(() => loadConfig({ [name]: '-1' }), name).toThrow(ConfigError);
    }
  });
});
