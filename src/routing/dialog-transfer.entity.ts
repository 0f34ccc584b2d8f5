import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Dialog } from '../dialogs/dialog.entity.js';
import { TransferOutcome } from '../dialogs/dialog-enums.js';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';

/** One routing decision: what was asked for, where the dialog went, and why. */
@ObjectType()
@Entity({ tableName: 'dialog_transfers' })
export class DialogTransfer {
  [OptionalProps]?: 'requestedGroup' | 'requestedOperator' | 'fromOperator' | 'toOperator' | 'reason' | 'seq';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Dialog)
  dialog!: Rel<Dialog>;

  /** Insertion order (identity column, read-only here): timestamps can tie. */
  @Property({ type: 'bigint', formula: (table) => `${table.alias}.seq`, lazy: false })
  seq?: string;

  @Field(() => Date)
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  at!: Date;

  /** What started the decision (RoutingCause). */
  @Field(() => String, { description: 'what started the decision: TRANSFER, BOT_FAILURE, DRAIN, TAKE, REROUTE' })
  @Property({ type: 'text' })
  kind!: string;

  @ManyToOne(() => Group, { nullable: true })
  requestedGroup: Rel<Group> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  requestedOperator: Rel<Operator> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  fromOperator: Rel<Operator> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  toOperator: Rel<Operator> | null = null;

  @Field(() => TransferOutcome)
  @Enum({ items: () => TransferOutcome, type: 'text' })
  outcome!: TransferOutcome;

  @Field(() => String, {
    nullable: true,
    description: 'why the requested target was skipped, e.g. operator_offline, operator_at_capacity, group_no_online_members',
  })
  @Property({ type: 'text', nullable: true })
  reason: string | null = null;
}
