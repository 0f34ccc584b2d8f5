import { DateTimeResolver } from 'graphql-scalars';
import { GraphQLScalarType, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ClassType, type NonEmptyArray } from 'type-graphql';
import { authChecker } from './auth/auth-checker.js';
import { AuthResolver } from './auth/auth.resolver.js';
import { GroupResolver } from './groups/group.resolver.js';
import { OperatorResolver } from './operators/operator.resolver.js';
import { ScenarioResolver } from './scenarios/scenario.resolver.js';
import { UserResolver } from './users/user.resolver.js';
import { DialogResolver, DialogTransferResolver, MessageResolver } from './dialogs/dialog.resolver.js';
import { DialogSubscriptionsResolver } from './dialogs/dialog-subscriptions.resolver.js';
import { OperatorStatusSubscriptionResolver } from './operators/operator-status.subscription.js';
import { OperatorEventResolver } from './operators/operator-status-sequence.resolver.js';
import { SlTicksResolver } from './sl/sl-ticks.resolver.js';
import { EventResolver } from './events/event.resolver.js';
import { SlReportResolver } from './sl/sl-report.resolver.js';
import { StaffingResolver } from './sl/staffing.resolver.js';
import { WebhookResolver } from './webhooks/webhook.resolver.js';
import { guardArguments } from './shared/storable-input.js';

const resolvers: NonEmptyArray<ClassType> = [
  GroupResolver,
  OperatorResolver,
  UserResolver,
  ScenarioResolver,
  AuthResolver,
  DialogResolver,
  MessageResolver,
  DialogTransferResolver,
  DialogSubscriptionsResolver,
  OperatorStatusSubscriptionResolver,
  OperatorEventResolver,
  SlTicksResolver,
  SlReportResolver,
  StaffingResolver,
  EventResolver,
  WebhookResolver,
];

/** graphql-scalars' DateTime with the contract's wording. */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  description:
    'An RFC 3339 date-time, e.g. 2026-11-23T12:00:00.000Z. Answers are in UTC with milliseconds; inputs may carry any offset.',
});

let built: Promise<GraphQLSchema> | undefined;

/** The executable schema, built once per process from the decorated classes. */
export function handoverSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers,
    authChecker,
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTime }],
    // Every subscription brings its own stream from the event bus; topic-based PubSub is unused.
    pubSub: {
      publish: () => {
        throw new Error('use the event bus');
      },
      subscribe: () => {
        throw new Error('use the event bus');
      },
    },
  })
    .then(describeRootTypes)
    .then(guardArguments);
  return built;
}

/**
 * type-graphql builds the root types itself and gives them no description option; set here,
 * next to the rest of the schema's text, so every type in schema.graphql has one.
 */
function describeRootTypes(schema: GraphQLSchema): GraphQLSchema {
  const descriptions = [
    [
      schema.getQueryType(),
      'Reads. Every field needs a token (`Authorization: Bearer <token>`); a field that names no roles is open to every role.',
    ],
    [
      schema.getMutationType(),
      'Changes, each in one transaction: a failed mutation changes nothing. Only login works without a token; a field that names no roles is open to every role.',
    ],
    [
      schema.getSubscriptionType(),
      'Live streams over WebSocket (graphql-ws) on /graphql; over HTTP a subscription answers BAD_REQUEST. Events are sent only after their change committed. A field that names no roles is open to every role.',
    ],
  ] as const;
  for (const [type, description] of descriptions) if (type) type.description = description;
  return schema;
}

/** The SDL committed as schema.graphql. Sorted, so the file only changes when the API does. */
export function printHandoverSchema(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema\`. Do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
