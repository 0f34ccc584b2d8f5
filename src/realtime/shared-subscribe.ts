import {
  createSourceEventStream,
  getOperationAST,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Context } from '../context.js';

/**
 * Root fields whose event objects are shared by every subscriber of the same stream (each
 * subscriber's own authorization has already let the event through). Field-level authorization
 * depends on the caller's role and, for an operator's own e-mail, their operator: executions are
 * shared per document, operation name, variables, role and operator.
 */
const SHARED_ROOT_FIELDS = new Set(['slTicks', 'queueChanged']);

/** One step of a subscription's result stream. */
type Step = IteratorResult<ExecutionResult>;

/**
 * Per event object, the executions made for it: by document (subscribers of the same text share
 * one parsed document), then by caller and variables. Keyed by the document itself, not its text,
 * so an idle subscriber holds no copy of the text. Each is kept as the step it yields, which its
 * subscribers share too.
 */
const results = new WeakMap<object, Map<DocumentNode, Map<string, Promise<Step>>>>();

/** Executes one event of a subscription (its root field resolved on the event, the document's selection on that) as a step. */
type ExecuteEvent = (payload: unknown) => Promise<Step>;

/**
 * Each document's operations, compiled once (graphql-jit) into a function that executes one
 * event. graphql-js interprets the document again for every event and builds each result object
 * with `Object.create(null)`, which `JSON.stringify` serializes at about half the speed of plain
 * objects; the compiled function builds plain objects. Weak: an entry goes when the document
 * cache and the document's subscriptions have let go of the document.
 */
const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | ExecutionResult>>();

function compiledOperation(args: ExecutionArgs): CompiledQuery | ExecutionResult {
  let byName = compiled.get(args.document);
  if (!byName) compiled.set(args.document, (byName = new Map<string, CompiledQuery | ExecutionResult>()));
  const name = args.operationName ?? '';
  let operation = byName.get(name);
  if (!operation) byName.set(name, (operation = compileQuery(args.schema, args.document, args.operationName ?? undefined)));
  return operation;
}

function sharedStep(execute: ExecuteEvent, document: DocumentNode, payload: object, key: string): Promise<Step> {
  let byDocument = results.get(payload);
  if (!byDocument) results.set(payload, (byDocument = new Map<DocumentNode, Map<string, Promise<Step>>>()));
  let byKey = byDocument.get(document);
  if (!byKey) byDocument.set(document, (byKey = new Map<string, Promise<Step>>()));
  let result = byKey.get(key);
  if (!result) byKey.set(key, (result = execute(payload)));
  return result;
}

function rootField(args: ExecutionArgs): string | null {
  const operation = getOperationAST(args.document, args.operationName);
  const fields = operation?.selectionSet.selections ?? [];
  const [only] = fields;
  return fields.length === 1 && only?.kind === Kind.FIELD ? only.name.value : null;
}

/** `source` with each value turned into a step; no async call stays suspended while the source is idle. */
function mapAsync<T, R>(source: AsyncIterator<T>, step: (value: T) => Promise<IteratorResult<R>>): AsyncGenerator<R> {
  const ended: IteratorResult<R> = { done: true, value: undefined };
  const iterator: AsyncGenerator<R> = {
    next: () => source.next().then((next) => (next.done ? ended : step(next.value))),
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
 * graphql-ws `subscribe`: graphql-js's source event stream, each event executed by the
 * document's compiled operation. For SHARED_ROOT_FIELDS an event object delivered to many
 * subscribers is executed once per distinct document and variables (200 dashboards following
 * one group's SL ticks cost one execution per tick, not 200).
 */
export async function subscribeSharingResults(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const operation = compiledOperation(args);
  if (!isCompiledQuery(operation)) return operation;
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const execute: ExecuteEvent = (payload) =>
    Promise.resolve(operation.query(payload, args.contextValue, args.variableValues ?? {})).then((value) => ({
      done: false,
      value,
    }));
  const field = rootField(args);
  if (field === null || !SHARED_ROOT_FIELDS.has(field)) return mapAsync(source[Symbol.asyncIterator](), execute);
  const viewer = (args.contextValue as Context | undefined)?.viewer;
  const key = `${viewer?.role ?? 'none'}:${viewer?.operatorId ?? ''}:${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
  return mapAsync(source[Symbol.asyncIterator](), (payload: unknown) =>
    payload === null || typeof payload !== 'object' ? execute(payload) : sharedStep(execute, args.document, payload, key),
  );
}
