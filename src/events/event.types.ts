import { Field, ID, ObjectType } from 'type-graphql';
import { PageInfo } from '../dialogs/dialog.types.js';
import type { LogEntry } from '../realtime/event-log.js';
import { EventType } from './event-type.js';

/** A position in the log as clients see it: an opaque string (today the decimal position). */
export function cursorOf(position: number): string {
  return String(position);
}

@ObjectType({ description: 'One committed change.' })
export class Event {
  @Field(() => ID, { description: "the event's id; stable, and the `webhook-id` of its webhook deliveries" })
  id!: string;

  @Field(() => String, { description: "the event's position in the log, in commit order; pass it as `after` to resume" })
  cursor!: string;

  @Field(() => EventType, { description: 'what happened' })
  type!: EventType;

  @Field(() => Date, { description: 'when the change was made' })
  at!: Date;

  /** The log entry behind the event; its ids resolve the fields below. */
  entry!: LogEntry;

  static of(entry: LogEntry): Event {
    const cursor = cursorOf(entry.position);
    return Object.assign(new Event(), { id: cursor, cursor, type: entry.type as EventType, at: entry.at, entry });
  }
}

@ObjectType({ description: 'An event and the position to resume after it.' })
export class EventEdge {
  @Field(() => String, { description: "the event's cursor" })
  cursor!: string;

  @Field(() => Event, { description: 'the event' })
  node!: Event;
}

@ObjectType({ description: 'A page of the event log, in commit order.' })
export class EventConnection {
  @Field(() => [EventEdge], { description: 'the events, oldest first' })
  edges!: EventEdge[];

  @Field(() => PageInfo, {
    description:
      'endCursor: where the next page starts (also past events the caller may not see); hasNextPage: more was there when read',
  })
  pageInfo!: PageInfo;
}
