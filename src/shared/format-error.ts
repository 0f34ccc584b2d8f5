import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, Kind, parse, type ASTNode, type ValueNode } from 'graphql';
import { databaseUnavailable } from './db-errors.js';
import { DATABASE_UNAVAILABLE_MESSAGE, ErrorCode } from './errors.js';
import { loggable } from './logger.js';
import { operationLimitOf } from './operation-limits.js';

/** Codes whose messages are meant for the client (ours, and GraphQL's own request errors). */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** graphql-js's `Source`: every error from one document shares the same object. */
interface RequestSource {
  readonly body: string;
}

/** What graphql-js keeps of the request on its own errors (duck-typed: it may be wrapped). */
interface LocatedError {
  readonly message: string;
  readonly source?: RequestSource;
  readonly positions?: readonly number[];
  readonly originalError?: unknown;
}

function located(error: unknown): LocatedError | null {
  const candidates = [error, (error as { originalError?: unknown } | null)?.originalError];
  for (const candidate of candidates) {
    if (candidate && typeof candidate === 'object' && 'message' in candidate && 'source' in candidate) {
      return candidate as LocatedError;
    }
  }
  return null;
}

// `Variable "$input" got invalid value 1.5 at "input.slFirstResponseSec"; Int cannot represent …`
const VARIABLE_VALUE = /^Variable "\$(\w+)" got invalid value [\s\S]*?(?: at "([\w.[\]]+)")?; ([\s\S]*)$/;
// `Variable "$input" of required type "CreateGroupInput!" was not provided.` (or got null)
const VARIABLE_MISSING = /^Variable "\$(\w+)" of (?:required|non-null) type /;
// graphql-js stops coercing variables after 50 errors and adds this one, naming no variable.
const TOO_MANY_VARIABLE_ERRORS = /^Too many errors processing variables/;
// Input-object reasons that name the field themselves (bare in variables, `Type.field` in literals).
const NAMED_FIELD = /^Field "(?:\w+\.)?(\w+)" (?:of required type|is not defined by type)/;

function leafOf(path: string): string {
  return path
    .replace(/\[\d+\]/g, '')
    .split('.')
    .at(-1)!;
}

/** Calls `visit` with every argument and input-object field of the document, outermost first. */
function eachInputField(node: ASTNode, visit: (name: string, value: ValueNode) => void): void {
  if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) visit(node.name.value, node.value);
  for (const child of Object.values(node)) {
    if (Array.isArray(child)) {
      for (const item of child) if (item && typeof item === 'object' && 'kind' in item) eachInputField(item as ASTNode, visit);
    } else if (child && typeof child === 'object' && 'kind' in child) {
      eachInputField(child as ASTNode, visit);
    }
  }
}

// One parse per document, however many errors it has: answering stays linear in its size.
const parsedSources = new WeakMap<RequestSource, ASTNode | null>();

function parsed(source: RequestSource): ASTNode | null {
  if (parsedSources.has(source)) return parsedSources.get(source)!;
  let document: ASTNode | null;
  try {
    document = parse(source.body);
  } catch {
    document = null;
  }
  parsedSources.set(source, document);
  return document;
}

/** The argument or input field a variable is passed to (`maxDialogs: $m` → "maxDialogs"). */
function fieldOfVariable(source: RequestSource, variable: string): string {
  const document = parsed(source);
  let field: string | undefined;
  if (document) {
    eachInputField(document, (name, value) => {
      if (field === undefined && value.kind === Kind.VARIABLE && value.name.value === variable) field = name;
    });
  }
  return field ?? variable;
}

/** The innermost argument or input field whose literal value contains `offset`. */
function fieldOfLiteral(source: RequestSource, offset: number): string | null {
  const document = parsed(source);
  let field: string | null = null;
  if (document) {
    eachInputField(document, (name, value) => {
      if (value.loc && value.loc.start <= offset && offset < value.loc.end) field = name;
    });
  }
  return field;
}

/**
 * The input field a request error is about, when graphql-js rejected an input value before
 * any resolver ran (a variable that does not coerce, or a literal of the wrong type). Named
 * by its leaf, as the services name fields ("slFirstResponseSec", not "input.slFirstResponseSec").
 */
function invalidInputField(error: LocatedError, code: unknown): string | null {
  const { message, source } = error;
  const variable = VARIABLE_VALUE.exec(message);
  if (variable) {
    const [, name, path, reason] = variable;
    const named = NAMED_FIELD.exec(reason);
    if (named) return named[1];
    if (path) return leafOf(path);
    return source ? fieldOfVariable(source, name) : name;
  }
  const missing = VARIABLE_MISSING.exec(message);
  if (missing) return source ? fieldOfVariable(source, missing[1]) : missing[1];
  // A literal in the document: only value errors, found inside an argument's value. Unknown
  // fields or arguments and misplaced variables stay validation failures (a client bug).
  if (code !== 'GRAPHQL_VALIDATION_FAILED' || !source || error.positions?.[0] === undefined) return null;
  const field = fieldOfLiteral(source, error.positions[0]);
  if (field === null) return null;
  return NAMED_FIELD.exec(message)?.[1] ?? field;
}

/**
 * Apollo's own refusals of a request that carry an HTTP 4xx status but no code, e.g. an
 * automatic persisted query whose hash does not match its text.
 */
function isRequestError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions['code'] !== undefined) return false;
  const status = (error.extensions['http'] as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The one place that turns errors into responses: client errors pass through, anything else
 * (a bug, a lost database) is answered with a generic message, no stack (and logged by the
 * caller, see formatReported).
 * Input values that GraphQL itself rejects answer BAD_USER_INPUT with the field (and `fields`,
 * one error per rejected value), like the services' own checks, so clients handle one shape of
 * input error.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const limit = operationLimitOf(error);
  if (limit)
    return { message: limit.message, extensions: { code: limit.extensions['code'], limit: limit.limit, max: limit.max } };
  if (isRequestError(error)) {
    return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
  }
  const code = formatted.extensions?.code;
  const source = located(error);
  const field = source ? invalidInputField(source, code) : null;
  if (field !== null && (code === undefined || code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED')) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      extensions: { code: 'BAD_USER_INPUT', field, fields: [{ field, message: formatted.message }] },
    };
  }
  if (typeof code === 'string' && CLIENT_CODES.has(code)) {
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  const original = unwrapResolverError(error);
  if (original instanceof GraphQLError && !original.originalError && TOO_MANY_VARIABLE_ERRORS.test(original.message)) {
    // The errors before it name their fields; this one is about the request's variables as a whole.
    return {
      message: formatted.message,
      extensions: { code: 'BAD_USER_INPUT', field: 'variables', fields: [{ field: 'variables', message: formatted.message }] },
    };
  }
  // A GraphQLError thrown without a code by graphql-js itself (e.g. a variable coercion).
  if (original instanceof GraphQLError && !original.originalError && code === undefined) {
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'BAD_USER_INPUT' },
    };
  }
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: INTERNAL_SERVER_ERROR },
  };
}

export const INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR';

/**
 * `formatError` for a transport that has the request at hand: an error answered as internal
 * is handed to `logInternal` first, as much of it as may be logged.
 */
export function formatReported(error: GraphQLError, logInternal: (loggableError: unknown) => void): GraphQLFormattedError {
  const formatted = formatError(error.toJSON(), error);
  if (formatted.extensions?.['code'] === INTERNAL_SERVER_ERROR) logInternal(loggable(unwrapResolverError(error)));
  return formatted;
}

/** Operations that write nothing: one the database failed left nothing to undo. */
const WRITES_NOTHING = new Set(['query', 'subscription']);

/**
 * `formatted` (made of `error`) as a transport answers it once it knows the operation's type.
 * An internal error carries the request id the log has it under. A query's or subscription's
 * internal error that is the database failing to serve (databaseUnavailable) answers
 * SERVICE_UNAVAILABLE instead: it wrote nothing, so the client may send it again shortly. A
 * mutation's stays INTERNAL_SERVER_ERROR: its commit may have been under way.
 */
export function answeredError(
  formatted: GraphQLFormattedError,
  error: unknown,
  operationType: string | undefined,
  requestId: string,
): GraphQLFormattedError {
  if (formatted.extensions?.['code'] !== INTERNAL_SERVER_ERROR) return formatted;
  if (operationType !== undefined && WRITES_NOTHING.has(operationType) && databaseUnavailable(error)) {
    return {
      ...formatted,
      message: DATABASE_UNAVAILABLE_MESSAGE,
      extensions: { ...formatted.extensions, code: ErrorCode.SERVICE_UNAVAILABLE, requestId },
    };
  }
  return { ...formatted, extensions: { ...formatted.extensions, requestId } };
}
