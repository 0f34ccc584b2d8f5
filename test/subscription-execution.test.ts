import {
  GraphQLError,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  parse,
  type DocumentNode,
  type ExecutionResult,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { subscribeSharingResults } from '../src/realtime/shared-subscribe.js';

interface Event {
  readonly n: number;
}

const FAILURE = new Error('lookup failed');
/** Events every subscription of this schema receives, the same objects for all. */
const EVENTS: readonly Event[] = [{ n: 1 }, { n: 2 }, { n: 3 }];

const Change = new GraphQLObjectType<Event>({
  name: 'Change',
  fields: {
    n: { type: new GraphQLNonNull(GraphQLInt) },
    // Fails for the second event only.
    looked: {
      type: GraphQLInt,
      resolve: (event) => {
        if (event.n === 2) throw FAILURE;
        return event.n * 10;
      },
    },
    times: {
      type: GraphQLInt,
      args: { by: { type: GraphQLInt, defaultValue: 1 } },
      resolve: (event, args: { by: number }) => event.n * args.by,
    },
  },
});

async function* events(): AsyncGenerator<Event> {
  for (const event of EVENTS) yield event;
}

// `queueChanged` is one of the root fields whose executions subscribers share.
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      queueChanged: { type: Change, subscribe: events, resolve: (event: Event) => event },
      other: { type: Change, subscribe: events, resolve: (event: Event) => event },
    },
  }),
});

const viewer = { role: 'ADMIN', operatorId: null };

async function run(query: string, variableValues?: Record<string, unknown>): Promise<ExecutionResult[]> {
  const stream = await subscribeSharingResults({ schema, document: parse(query), contextValue: { viewer }, variableValues });
  if (!(Symbol.asyncIterator in stream)) throw new Error(`not a stream: ${JSON.stringify(stream)}`);
  const results: ExecutionResult[] = [];
  for await (const result of stream) results.push(result);
  return results;
}

async function follow(document: DocumentNode, by: number): Promise<AsyncIterator<ExecutionResult>> {
  const stream = await subscribeSharingResults({ schema, document, contextValue: { viewer }, variableValues: { by } });
  if (!(Symbol.asyncIterator in stream)) throw new Error(`not a stream: ${JSON.stringify(stream)}`);
  return stream[Symbol.asyncIterator]();
}

describe('subscription events, executed by the compiled document', () => {
  it('answer each event; a failing field is a located error keeping its cause, and the stream goes on', async () => {
    const [first, second, third] = await run(`subscription($by: Int) { other { n looked times(by: $by) } }`, { by: 3 });
    expect(first).toEqual({ data: { other: { n: 1, looked: 10, times: 3 } } });
    expect(second?.data).toEqual({ other: { n: 2, looked: null, times: 6 } });
    expect(second?.errors).toHaveLength(1);
    const error = second?.errors?.[0];
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error?.path).toEqual(['other', 'looked']);
    expect(error?.originalError).toBe(FAILURE);
    expect(third).toEqual({ data: { other: { n: 3, looked: 30, times: 9 } } });
  });

  it('build plain objects, which serialize fast', async () => {
    const [first] = await run(`subscription { other { n } }`);
    expect(Object.getPrototypeOf(first?.data)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(first?.data?.['other'])).toBe(Object.prototype);
  });

  it('share one execution per event between subscribers of the same document and variables', async () => {
    const shared = parse(`subscription($by: Int) { queueChanged { n times(by: $by) } }`);
    const [a, b, other] = await Promise.all([follow(shared, 2), follow(shared, 2), follow(shared, 5)]);
    const [fromA, fromB, fromOther] = await Promise.all([a.next(), b.next(), other.next()]);
    expect(fromA.value).toEqual({ data: { queueChanged: { n: 1, times: 2 } } });
    expect(fromB.value).toBe(fromA.value);
    expect(fromOther.value).toEqual({ data: { queueChanged: { n: 1, times: 5 } } });
    // A root field not shared executes for each subscriber.
    const own = parse(`subscription($by: Int) { other { n times(by: $by) } }`);
    const [x, y] = await Promise.all([follow(own, 2), follow(own, 2)]);
    const [fromX, fromY] = await Promise.all([x.next(), y.next()]);
    expect(fromX.value).toEqual({ data: { other: { n: 1, times: 2 } } });
    expect(fromY.value).toEqual(fromX.value);
    expect(fromY.value).not.toBe(fromX.value);
  });
});
