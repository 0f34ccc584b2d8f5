import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  print,
  subscribe,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import type { Context } from '../context.js';

/**
 * Root fields whose event objects are shared by every subscriber of the same stream (each
 * subscriber's own authorization has already let the event through). Field-level authorization
 * depends on the caller's role and, for an operator's own e-mail, their operator: executions are
 * shared per document, variables, role and operator.
 */
const SHARED_ROOT_FIELDS = new Set(['slTicks', 'queueChanged']);

const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

/**
 * A document's text, printed once per parsed document (subscribers of the same text share one
 * parsed document): a key that holds a copy per subscriber would cost every idle connection it.
 */
const texts = new WeakMap<DocumentNode, string>();

function printed(document: DocumentNode): string {
  let text = texts.get(document);
  if (text === undefined) texts.set(document, (text = print(document)));
  return text;
}

function rootField(args: ExecutionArgs): string | null {
  const operation = getOperationAST(args.document, args.operationName);
  const fields = operation?.selectionSet.selections ?? [];
  const [only] = fields;
  return fields.length === 1 && only?.kind === Kind.FIELD ? only.name.value : null;
}

function mapAsync<T, R>(source: AsyncIterator<T>, map: (value: T) => Promise<R>): AsyncGenerator<R> {
  const iterator: AsyncGenerator<R> = {
    async next() {
      const step = await source.next();
      return step.done ? { done: true, value: undefined } : { done: false, value: await map(step.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * graphql-ws `subscribe`: the standard one, except that for SHARED_ROOT_FIELDS an event object
 * delivered to many subscribers is executed once per distinct document and variables (200
 * dashboards following one group's SL ticks cost one execution per tick, not 200).
 */
export async function subscribeSharingResults(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const field = rootField(args);
  if (field === null || !SHARED_ROOT_FIELDS.has(field)) {
    return subscribe(args) as Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;
  }
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const viewer = (args.contextValue as Context | undefined)?.viewer;
  const key = `${viewer?.role ?? 'none'}:${viewer?.operatorId ?? ''}\n${printed(args.document)}\n${JSON.stringify(args.variableValues ?? {})}`;
  return mapAsync(source[Symbol.asyncIterator](), (payload: unknown) => {
    if (payload === null || typeof payload !== 'object') {
      return Promise.resolve(execute({ ...args, rootValue: payload }));
    }
    let perPayload = results.get(payload);
    if (!perPayload) {
      perPayload = new Map();
      results.set(payload, perPayload);
    }
    let result = perPayload.get(key);
    if (!result) {
      result = Promise.resolve(execute({ ...args, rootValue: payload }));
      perPayload.set(key, result);
    }
    return result;
  });
}
