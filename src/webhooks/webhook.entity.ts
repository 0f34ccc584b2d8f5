import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { EventType } from '../events/event-type.js';

@ObjectType({
  description: 'An HTTPS (or, where the server allows it, HTTP) endpoint that receives events as Standard Webhooks.',
})
@Entity({ tableName: 'webhooks' })
export class Webhook {
  [OptionalProps]?: 'active' | 'failingSince';

  @Field(() => ID, { description: "the webhook's id" })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'where deliveries are POSTed' })
  @Property({ type: 'text' })
  url!: string;

  @Field(() => [EventType], { description: 'the event types delivered' })
  @Property({ type: 'text[]' })
  types!: EventType[];

  @Field(() => Boolean, { description: 'false: nothing is sent (set by updateWebhook, or by a 410 Gone answer)' })
  @Property({ type: 'boolean' })
  active: boolean = true;

  @Field(() => Date, { description: 'when the webhook was created' })
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt!: Date;

  @Field(() => Date, {
    nullable: true,
    description: 'set while deliveries fail: when the oldest undelivered attempt first failed',
  })
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  failingSince: Date | null = null;

  /** Sealed by SecretBox; never a GraphQL field. */
  @Property({ type: 'text', lazy: true })
  secret!: string;

  /** The last log position turned into deliveries (jobs) for this webhook. */
  @Property({ type: 'bigint' })
  position!: string;
}
