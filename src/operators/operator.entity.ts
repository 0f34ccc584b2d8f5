import { Entity, Enum, OneToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { User } from '../users/user.entity.js';
import { OperatorStatus } from './operator-status.js';

export const DEFAULT_MAX_DIALOGS = 300;
export const DEFAULT_AUTO_LOGOUT_SEC = 0;

/**
 * The chat-operator profile of a user: capacity, status and load. Names and email live on
 * the user (one email = one account). Deleting an operator soft-deletes it, so dialogs keep
 * pointing at who handled them.
 */
@ObjectType({
  description:
    'A chat operator: a user with role OPERATOR, with capacity, status and load. Deleted operators still appear where dialogs refer to them.',
})
@Entity({ tableName: 'operators' })
export class Operator {
  [OptionalProps]?:
    | 'maxDialogs'
    | 'autoLogoutSec'
    | 'status'
    | 'activeDialogCount'
    | 'lastActivityAt'
    | 'lastAssignedAt'
    | 'awayReason'
    | 'presenceSeenAt'
    | 'createdAt'
    | 'deletedAt';

  @Field(() => ID, { description: 'the operator id (a UUID); not the user id' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne(() => User, { owner: true, unique: true })
  user!: Rel<User>;

  @Field(() => Int, { description: 'most dialogs they hold at once (1 to 10,000); routing never goes past it' })
  @Property({ type: 'integer' })
  maxDialogs: number = DEFAULT_MAX_DIALOGS;

  @Field(() => Int, { description: '0 = never' })
  @Property({ type: 'integer' })
  autoLogoutSec: number = DEFAULT_AUTO_LOGOUT_SEC;

  @Field(() => OperatorStatus, { description: 'whether they receive dialogs now' })
  @Enum({ items: () => OperatorStatus, type: 'text' })
  status: OperatorStatus = OperatorStatus.OFFLINE;

  @Field(() => String, { nullable: true, description: 'set while AWAY' })
  @Property({ type: 'text', nullable: true })
  awayReason: string | null = null;

  /**
   * Last moment the operator was known present: went ONLINE or AWAY, or had an open WebSocket
   * at a sweep. PRESENCE_GRACE_SEC counts from it.
   */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  presenceSeenAt: Date | null = null;

  /** Kept equal to the number of ASSIGNED dialogs by the routing transactions. */
  @Field(() => Int, { description: 'dialogs ASSIGNED to them now' })
  @Property({ type: 'integer' })
  activeDialogCount: number = 0;

  @Field(() => Date, {
    nullable: true,
    description: 'their last reply, login or coming ONLINE (auto-logout counts from it); null before any',
  })
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastActivityAt: Date | null = null;

  /** Tie-break for routing: who has waited longest since their last assignment. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastAssignedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deletedAt: Date | null = null;
}
