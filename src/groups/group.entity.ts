import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, Int, ObjectType } from 'type-graphql';

/**
 * An operator group with its SL targets. Deleting a group soft-deletes it, so dialogs
 * and reports that refer to it keep their history.
 */
@ObjectType({
  description:
    'An operator group with its SL targets. Dialogs are transferred to groups; their least-loaded ONLINE member gets each one.',
})
@Entity({ tableName: 'groups' })
export class Group {
  [OptionalProps]?: 'createdAt' | 'deletedAt' | 'reassignAfterSec' | 'maxQueued' | 'preferLastOperatorSec';

  @Field(() => ID, { description: 'the group id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'unique among existing groups, ignoring case' })
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int, {
    description: "first-response SL target, seconds: from the dialog reaching operators to the assigned operator's first reply",
  })
  @Property({ type: 'integer' })
  slFirstResponseSec!: number;

  @Field(() => Int, {
    description:
      "subsequent-response SL target, seconds: from a client message after an operator reply to the assigned operator's next reply",
  })
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

  @Field(() => Date, { description: 'when the group was created' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
