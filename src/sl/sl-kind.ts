import { registerEnumType } from 'type-graphql';

export enum SlKind {
  FIRST_RESPONSE = 'FIRST_RESPONSE',
  NEXT_RESPONSE = 'NEXT_RESPONSE',
}
registerEnumType(SlKind, { name: 'SlKind' });
