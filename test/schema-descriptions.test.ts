import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLNamedType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { handoverSchema } from '../src/schema.js';

function described(description: string | null | undefined): boolean {
  return description !== undefined && description !== null && description.trim() !== '';
}

/** Every schema coordinate (Type, Type.field, Type.field(arg:), Enum.VALUE) that has no description. */
function undescribed(type: GraphQLNamedType): string[] {
  const missing: string[] = [];
  if (!described(type.description)) missing.push(type.name);
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
      for (const arg of field.args) {
        if (!described(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
    }
  } else if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!described(field.description)) missing.push(`${type.name}.${field.name}`);
    }
  } else if (isEnumType(type)) {
    for (const value of type.getValues()) {
      if (!described(value.description)) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

describe('schema descriptions', () => {
  it('describe every type, field, argument and enum value (the list names each one missing)', async () => {
    const schema = await handoverSchema();
    // Introspection types and GraphQL's own scalars are described by graphql-js itself.
    const ours = Object.values(schema.getTypeMap()).filter((type) => !type.name.startsWith('__') && !isSpecifiedScalarType(type));
    expect(ours.length).toBeGreaterThan(30);
    expect(ours.flatMap(undescribed)).toEqual([]);
  });
});
