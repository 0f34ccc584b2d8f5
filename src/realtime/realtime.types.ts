import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Dialog } from '../dialogs/dialog.entity.js';
import { QueueStats } from '../dialogs/dialog.types.js';
import { Message } from '../dialogs/message.entity.js';
import type { Loaders } from '../loaders.js';
import { DialogEventType, QueueEventType } from './event-types.js';

@ObjectType()
export class QueueEvent {
  @Field(() => QueueEventType)
  type!: QueueEventType;

  @Field(() => Dialog)
  dialog!: Dialog;

  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => QueueStats)
  stats!: QueueStats;

  @Field(() => Int, { description: 'per stream, increasing in commit order: a gap means missed events (refetch)' })
  sequence!: number;

  @Field(() => Message, { nullable: true, description: 'on MESSAGE: the message; null for other types' })
  message!: Message | null;
}

@ObjectType()
export class DialogEvent {
  @Field(() => DialogEventType)
  type!: DialogEventType;

  @Field(() => Dialog)
  dialog!: Dialog;

  @Field(() => Message, { nullable: true })
  message!: Message | null;

  @Field(() => Int, { description: 'per dialog, increasing in commit order: a gap means missed events (refetch)' })
  sequence!: number;
}

/** What a subscription iterator yields: the event plus the loaders its fields resolve with. */
export interface Envelope<T> {
  readonly value: T;
  readonly loaders: Loaders;
  /** The event's sequence, for payload types that are entities (no field of their own to carry it). */
  readonly sequence?: number;
}
