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
  [OptionalProps]?: 'createdAt' | 'deletedAt';

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

  @Field(() => Date, { description: 'when the group was created' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
