import { Field, ID, InputType } from 'type-graphql';
import { EventType } from './event-type.js';

@InputType({ description: 'All given conditions must hold.' })
export class EventFilter {
  @Field(() => [EventType], { nullable: true, description: 'only these types' })
  types?: EventType[] | null;

  @Field(() => ID, { nullable: true, description: "only this dialog's events" })
  dialogId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: "events of the group's dialogs (and of its members' status): the dialog's group when the event happened",
  })
  groupId?: string | null;

  @Field(() => String, { nullable: true, description: 'events of dialogs started with this externalId' })
  externalId?: string | null;
}
