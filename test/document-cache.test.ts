import { buildSchema, GraphQLError, parse, type ValidationRule } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimatedDocumentBytes, sharedDocuments } from '../src/realtime/document-cache.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { createGroup } from './helpers/factories.js';
import { eventually } from './helpers/eventually.js';
import { subscribe, wsClient } from './helpers/ws.js';

const schema = buildSchema(`type Query { a: Int }`);
const LIMITS = { maxBytes: 1024 * 1024, maxDocumentBytes: 64 * 1024 };

describe('sharedDocuments', () => {
  it('parses a text once and shares the document', () => {
    const docs = sharedDocuments(LIMITS);
    const first = docs.parse('{ a }');
    expect(docs.parse('{ a }')).toBe(first);
    expect(docs.parse('{ a a }')).not.toBe(first);
  });

  it('validates a document once per schema and keeps its errors', () => {
    const docs = sharedDocuments(LIMITS);
    const bad = docs.parse('{ b }');
    const errors = docs.validate(schema, bad);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^Cannot query field "b" on type "Query"/);
    expect(docs.validate(schema, bad)).toBe(errors);
    expect(docs.validate(schema, docs.parse('{ a }'))).toEqual([]);
    const other = buildSchema(`type Query { b: Int }`);
    expect(docs.validate(other, bad)).toEqual([]);
  });

  it('lets a syntax error through as a parse failure every time', () => {
    const docs = sharedDocuments(LIMITS);
    expect(() => docs.parse('{ a')).toThrow(/Syntax Error/);
    expect(() => docs.parse('{ a')).toThrow(/Syntax Error/);
  });
});

describe('sharedDocuments limits', () => {
  /** `{ f0: a f1: a … }`: three tokens a field. */
  const fields = (n: number, prefix = 'f'): string => `{ ${Array.from({ length: n }, (_, i) => `${prefix}${i}: a`).join(' ')} }`;

  it('keeps the estimated memory within maxBytes, dropping the least recently used first', () => {
    const one = estimatedDocumentBytes(fields(100), parse(fields(100)));
    const docs = sharedDocuments({ maxBytes: 3 * one, maxDocumentBytes: one });
    const first = docs.parse(fields(100, 'a'));
    docs.parse(fields(100, 'b'));
    docs.parse(fields(100, 'c'));
    expect(docs.cachedBytes()).toBe(3 * one);
    expect(docs.parse(fields(100, 'a'))).toBe(first); // now the most recently used
    docs.parse(fields(100, 'd')); // pushes out b
    expect(docs.cachedBytes()).toBe(3 * one);
    expect(docs.parse(fields(100, 'a'))).toBe(first);
    const b = docs.parse(fields(100, 'b'));
    expect(docs.parse(fields(100, 'b'))).toBe(b);
    expect(docs.cachedBytes()).toBe(3 * one);
  });

  it('parses a document over maxDocumentBytes every time and keeps none of it', () => {
    const docs = sharedDocuments({ maxBytes: 1024 * 1024, maxDocumentBytes: 10 * 1024 });
    const big = fields(1000);
    const first = docs.parse(big);
    expect(first.definitions).toHaveLength(1);
    // Compared by hand: a failing matcher would print the whole AST.
    expect(docs.parse(big) === first).toBe(false);
    expect(docs.cachedBytes()).toBe(0);
  });

  it('applies the given parse options and extra validation rules', () => {
    const noB: ValidationRule = (context) => ({
      Field(node) {
        if (node.name.value === 'b') context.reportError(new GraphQLError('no b here', { nodes: node }));
      },
    });
    const docs = sharedDocuments({ ...LIMITS, parseOptions: { maxTokens: 10 }, rules: [noB] });
    expect(() => docs.parse(fields(10))).toThrow(/Document contains more th\w+ 10 tokens/);
    const other = buildSchema(`type Query { a: Int b: Int }`);
    expect(docs.validate(other, docs.parse('{ a b }')).map((e) => e.message)).toEqual(['no b here']);
    expect(docs.validate(other, docs.parse('{ a }'))).toEqual([]);
  });
});

describe('subscriptions sharing one document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.stop());

  it('still validates every subscription and delivers to each', async () => {
    const g = await createGroup(t.admin);
    const QUERY = `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id } } }`;
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    for (let i = 0; i < 2; i++) {
      const invalid = subscribe(ws, `subscription { queueChanged { nope } }`);
      await expect(invalid.next(5000)).rejects.toThrow(/Cannot query field \\?"nope\\?"/);
    }
    const before = t.app.services.bus.handlerCount();
    const subs = [subscribe(ws, QUERY, { g: g.id }), subscribe(ws, QUERY, { g: g.id })];
    await eventually(() => t.app.services.bus.handlerCount() === before + 2, 10_000, 'subscriptions registered');
    const bot = t.admin;
    const { startDialog } = await bot.ok<{ startDialog: { id: string } }>(`mutation { startDialog(input: {}) { id } }`);
    await bot.ok(`mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id } }`, {
      id: startDialog.id,
      g: g.id,
    });
    for (const sub of subs)
      expect((await sub.next()).queueChanged).toMatchObject({ type: 'QUEUED', dialog: { id: startDialog.id } });
    await ws.dispose();
  });
});
