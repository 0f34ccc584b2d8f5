import { Field, ID, ObjectType } from 'type-graphql';
import { SlTimer } from './sl-timer.type.js';

// simpleResolvers: see SlTimer.
@ObjectType({ description: "One dialog's running SL clock.", simpleResolvers: true })
export class SlTick {
  @Field(() => ID, { description: 'the dialog whose clock this is' })
  dialogId!: string;

  @Field(() => ID, { nullable: true, description: "the dialog's group; null when it has none" })
  groupId!: string | null;

  @Field(() => ID, { nullable: true, description: 'who holds the dialog; null while it waits in Help' })
  operatorId!: string | null;

  @Field(() => SlTimer, { description: 'the clock as of serverTime' })
  timer!: SlTimer;
}

@ObjectType({
  description:
    "Every running SL clock in the subscription's scope at one moment. A slow client receives the newest batch, never a backlog.",
  simpleResolvers: true,
})
export class SlTickBatch {
  @Field(() => Date, { description: "the server's time of this batch, for clients to correct their clocks" })
  serverTime!: Date;

  @Field(() => [SlTick], { description: 'every running clock in scope; empty when none runs' })
  timers!: SlTick[];
}
