import { registerEnumType } from 'type-graphql';

export enum QueueEventType {
  QUEUED = 'QUEUED',
  ASSIGNED = 'ASSIGNED',
  TRANSFERRED = 'TRANSFERRED',
  CLOSED = 'CLOSED',
}
registerEnumType(QueueEventType, { name: 'QueueEventType' });

export enum DialogEventType {
  MESSAGE = 'MESSAGE',
  STATUS_CHANGED = 'STATUS_CHANGED',
}
registerEnumType(DialogEventType, { name: 'DialogEventType' });
