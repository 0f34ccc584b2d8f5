import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';

/** Distinct operation texts kept; dashboards send a handful, so this is never reached in practice. */
const MAX_DOCUMENTS = 500;

/**
 * `parse` and `validate` for graphql-ws that share one parsed, validated document between every
 * subscription sending the same text. Thousands of dashboards subscribe with a few queries, and
 * each subscription keeps its document for as long as it is open.
 */
export function sharedDocuments(): { parse: typeof parse; validate: typeof validate } {
  const parsed = new Map<string, DocumentNode>();
  const checked = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, readonly GraphQLError[]>>();
  return {
    parse: (source, options) => {
      // Only plain text with default options is shared; anything else parses as usual.
      if (typeof source !== 'string' || options !== undefined) return parse(source, options);
      let document = parsed.get(source);
      if (!document) {
        document = parse(source);
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
        errors = validate(schema, document);
        forSchema.set(document, errors);
      }
      return errors;
    },
  };
}
