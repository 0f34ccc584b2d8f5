import { DateTimeResolver } from 'graphql-scalars';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type ClassType, type NonEmptyArray } from 'type-graphql';
import { authChecker } from './auth/auth-checker.js';
import { AuthResolver } from './auth/auth.resolver.js';
import { GroupResolver } from './groups/group.resolver.js';
import { OperatorResolver } from './operators/operator.resolver.js';
import { ScenarioResolver } from './scenarios/scenario.resolver.js';
import { UserResolver } from './users/user.resolver.js';
import { DialogResolver, DialogTransferResolver, MessageResolver } from './dialogs/dialog.resolver.js';
import { SubscriptionResolver } from './realtime/subscription.resolver.js';
import { OperatorEventResolver } from './realtime/operator-event.resolver.js';
import { SlTicksResolver } from './sl/sl-ticks.resolver.js';
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
  SubscriptionResolver,
  OperatorEventResolver,
  SlTicksResolver,
  SlReportResolver,
  StaffingResolver,
  WebhookResolver,
];

let built: Promise<GraphQLSchema> | undefined;

/** The executable schema, built once per process from the decorated classes. */
export function handoverSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers,
    authChecker,
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Every subscription brings its own stream from the event bus; topic-based PubSub is unused.
    pubSub: {
      publish: () => {
        throw new Error('use the event bus');
      },
      subscribe: () => {
        throw new Error('use the event bus');
      },
    },
  }).then(guardArguments);
  return built;
}

/** The SDL committed as schema.graphql. Sorted, so the file only changes when the API does. */
export function printHandoverSchema(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema\`. Do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
