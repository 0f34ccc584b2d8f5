import { BigIntType, Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, Int, ObjectType } from 'type-graphql';
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
@ObjectType({
  description:
    'A customer chat: with the bot, waiting in Help, held by an operator, or closed. Operators see the dialogs assigned to them, queued in Help or aimed at their groups.',
})
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
    | 'priority'
    | 'lastMessageSeq';

  @Field(() => ID, { description: 'the dialog id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, {
    nullable: true,
    description:
      "the bot's chat id given to startDialog (trimmed); at most one dialog per externalId is open at a time. Null when none was given",
  })
  @Property({ type: 'text', nullable: true })
  externalId: string | null = null;

  @Field(() => String, { nullable: true, description: "the client's name given to startDialog; null when none was given" })
  @Property({ type: 'text', nullable: true })
  clientName: string | null = null;

  @Field(() => DialogStatus, { description: 'where the dialog is now' })
  @Enum({ items: () => DialogStatus, type: 'text' })
  status!: DialogStatus;

  @Field(() => Int, { description: '0 (default) to 10; a higher priority drains from the queue first' })
  @Property({ type: 'integer' })
  priority: number = 0;

  @ManyToOne(() => Scenario, { nullable: true })
  scenario: Rel<Scenario> | null = null;

  /** The group the dialog was last aimed at (kept while queued, for SL targets and reports). */
  @ManyToOne(() => Group, { nullable: true })
  group: Rel<Group> | null = null;

  /** Who holds the dialog (ASSIGNED), or held it when it closed (CLOSED); none while BOT or QUEUED. */
  @ManyToOne(() => Operator, { nullable: true })
  operator: Rel<Operator> | null = null;

  @Field(() => Date, { description: 'when startDialog created it' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();

  /** First time the dialog left the bot. */
  @Field(() => Date, {
    nullable: true,
    description: 'when the dialog first left the bot (assigned or queued); null while it never has',
  })
  @Property(timestamp())
  handedOverAt: Date | null = null;

  @Field(() => Date, {
    nullable: true,
    description:
      'when the dialog last entered the Help queue (a re-queue keeps its place); kept after it leaves; null if it never waited there',
  })
  @Property(timestamp())
  queuedAt: Date | null = null;

  @Field(() => Date, {
    nullable: true,
    description: 'when the dialog was last assigned to an operator; kept after close; null if it never was',
  })
  @Property(timestamp())
  assignedAt: Date | null = null;

  @Field(() => Date, {
    nullable: true,
    description: "when the assigned operator first replied; null until then (staff replies don't count)",
  })
  @Property(timestamp())
  firstResponseAt: Date | null = null;

  @Property(timestamp())
  lastOperatorReplyAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'when the dialog was closed; null while open' })
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
