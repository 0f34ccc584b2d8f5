import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { DialogRecord } from './dialog-record.js';
import { Dialog } from './dialog.entity.js';
import { QueueStats } from './dialog.types.js';
import type { MessageRecord } from './message-record.js';
import { Message } from './message.entity.js';
import { DialogEventType, QueueEventType } from './dialog-event-types.js';

@ObjectType({
  description:
    "A change to a dialog in a queue stream (queueChanged) or in the calling operator's own dialogs (myDialogs), sent after it committed.",
})
export class QueueEvent {
  @Field(() => QueueEventType, { description: 'what happened' })
  type!: QueueEventType;

  @Field(() => Dialog, { description: 'the dialog as it is now' })
  dialog!: DialogRecord;

  @Field(() => ID, {
    nullable: true,
    description: "queueChanged: the stream's group (null for the Help queue); myDialogs: the dialog's group",
  })
  groupId!: string | null;

  @Field(() => QueueStats, {
    description: 'the queue figures right after the change, for groupId (null: the Help queue and the whole server)',
  })
  stats!: QueueStats;

  @Field(() => Int, { description: 'per stream, increasing in commit order: a gap means missed events (refetch)' })
  sequence!: number;

  @Field(() => Message, { nullable: true, description: 'on MESSAGE: the message; null for other types' })
  message!: MessageRecord | null;
}

@ObjectType({ description: 'A change in one dialog (dialogEvents), sent after it committed.' })
export class DialogEvent {
  @Field(() => DialogEventType, { description: 'what happened' })
  type!: DialogEventType;

  @Field(() => Dialog, { description: 'the dialog as it is now' })
  dialog!: DialogRecord;

  @Field(() => Message, { nullable: true, description: 'the new message for MESSAGE events; null otherwise' })
  message!: MessageRecord | null;

  @Field(() => Int, { description: 'per dialog, increasing in commit order: a gap means missed events (refetch)' })
  sequence!: number;
}
