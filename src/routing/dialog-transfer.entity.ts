import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Dialog } from '../dialogs/dialog.entity.js';
import { TransferOutcome } from '../dialogs/dialog-enums.js';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { RoutingCause, SkipReason } from './transfer-enums.js';

/** One routing decision: what was asked for, where the dialog went, and why. */
@ObjectType({ description: 'One routing decision: what was asked for, where the dialog went, and why.' })
@Entity({ tableName: 'dialog_transfers' })
export class DialogTransfer {
  [OptionalProps]?: 'requestedGroup' | 'requestedOperator' | 'fromOperator' | 'toOperator' | 'reasons' | 'note' | 'fromQueue';

  @Field(() => ID, { description: 'the decision id (a UUID)' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Dialog)
  dialog!: Rel<Dialog>;

  @Field(() => Date, { description: 'when the decision was committed' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  at!: Date;

  @Field(() => RoutingCause, { description: 'what started it' })
  @Enum({ items: () => RoutingCause, type: 'text' })
  kind!: RoutingCause;

  @ManyToOne(() => Group, { nullable: true })
  requestedGroup: Rel<Group> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  requestedOperator: Rel<Operator> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  fromOperator: Rel<Operator> | null = null;

  @ManyToOne(() => Operator, { nullable: true })
  toOperator: Rel<Operator> | null = null;

  @Field(() => TransferOutcome, { description: 'where the dialog went' })
  @Enum({ items: () => TransferOutcome, type: 'text' })
  outcome!: TransferOutcome;

  @Field(() => [SkipReason], {
    description: 'every reason, in the order the chain met them; empty when the first choice took it',
  })
  @Enum({ items: () => SkipReason, array: true, type: 'text[]' })
  reasons: SkipReason[] = [];

  /** The dialog waited in the Help queue before this decision (the wait estimate counts those that left it). */
  @Property({ type: 'boolean' })
  fromQueue: boolean = false;

  @Field(() => String, { nullable: true, description: "free text kept with the decision, e.g. the bot's failure reason" })
  @Property({ type: 'text', nullable: true })
  note: string | null = null;
}
