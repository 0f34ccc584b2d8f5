import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
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
 * shared per document, operation name, variables, role and operator.
 */
const SHARED_ROOT_FIELDS = new Set(['slTicks', 'queueChanged']);

/**
 * Per event object, the executions made for it: by document (subscribers of the same text share
 * one parsed document), then by caller and variables. Keyed by the document itself, not its text,
 * so an idle subscriber holds no copy of the text.
 */
const results = new WeakMap<object, Map<DocumentNode, Map<string, Promise<ExecutionResult>>>>();

/** One execution of the subscription's document for one event object. */
function execution(args: ExecutionArgs, payload: unknown): Promise<ExecutionResult> {
  return Promise.resolve(execute({ ...args, rootValue: payload }));
}

function sharedResult(args: ExecutionArgs, payload: object, key: string): Promise<ExecutionResult> {
  let byDocument = results.get(payload);
  if (!byDocument) results.set(payload, (byDocument = new Map<DocumentNode, Map<string, Promise<ExecutionResult>>>()));
  let byKey = byDocument.get(args.document);
  if (!byKey) byDocument.set(args.document, (byKey = new Map<string, Promise<ExecutionResult>>()));
  let result = byKey.get(key);
  if (!result) byKey.set(key, (result = execution(args, payload)));
  return result;
}

function rootField(args: ExecutionArgs): string | null {
  const operation = getOperationAST(args.document, args.operationName);
  const fields = operation?.selectionSet.selections ?? [];
  const [only] = fields;
  return fields.length === 1 && only?.kind === Kind.FIELD ? only.name.value : null;
}

/** `source` with each value mapped; no async call stays suspended while the source is idle. */
function mapAsync<T, R>(source: AsyncIterator<T>, map: (value: T) => Promise<R>): AsyncGenerator<R> {
  const ended: IteratorResult<R> = { done: true, value: undefined };
  const iterator: AsyncGenerator<R> = {
    next: () => source.next().then((step) => (step.done ? ended : map(step.value).then((value) => ({ done: false, value })))),
    async return() {
      await source.return?.();
      return ended;
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
  const key = `${viewer?.role ?? 'none'}:${viewer?.operatorId ?? ''}:${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
  return mapAsync(source[Symbol.asyncIterator](), (payload: unknown) =>
    payload === null || typeof payload !== 'object' ? execution(args, payload) : sharedResult(args, payload, key),
  );
}
