import { defaultFieldResolver, isObjectType, type GraphQLSchema } from 'graphql';
import { BadInputError, type InputIssue } from './errors.js';
import { isStorableDate } from './pg-time.js';

/**
 * NUL, which PostgreSQL text cannot hold, and lone UTF-16 surrogates, which the driver would
 * store as U+FFFD. With the `u` flag a surrogate pair is one code point, so \p{Cs} only
 * matches a lone half.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL text cannot store
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** Adds an issue naming the leaf argument or input field for each bad value (once per field). */
function check(field: string, value: unknown, issues: Map<string, InputIssue>): void {
  if (typeof value === 'string') {
    if (UNSTORABLE.test(value) && !issues.has(field)) {
      issues.set(field, { field, message: `${field} contains a character that cannot be stored (NUL or a lone surrogate)` });
    }
  } else if (value instanceof Date) {
    if (!isStorableDate(value) && !issues.has(field)) {
      issues.set(field, { field, message: `${field} must be a date in the years 1 to 9999` });
    }
  } else if (Array.isArray(value)) {
    for (const item of value) check(field, item, issues);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) check(key, item, issues);
  }
}

/** Throws one BAD_USER_INPUT listing every argument or input field with a bad value. */
function checkArguments(args: Readonly<Record<string, unknown>>): void {
  const issues = new Map<string, InputIssue>();
  for (const [name, value] of Object.entries(args)) check(name, value, issues);
  const [first, ...others] = issues.values();
  if (first) throw new BadInputError(first.field, first.message, others);
}

/**
 * Every field that takes arguments checks their coerced values before its resolver (and so
 * before authorization) runs: text the database cannot store and dates outside years
 * 1..9999 answer BAD_USER_INPUT, whatever the operation. Subscriptions check once, when
 * they start. Fields without arguments are left alone, so result fields stay synchronous.
 */
export function guardArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      const { subscribe, resolve = defaultFieldResolver } = field;
      if (subscribe) {
        field.subscribe = (source, args: Readonly<Record<string, unknown>>, context, info) => {
          checkArguments(args);
          return subscribe(source, args, context, info);
        };
      } else {
        field.resolve = (source, args: Readonly<Record<string, unknown>>, context, info) => {
          checkArguments(args);
          return resolve(source, args, context, info);
        };
      }
    }
  }
  return schema;
}
