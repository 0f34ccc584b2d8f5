import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { LiveFigures } from '../sl/live-figures.js';
import type { DialogRecord } from './dialog-record.js';
import { Dialog } from './dialog.entity.js';

@ObjectType({ description: 'Where a page stands in the whole list.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'whether more items follow this page' })
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: "the last item's cursor, to pass as `after` for the next page; null for an empty page",
  })
  endCursor!: string | null;

  @Field(() => Boolean, {
    description: 'more dialogs before this page: with last, beyond the page; with after, before that cursor; else false',
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "the first edge's cursor (null on an empty page): pass it as before" })
  startCursor!: string | null;
}

@ObjectType({ description: 'A dialog in a page, with its cursor.' })
export class DialogEdge {
  @Field(() => String, { description: 'opaque; pass as `after` to continue after this dialog' })
  cursor!: string;

  @Field(() => Dialog, { description: 'the dialog' })
  node!: DialogRecord;
}

@ObjectType({ description: 'One page of dialogs, newest first.' })
export class DialogConnection {
  @Field(() => [DialogEdge], { description: 'the dialogs of this page' })
  edges!: DialogEdge[];

  @Field(() => PageInfo, { description: 'whether there is more' })
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'how many dialogs match the filter in all (every page)' })
  totalCount!: number;
}

@ObjectType({ description: 'The Help queue and operator capacity, now, for one group or the whole server.' })
export class QueueStats {
  @Field(() => ID, { nullable: true, description: 'the group these figures are for; null: the whole server' })
  groupId!: string | null;

  @Field(() => Int, {
    description:
      "the stream's latest sequence when read (queueChanged with this groupId): subscribe with after = this to miss nothing",
  })
  sequence!: number;

  @Field(() => Int, { description: 'dialogs waiting in the Help queue (aimed at the group, with groupId)' })
  queued!: number;

  @Field(() => Int, { description: 'seconds the longest-waiting of them has been queued; 0 when none' })
  longestWaitSec!: number;

  @Field(() => Int, { description: "ONLINE operators (the group's members, with groupId)" })
  onlineOperators!: number;

  @Field(() => Int, { description: 'dialogs those ONLINE operators can still take: the sum of maxDialogs − activeDialogCount' })
  freeCapacity!: number;

  /**
   * The window figures below, read when a client first asks for one of them (one statement for
   * all three): a stream's events that only want the queue and capacity do not count the windows.
   */
  live!: () => Promise<LiveFigures>;

  @Field(() => Float, {
    nullable: true,
    description: 'share of SL clocks decided in the last 15 minutes that met their target, x100; null when none',
  })
  get slPercentLast15m(): Promise<number | null> {
    return this.live().then((figures) => figures.slPercentLast15m);
  }

  @Field(() => Int, { description: "dialogs that reached the group's operators in the last 60 minutes" })
  get arrivalsLastHour(): Promise<number> {
    return this.live().then((figures) => figures.arrivalsLastHour);
  }

  @Field(() => Float, {
    nullable: true,
    description: 'mean handle time (assignment to close) of dialogs closed in the last 60 minutes, seconds; null when none',
  })
  get avgHandleTimeSec(): Promise<number | null> {
    return this.live().then((figures) => figures.avgHandleTimeSec);
  }
}
