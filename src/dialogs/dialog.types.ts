import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Dialog } from './dialog.entity.js';

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
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
}
