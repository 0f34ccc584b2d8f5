import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Webhook } from './webhook.entity.js';
import type { WebhookRecord } from './webhook-record.js';
import {
  CreateWebhookInput,
  UpdateWebhookInput,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookSecretPayload,
} from './webhook.types.js';

@Resolver(() => Webhook)
export class WebhookResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [Webhook], { description: 'every webhook, oldest first' })
  webhooks(@Ctx() { em, services }: Context): Promise<WebhookRecord[]> {
    return services.webhooks.list(em);
  }

  @Authorized(Role.ADMIN)
  @Query(() => Webhook, { nullable: true, description: 'one webhook; null when there is none with this id' })
  webhook(
    @Arg('id', () => ID, { description: "the webhook's id" }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<WebhookRecord | null> {
    return services.webhooks.find(em, id);
  }

  @FieldResolver(() => WebhookDeliveryConnection, { description: 'the delivery attempts, newest first' })
  async deliveries(
    @Root() webhook: WebhookRecord,
    @Arg('first', () => Int, { nullable: true, description: 'at most this many (default 20, at most 100)' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: "a page's endCursor: the attempts older than it" })
    after: string | null,
    @Ctx() { em, services }: Context,
  ): Promise<WebhookDeliveryConnection> {
    const page = await services.webhooks.attempts(em, webhook.id, first ?? null, after ?? null);
    const edges = page.attempts.map((record) => ({ cursor: record.id, node: WebhookDelivery.of(record) }));
    return {
      edges,
      // Attempts page forward (newest first) only.
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: page.endCursor,
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor ?? null,
      },
    };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => WebhookSecretPayload, {
    description: 'a webhook for the events committed from now on; its signing secret is shown only in this answer',
  })
  createWebhook(
    @Arg('input', () => CreateWebhookInput, { description: 'the URL and event types' }) input: CreateWebhookInput,
    @Ctx() { em, services }: Context,
  ): Promise<WebhookSecretPayload> {
    return services.webhooks.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Webhook, { description: "changes a webhook's URL, types or activity" })
  updateWebhook(
    @Arg('id', () => ID, { description: "the webhook's id" }) id: string,
    @Arg('input', () => UpdateWebhookInput, { description: 'the changes' }) input: UpdateWebhookInput,
    @Ctx() { em, services }: Context,
  ): Promise<WebhookRecord> {
    return services.webhooks.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: 'deletes the webhook with its pending deliveries and history; returns its id' })
  deleteWebhook(
    @Arg('id', () => ID, { description: "the webhook's id" }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<string> {
    return services.webhooks.delete(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => WebhookSecretPayload, { description: 'a new signing secret, shown once' })
  rotateWebhookSecret(
    @Arg('id', () => ID, { description: "the webhook's id" }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<WebhookSecretPayload> {
    return services.webhooks.rotateSecret(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: 'deliver this event to this webhook again' })
  redeliverWebhookEvent(
    @Arg('webhookId', () => ID, { description: "the webhook's id" }) webhookId: string,
    @Arg('eventId', () => ID, { description: "the event's id (any event of the public feed the log still keeps)" })
    eventId: string,
    @Ctx() { em, services }: Context,
  ): Promise<boolean> {
    return services.webhooks.redeliver(em, webhookId, eventId);
  }
}
