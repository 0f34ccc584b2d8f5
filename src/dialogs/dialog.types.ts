import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Dialog } from './dialog.entity.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;

  @Field(() => Boolean, {
    description: 'more dialogs before this page: with last, beyond the page; with after, before that cursor; else false',
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "the first edge's cursor (null on an empty page): pass it as before" })
  startCursor!: string | null;
}

@ObjectType()
export class DialogEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Dialog)
  node!: Dialog;
}

@ObjectType()
export class DialogConnection {
  @Field(() => [DialogEdge])
  edges!: DialogEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class QueueStats {
  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => Int)
  queued!: number;

  @Field(() => Int)
  longestWaitSec!: number;

  @Field(() => Int)
  onlineOperators!: number;

  @Field(() => Int)
  freeCapacity!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'share of SL clocks decided in the last 15 minutes that met their target, x100; null when none',
  })
  slPercentLast15m!: number | null;

  @Field(() => Int, { description: "dialogs that reached the group's operators in the last 60 minutes" })
  arrivalsLastHour!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'mean handle time (assignment to close) of dialogs closed in the last 60 minutes, seconds; null when none',
  })
  avgHandleTimeSec!: number | null;
}
