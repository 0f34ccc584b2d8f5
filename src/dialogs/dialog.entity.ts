import { BigIntType, Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { Scenario } from '../scenarios/scenario.entity.js';
import { SlKind } from '../sl/sl-kind.js';
import { DialogStatus } from './dialog-enums.js';

// A fresh object per property: MikroORM writes into the options it is given.
const timestamp = () => ({ type: 'datetime', columnType: 'timestamptz', nullable: true }) as const;

/**
 * A customer chat. Its state (and the operators' load) changes only inside routing
 * transactions; resolvers read it.
 */
@ObjectType()
@Entity({ tableName: 'dialogs' })
export class Dialog {
  [OptionalProps]?:
    | 'externalId'
    | 'clientName'
    | 'scenario'
    | 'group'
    | 'operator'
    | 'handedOverAt'
    | 'queuedAt'
    | 'assignedAt'
    | 'firstResponseAt'
    | 'lastOperatorReplyAt'
    | 'closedAt'
    | 'slKind'
    | 'slStartedAt'
    | 'slDeadline'
    | 'slGroup'
    | 'slBreachedAt'
    | 'slWarnedAt'
    | 'lastMessageSeq';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  clientName: string | null = null;

  @Field(() => DialogStatus)
  @Enum({ items: () => DialogStatus, type: 'text' })
  status!: DialogStatus;

  @ManyToOne(() => Scenario, { nullable: true })
  scenario: Rel<Scenario> | null = null;

  /** The group the dialog was last aimed at (kept while queued, for SL targets and reports). */
  @ManyToOne(() => Group, { nullable: true })
  group: Rel<Group> | null = null;

  /** Who holds the dialog (ASSIGNED), or held it when it closed (CLOSED); none while BOT or QUEUED. */
  @ManyToOne(() => Operator, { nullable: true })
  operator: Rel<Operator> | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  /** First time the dialog left the bot. */
  @Field(() => Date, { nullable: true })
  @Property(timestamp())
  handedOverAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property(timestamp())
  queuedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property(timestamp())
  assignedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property(timestamp())
  firstResponseAt: Date | null = null;

  @Property(timestamp())
  lastOperatorReplyAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property(timestamp())
  closedAt: Date | null = null;

  @Enum({ items: () => SlKind, type: 'text', nullable: true })
  slKind: SlKind | null = null;

  @Property(timestamp())
  slStartedAt: Date | null = null;

  @Property(timestamp())
  slDeadline: Date | null = null;

  @ManyToOne(() => Group, { nullable: true, fieldName: 'sl_group_id' })
  slGroup: Rel<Group> | null = null;

  @Property(timestamp())
  slBreachedAt: Date | null = null;

  @Property(timestamp())
  slWarnedAt: Date | null = null;

  /** messages.seq of the newest message (null: none yet); what LAST_MESSAGE_DESC orders by. */
  @Property({ type: new BigIntType('string'), nullable: true })
  lastMessageSeq: string | null = null;
}
