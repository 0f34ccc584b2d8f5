import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, Int, ObjectType } from 'type-graphql';

/**
 * An operator group with its SL targets. Deleting a group soft-deletes it, so dialogs
 * and reports that refer to it keep their history.
 */
@ObjectType()
@Entity({ tableName: 'groups' })
export class Group {
  [OptionalProps]?: 'createdAt' | 'deletedAt' | 'reassignAfterSec' | 'maxQueued' | 'preferLastOperatorSec';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  slFirstResponseSec!: number;

  @Field(() => Int)
  @Property({ type: 'integer' })
  slNextResponseSec!: number;

  @Field(() => Int, {
    description:
      're-route a dialog whose assigned operator leaves the client unanswered this many seconds after assignment; 0 = off',
  })
  @Property({ type: 'integer' })
  reassignAfterSec: number = 0;

  @Field(() => Int, { description: 'at most this many dialogs aimed at the group wait in Help; 0 = no limit' })
  @Property({ type: 'integer' })
  maxQueued: number = 0;

  @Field(() => Int, {
    description:
      'a returning client (same externalId) goes first to the operator who served them within this many seconds, if available; 0 = off',
  })
  @Property({ type: 'integer' })
  preferLastOperatorSec: number = 0;

  @Field(() => Date)
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
