import {
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';

/**
 * Heap bytes a parsed document keeps per token (its AST nodes, locations and the token list),
 * measured with graphql 16 on documents of short names, arguments and nesting: 250–480.
 * Counting source bytes instead would undercount a document of one-letter fields 240-fold.
 */
const BYTES_PER_TOKEN = 500;

export interface DocumentCacheOptions {
  /** Estimated memory all cached documents together may take. */
  readonly maxBytes: number;
  /** A document estimated bigger than this is parsed for its own operation but not cached. */
  readonly maxDocumentBytes: number;
  /** Options for every parse (e.g. a token limit). */
  readonly parseOptions?: ParseOptions;
  /** Rules checked after graphql-js's own. */
  readonly rules?: readonly ValidationRule[];
  /** Validation stops after this many errors (graphql-js's default: 100). */
  readonly maxErrors?: number;
}

export interface SharedDocuments {
  /** Parses `source`, or returns the document parsed earlier from the same text. Throws syntax errors. */
  parse(source: string): DocumentNode;
  /** Validates `document`, once per document and schema. */
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
  /** Estimated memory the cached documents hold now. */
  cachedBytes(): number;
}

/** What a parsed document costs in memory: its source text and its tokens. */
export function estimatedDocumentBytes(source: string, document: DocumentNode): number {
  let tokens = 0;
  for (let token = document.loc?.startToken ?? null; token !== null; token = token.next) tokens++;
  return Buffer.byteLength(source) + tokens * BYTES_PER_TOKEN;
}

/**
 * Parsing and validation shared between every subscription that sends the same text.
 * Thousands of dashboards subscribe with a few queries, and each subscription keeps its
 * document for as long as it is open. The cache is bounded by estimated memory, least
 * recently used first out, so distinct large documents cannot pile up.
 */
export function sharedDocuments(options: DocumentCacheOptions): SharedDocuments {
  const parsed = new LRUCache<string, DocumentNode>({
    maxSize: options.maxBytes,
    maxEntrySize: options.maxDocumentBytes,
    sizeCalculation: (document, source) => estimatedDocumentBytes(source, document),
  });
  const rules = options.rules?.length ? [...specifiedRules, ...options.rules] : undefined;
  const validationOptions = options.maxErrors === undefined ? undefined : { maxErrors: options.maxErrors };
  // Weak: a document's errors go when the cache and its subscriptions let go of it.
  const checked = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();
  return {
    parse: (source) => {
      let document = parsed.get(source);
      if (!document) {
        document = parse(source, options.parseOptions);
        parsed.set(source, document);
      }
      return document;
    },
    validate: (schema, document) => {
      let forSchema = checked.get(schema);
      if (!forSchema) {
        forSchema = new WeakMap();
        checked.set(schema, forSchema);
      }
      let errors = forSchema.get(document);
      if (!errors) {
        errors = validate(schema, document, rules, validationOptions);
        forSchema.set(document, errors);
      }
      return errors;
    },
    cachedBytes: () => parsed.calculatedSize,
  };
}
