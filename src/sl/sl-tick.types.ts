import { Field, ID, ObjectType } from 'type-graphql';
import { SlTimer } from './sl-timer.type.js';

@ObjectType()
export class SlTick {
  @Field(() => ID)
  dialogId!: string;

  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => ID, { nullable: true })
  operatorId!: string | null;

  @Field(() => SlTimer)
  timer!: SlTimer;
}

@ObjectType()
export class SlTickBatch {
  @Field(() => Date, { description: "the server's time of this batch, for clients to correct their clocks" })
  serverTime!: Date;

  @Field(() => [SlTick])
  timers!: SlTick[];
}
