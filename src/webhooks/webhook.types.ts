import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../dialogs/dialog.types.js';
import { EventType } from '../events/event-type.js';
import { Event } from '../events/event.types.js';
import type { AttemptRecord } from './webhook.service.js';
import { Webhook } from './webhook.entity.js';
import type { WebhookRecord } from './webhook-record.js';

@ObjectType({ description: 'One attempt to deliver one event.' })
export class WebhookDelivery {
  @Field(() => ID, { description: "the attempt's id" })
  id!: string;

  @Field(() => Event, { description: 'the event delivered (its id is the `webhook-id` header)' })
  event!: Event;

  @Field(() => Int, { description: '1 for the first attempt at this event, then 2, 3, …' })
  attempt!: number;

  @Field(() => Date, { description: 'when the attempt was sent' })
  at!: Date;

  @Field(() => Int, { nullable: true, description: 'the HTTP status received; null on a network error or time-out' })
  statusCode!: number | null;

  @Field(() => Int, { description: 'from sending to the answer (or the failure)' })
  durationMs!: number;

  @Field(() => String, { nullable: true, description: 'why the attempt failed; null when it succeeded' })
  error!: string | null;

  @Field(() => Date, { nullable: true, description: 'when the next attempt is due; null once delivered or given up' })
  nextAttemptAt!: Date | null;

  static of(record: AttemptRecord): WebhookDelivery {
    const { entry, ...rest } = record;
    return Object.assign(new WebhookDelivery(), rest, { event: Event.of(entry) });
  }
}

@ObjectType({ description: 'An attempt and the position to read on from.' })
export class WebhookDeliveryEdge {
  @Field(() => String, { description: "the attempt's cursor" })
  cursor!: string;

  @Field(() => WebhookDelivery, { description: 'the attempt' })
  node!: WebhookDelivery;
}

@ObjectType({ description: "A page of a webhook's delivery attempts, newest first." })
export class WebhookDeliveryConnection {
  @Field(() => [WebhookDeliveryEdge], { description: 'the attempts, newest first' })
  edges!: WebhookDeliveryEdge[];

  @Field(() => PageInfo, { description: 'endCursor: pass it as `after` for older attempts' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A webhook with its signing secret, which is shown only here.' })
export class WebhookSecretPayload {
  @Field(() => Webhook, { description: 'the webhook' })
  webhook!: WebhookRecord;

  @Field(() => String, { description: 'the signing secret (whsec_…), shown once' })
  secret!: string;
}

@InputType({ description: 'A new webhook.' })
export class CreateWebhookInput {
  @Field(() => String, {
    description: 'http(s) URL to POST to; internal addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true',
  })
  url!: string;

  @Field(() => [EventType], { description: 'the event types to deliver (at least one)' })
  types!: EventType[];
}

@InputType({ description: 'Changes to a webhook; what is left out stays as it is.' })
export class UpdateWebhookInput {
  @Field(() => String, { nullable: true, description: 'a new URL (checked like at creation)' })
  url?: string | null;

  @Field(() => [EventType], { nullable: true, description: 'the event types to deliver from now on' })
  types?: EventType[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'false stops deliveries; true resumes them with the events committed from then on, and pending ones',
  })
  active?: boolean | null;
}
