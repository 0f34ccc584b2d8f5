import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import {
  BREAK,
  GraphQLError,
  Kind,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isListType,
  type DocumentNode,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
  visit,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from '../dialogs/dialog.queries.js';
import { AppError, ErrorCode } from './errors.js';

/** The most a single GraphQL document may ask for; each is checked before anything runs. */
export interface OperationLimits {
  /** Lexical tokens in the document (parsing stops past this). */
  readonly tokens: number;
  /** Nested field levels, leaves included (`{ a { b } }` is 2; fragments add no level). */
  readonly depth: number;
  readonly aliases: number;
  readonly directives: number;
  /** Estimated work, see `fieldCost`. */
  readonly cost: number;
}

export type OperationLimit = keyof OperationLimits;

/** Validation stops after this many errors: a broken document cannot make the answer huge. */
export const MAX_VALIDATION_ERRORS = 20;

/** An operation over one of the limits: rejected as a whole, before it runs. */
export class OperationLimitError extends AppError {
  constructor(
    readonly limit: OperationLimit,
    readonly max: number,
  ) {
    super(ErrorCode.OPERATION_LIMIT_EXCEEDED, `Operation exceeds the ${limit} limit (at most ${max})`, { limit, max });
  }
}

/** What a list with no page size is assumed to hold (a group's operators, an operator's groups). */
const ASSUMED_LIST_SIZE = 10;
/** A root field runs its own SQL per call; nested fields are batched by the request's loaders. */
const ROOT_FIELD_COST = 100;
/** Fields visited by the estimate that a full introspection query may need (it visits ~300). */
const INTROSPECTION_NODES = 10_000;

/**
 * The cost of one field, given the cost of its selection: its own cost plus its selection once
 * per item it can return. A `first` or `last` argument sizes a connection's page (both left out
 * or null: the default page); the lists inside a connection are that page; any other list counts
 * its `last` argument's items when given, else `ASSUMED_LIST_SIZE`. Introspection costs nothing (graphql-js bounds its depth itself).
 */
function fieldCost({ type, field, args, childComplexity }: ComplexityEstimatorArgs, schema: GraphQLSchema): number {
  if (type.name.startsWith('__') || field.name.startsWith('__')) return 0;
  const root = type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType();
  const own = root ? ROOT_FIELD_COST : 1;
  const given = (name: string): number | null => (typeof args[name] === 'number' ? Math.max(args[name], 0) : null);
  let items = 1;
  if (field.args.some((arg) => arg.name === 'first')) {
    // Both first and last are refused at execution; costed as the larger until then.
    const first = given('first');
    const last = given('last');
    items = first === null && last === null ? DEFAULT_PAGE_SIZE : Math.max(first ?? 0, last ?? 0);
  } else if (isListType(getNullableType(field.type))) {
    items = type.name.endsWith('Connection') ? 1 : (given('last') ?? ASSUMED_LIST_SIZE);
  }
  return own + items * childComplexity;
}

/**
 * The cost check for a document that passed validation, or the error to answer with. Each
 * field outside introspection costs at least 1, so the estimate stops (as over the limit) once
 * it has visited more fields than the limit: fragments spread many times cannot make the
 * estimate itself slow. Variables that do not coerce are left to execution, which names the field.
 */
export function costLimitError(
  limits: OperationLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  operationName: string | undefined,
): OperationLimitError | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], { ...variables }, { maxErrors: 1 });
  if (coerced.errors) return null;
  const estimate = (): boolean => overCost(limits, schema, document, variables, operationName);
  return kept(document, operationName ?? '', estimate) ? new OperationLimitError('cost', limits.cost) : null;
}

function overCost(
  limits: OperationLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  operationName: string | undefined,
): boolean {
  try {
    const cost = getComplexity({
      schema,
      query: document,
      variables: { ...variables },
      ...(operationName ? { operationName } : {}),
      estimators: [(args) => fieldCost(args, schema)],
      maxQueryNodes: Math.max(limits.cost, INTROSPECTION_NODES),
    });
    return cost > limits.cost;
  } catch (error) {
    // The only error left for a valid operation with valid variables: the node limit.
    if (error instanceof GraphQLError) return true;
    throw error;
  }
}

/** Arguments whose variables change the estimate: page sizes, and @include/@skip conditions. */
const COST_ARGUMENTS = new Set(['first', 'last', 'if']);

/**
 * Whether a variable sets one of COST_ARGUMENTS anywhere in the document. Otherwise the estimate
 * is the same for every request with that document, and is computed once per document.
 */
function costSetByVariables(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Argument(node) {
      if (COST_ARGUMENTS.has(node.name.value) && node.value.kind !== Kind.INT && node.value.kind !== Kind.NULL) {
        found = true;
        return BREAK;
      }
      return false;
    },
  });
  return found;
}

/** Per parsed document (the server's document caches hand out the same object for the same text). */
const estimates = new WeakMap<DocumentNode, { readonly byVariables: boolean; readonly byOperation: Map<string, boolean> }>();

/** Whether the operation is over the cost limit: estimated once per document unless variables can change it. */
function kept(document: DocumentNode, operationName: string, estimate: () => boolean): boolean {
  let known = estimates.get(document);
  if (!known) estimates.set(document, (known = { byVariables: costSetByVariables(document), byOperation: new Map() }));
  if (known.byVariables) return estimate();
  let over = known.byOperation.get(operationName);
  if (over === undefined) known.byOperation.set(operationName, (over = estimate()));
  return over;
}

/** Options for graphql's `parse` and extra rules for its `validate`: the limits known from the text alone. */
export interface DocumentChecks {
  readonly parseOptions: ParseOptions;
  readonly validationRules: readonly ValidationRule[];
  readonly maxErrors: number;
}

export function documentChecks(limits: OperationLimits): DocumentChecks {
  const reject = (limit: OperationLimit) => [
    (context: ValidationContext | null): void => context?.reportError(new OperationLimitError(limit, limits[limit])),
  ];
  // Rejections are reported as validation errors (not thrown), so the other rules still run.
  const common = { exposeLimits: false, propagateOnRejection: false } as const;
  return {
    parseOptions: { maxTokens: limits.tokens },
    validationRules: [
      maxDepthRule({ ...common, n: limits.depth, flattenFragments: true, ignoreIntrospection: true, onReject: reject('depth') }),
      maxAliasesRule({ ...common, n: limits.aliases, onReject: reject('aliases') }),
      maxDirectivesRule({ ...common, n: limits.directives, onReject: reject('directives') }),
    ],
    maxErrors: MAX_VALIDATION_ERRORS,
  };
}

// graphql-js's own message when `parse` stops at `maxTokens` (16.x spells it "more that").
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/**
 * The limit an error reports, however it reached the formatter: ours (perhaps wrapped by
 * Apollo as a validation error), or graphql-js's parse stopping at the token limit.
 */
export function operationLimitOf(error: unknown): OperationLimitError | null {
  for (let current: unknown = error; current instanceof Error; current = (current as { originalError?: unknown }).originalError) {
    if (current instanceof OperationLimitError) return current;
    const tokens = current instanceof GraphQLError ? TOKEN_LIMIT.exec(current.message) : null;
    if (tokens) return new OperationLimitError('tokens', Number(tokens[1]));
  }
  return null;
}

/** The cost check over HTTP: after validation, with the request's variables, before execution. */
export function costLimitPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operationName }) {
          const error = costLimitError(limits, schema, document, request.variables, operationName ?? undefined);
          if (error) {
            throw new GraphQLError(error.message, {
              extensions: { ...error.extensions, http: { status: 400 } },
              originalError: error,
            });
          }
        },
      };
    },
  };
}
