import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Role } from '../auth/role.js';

/** A login account. Operators are users with role OPERATOR plus an Operator profile. */
@ObjectType({ description: 'A login account. An operator is a user with role OPERATOR plus an Operator profile.' })
@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'createdAt' | 'passwordHash' | 'deletedAt';

  @Field(() => ID, { description: 'the user id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Stored lower-cased; unique among live users. */
  @Field(() => String, { description: 'the login name, stored lower-cased; unique among existing accounts' })
  @Property({ type: 'text' })
  email!: string;

  @Field(() => String, { description: 'given name' })
  @Property({ type: 'text' })
  firstName!: string;

  @Field(() => String, { description: 'family name' })
  @Property({ type: 'text' })
  lastName!: string;

  @Field(() => Role, { description: 'what the account may do (see Role)' })
  @Enum({ items: () => Role, type: 'text' })
  role!: Role;

  /** argon2id; null when the account cannot log in with a password. */
  @Property({ type: 'text', nullable: true, hidden: true })
  passwordHash: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
