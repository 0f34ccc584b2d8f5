import { getNamedType, isLeafType, isObjectType, type GraphQLArgument, type GraphQLField, type GraphQLSchema } from 'graphql';
import { handoverSchema } from '../../src/schema.js';

export type RootKind = 'query' | 'mutation' | 'subscription';

/** A root field of the built schema, with what a test needs to call it. */
export interface RootField {
  readonly kind: RootKind;
  readonly name: string;
  readonly field: GraphQLField<unknown, unknown>;
  readonly args: readonly GraphQLArgument[];
}

/** Every Query, Mutation and Subscription field of the schema the server runs. */
export async function rootFields(schema?: GraphQLSchema): Promise<RootField[]> {
  const s = schema ?? (await handoverSchema());
  const roots: Array<[RootKind, ReturnType<GraphQLSchema['getQueryType']>]> = [
    ['query', s.getQueryType()],
    ['mutation', s.getMutationType()],
    ['subscription', s.getSubscriptionType()],
  ];
  return roots.flatMap(([kind, type]) =>
    type ? Object.values(type.getFields()).map((field) => ({ kind, name: field.name, field, args: field.args })) : [],
  );
}

/** `{ a b c }` with the leaf fields of the return type (shallow), or `__typename` alone. */
function selection(field: GraphQLField<unknown, unknown>, leaves: 'scalars' | 'typename'): string {
  const type = getNamedType(field.type);
  if (isLeafType(type)) return '';
  if (leaves === 'typename' || !isObjectType(type)) return '{ __typename }';
  const names = Object.values(type.getFields())
    .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !String(a.type).endsWith('!')))
    .map((f) => f.name);
  // A type of objects only (a connection) still needs a selection.
  return names.length ? `{ ${names.join(' ')} }` : '{ __typename }';
}

/**
 * The operation calling `root` with one variable per argument (declared with the argument's
 * own type), selecting the return type's scalar fields or only `__typename`. Arguments left out
 * of `present` are not passed at all.
 */
export function operationFor(
  root: RootField,
  options: { select?: 'scalars' | 'typename'; present?: readonly string[] } = {},
): string {
  const args = root.args.filter((a) => options.present?.includes(a.name) ?? true);
  const declared = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const passed = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${root.kind} ${root.name}Op${declared ? `(${declared})` : ''} { ${root.name}${passed ? `(${passed})` : ''} ${selection(root.field, options.select ?? 'scalars')} }`;
}
