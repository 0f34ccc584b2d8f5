import { parse, specifiedRules, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { DocumentChecks } from '../shared/operation-limits.js';

/** Distinct operation texts kept; dashboards send a handful, so this is never reached in practice. */
const MAX_DOCUMENTS = 500;

/**
 * `parse` and `validate` for graphql-ws that share one parsed, validated document between every
 * subscription sending the same text. Thousands of dashboards subscribe with a few queries, and
 * each subscription keeps its document for as long as it is open. `checks` (the operation
 * limits) apply to every text: parse options, and rules added to graphql's own.
 */
export function sharedDocuments(checks?: DocumentChecks): { parse: typeof parse; validate: typeof validate } {
  const limitRules = checks ? [...specifiedRules, ...checks.validationRules] : undefined;
  const validateOptions = checks ? { maxErrors: checks.maxErrors } : undefined;
  const parsed = new Map<string, DocumentNode>();
  const checked = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();
  return {
    parse: (source, options) => {
      // Only plain text with default options is shared; anything else parses as usual.
      if (typeof source !== 'string' || options !== undefined) return parse(source, options);
      let document = parsed.get(source);
      if (!document) {
        document = parse(source, checks?.parseOptions);
        if (parsed.size >= MAX_DOCUMENTS) parsed.clear();
        parsed.set(source, document);
      }
      return document;
    },
    validate: (schema, document, rules, options, typeInfo) => {
      if (rules !== undefined || options !== undefined || typeInfo !== undefined) {
        return validate(schema, document, rules, options, typeInfo);
      }
      let forSchema = checked.get(schema);
      if (!forSchema) {
        forSchema = new WeakMap();
        checked.set(schema, forSchema);
      }
      let errors = forSchema.get(document);
      if (!errors) {
        errors = validate(schema, document, limitRules, validateOptions);
        forSchema.set(document, errors);
      }
      return errors;
    },
  };
}
