import type { EntityManager, QueryResult } from '@mikro-orm/postgresql';
import { recordOf } from '../events/event-record.js';
import type { Clock } from '../shared/clock.js';
import { afterCommit, beforeCommit } from '../shared/transaction.js';
import type { DomainEvent, EventSink } from '../events/domain-event.js';
import { topics, topicsOf } from '../events/topics.js';
import type { SqlFragment } from '../shared/sql.js';
import { isId } from '../shared/validate.js';

/** The NOTIFY channel that wakes listeners; its payload is the newest position, nothing else. */
export const WAKE_CHANNEL = 'handover_events';

/** Conditions on public feed entries; all given ones must hold. */
export interface FeedFilter {
  readonly types?: readonly string[] | null;
  readonly dialogId?: string | null;
  /** The group's dialogs (their group when the event happened) and its members' status. */
  readonly groupId?: string | null;
  /** Dialogs started with this externalId. */
  readonly externalId?: string | null;
}

/** One event as read back from the log. */
export interface LogEntry {
  /** Global, in commit order, without gaps. */
  readonly position: number;
  readonly type: string;
  /** Part of the public feed (Query.events, webhooks). */
  readonly feed: boolean;
  readonly at: Date;
  readonly dialogId: string | null;
  readonly messageId: string | null;
  readonly transferId: string | null;
  readonly operatorId: string | null;
  /** The dialog's group when the event happened. */
  readonly groupId: string | null;
  /** The transaction that wrote it (PostgreSQL xid8). */
  readonly tx: bigint;
  /** This event's sequence number on each of its topics. */
  readonly topics: Readonly<Record<string, number>>;
  readonly event: DomainEvent;
}

interface EntryRow {
  position: string;
  tx: string;
  type: string;
  feed: boolean;
  /** The driver hands timestamps over as text. */
  at: Date | string;
  dialog_id: string | null;
  message_id: string | null;
  transfer_id: string | null;
  operator_id: string | null;
  group_id: string | null;
  topics: Record<string, string | number>;
  body: DomainEvent;
}

const ENTRY_COLUMNS =
  'l.position, l.tx::text as tx, l.type, l.feed, l.at, l.dialog_id, l.message_id, l.transfer_id, l.operator_id, l.group_id, l.topics, l.body';

function entryOf(row: EntryRow): LogEntry {
  const topics: Record<string, number> = {};
  for (const [topic, seq] of Object.entries(row.topics)) topics[topic] = Number(seq);
  return {
    position: Number(row.position),
    tx: BigInt(row.tx),
    type: row.type,
    feed: row.feed,
    at: new Date(row.at),
    dialogId: row.dialog_id,
    messageId: row.message_id,
    transferId: row.transfer_id,
    operatorId: row.operator_id,
    groupId: row.group_id,
    topics,
    event: row.body,
  };
}

/**
 * Where resuming after `after` stands, given the newest number handed out and the oldest still
 * kept (null when none is kept): past the newest is 'ahead'; a gap before the oldest is 'expired'.
 */
function resumeState(after: number, newest: number, oldestKept: string | null | undefined): 'ok' | 'expired' | 'ahead' {
  if (after > newest) return 'ahead';
  const oldest = oldestKept == null ? newest + 1 : Number(oldestKept);
  return after + 1 < oldest ? 'expired' : 'ok';
}

/** What one transaction has published. */
interface TransactionEvents {
  /** Not yet written: appended at commit, or by the next statement that takes them. */
  readonly unwritten: DomainEvent[];
  /** Everything, in order: announced once the transaction commits. */
  readonly all: DomainEvent[];
}

/**
 * The event log (outbox): a transaction's events are appended as its last statement (or by one
 * of its statements that takes them: appendWithin), so they commit or roll back with the change.
 * They are appended unnumbered (no lock, no NOTIFY: writers never wait for each other here); the
 * sequencer (LogEventBus) numbers them once committed.
 */
export class EventLog implements EventSink {
  private readonly byTransaction = new WeakMap<EntityManager, TransactionEvents>();
  private readonly appendedListeners = new Set<(events: readonly DomainEvent[]) => void>();
  /** The last snapshot read: subscribers starting while no transaction ends share one object. */
  private lastSnapshot: { readonly text: string; readonly snapshot: Snapshot } | null = null;

  constructor(private readonly clock: Clock) {}

  async publish(tx: EntityManager, event: DomainEvent): Promise<void> {
    const events = this.eventsOf(tx);
    events.unwritten.push(event);
    events.all.push(event);
  }

  appendWithin(tx: EntityManager, events: readonly DomainEvent[]): SqlFragment {
    const published = this.eventsOf(tx);
    const batch = [...published.unwritten.splice(0), ...events];
    published.all.push(...events);
    return this.appendQuery(batch);
  }

  /** `tx`'s events; on first use, arranges for the unwritten ones to be written before commit. */
  private eventsOf(tx: EntityManager): TransactionEvents {
    const known = this.byTransaction.get(tx);
    if (known) return known;
    const events: TransactionEvents = { unwritten: [], all: [] };
    this.byTransaction.set(tx, events);
    beforeCommit(tx, this, async () => {
      if (events.unwritten.length) await this.append(tx, events.unwritten.splice(0));
    });
    afterCommit(tx, () => this.announce(events.all));
    return events;
  }

  /**
   * Called after each commit that appended events on this process, with those events, before
   * the transaction's caller goes on (it wakes the sequencer; it evicts cached viewers at once).
   */
  onAppended(listener: (events: readonly DomainEvent[]) => void): () => void {
    this.appendedListeners.add(listener);
    return () => this.appendedListeners.delete(listener);
  }

  async changeAlone<R extends object>(em: EntityManager, change: SqlFragment, events: readonly DomainEvent[]): Promise<R[]> {
    // A SELECT in WITH runs only as far as the outer query reads it: the join makes it run,
    // once, and only when the change returned a row.
    const appended = this.appendQuery(events);
    const rows = await em.execute<R[]>(
      `with changed as (${change.sql}),
            appended as (${appended.sql} where exists (select 1 from changed))
       select changed.* from changed, appended`,
      [...change.params, ...appended.params],
    );
    if (rows.length) this.announce(events);
    return rows;
  }

  /** Tells the onAppended listeners of events this process has just committed. */
  private announce(events: readonly DomainEvent[]): void {
    for (const listener of this.appendedListeners) listener(events);
  }

  private async append(tx: EntityManager, events: readonly DomainEvent[]): Promise<void> {
    const { sql, params } = this.appendQuery(events);
    await tx.execute(sql, [...params]);
  }

  /** The query that appends `events`, as the log records them. */
  private appendQuery(events: readonly DomainEvent[]): SqlFragment {
    const at = this.clock.now().toISOString();
    const batch = events.map((event) => ({ ...recordOf(event), at, topics: topicsOf(event), body: event }));
    return { sql: 'select append_events(?::jsonb)', params: [JSON.stringify(batch)] };
  }

  /** Which transactions had committed when this was called (a PostgreSQL snapshot). */
  async snapshot(em: EntityManager): Promise<Snapshot> {
    const [row] = await em.execute<Array<{ s: string }>>('select pg_current_snapshot()::text as s');
    if (this.lastSnapshot?.text !== row.s) this.lastSnapshot = { text: row.s, snapshot: Snapshot.parse(row.s) };
    return this.lastSnapshot.snapshot;
  }

  /**
   * Numbers every event committed so far (what the sequencer would do within milliseconds), so
   * that the head read after it in the same transaction covers them all.
   */
  async numberCommitted(em: EntityManager): Promise<void> {
    await em.execute('select number_events(?)', [1_000_000]);
  }

  /** The newest committed position (0 for an empty log). */
  async head(em: EntityManager): Promise<number> {
    const [row] = await em.execute<Array<{ position: string }>>('select position from event_log_head');
    return Number(row?.position ?? 0);
  }

  /** Entries after `position`, oldest first. */
  async readAfter(em: EntityManager, position: number, limit: number): Promise<LogEntry[]> {
    const rows = await em.execute<EntryRow[]>(
      `select ${ENTRY_COLUMNS} from event_log l where l.position > ? order by l.position limit ?`,
      [position, limit],
    );
    return rows.map(entryOf);
  }

  /** Public feed entries after `after` (and up to `upTo`) that match `filter`, oldest first. */
  async readFeed(em: EntityManager, after: number, upTo: number | null, filter: FeedFilter, limit: number): Promise<LogEntry[]> {
    const where = ['l.feed', 'l.position > ?'];
    const params: unknown[] = [after];
    const add = (condition: string, ...values: unknown[]): void => {
      where.push(condition);
      params.push(...values);
    };
    if (upTo !== null) add('l.position <= ?', upTo);
    // JSON, because the driver would spread an array binding into a list.
    if (filter.types?.length) add('l.type in (select jsonb_array_elements_text(?::jsonb))', JSON.stringify(filter.types));
    // A malformed id names nothing, so its filter matches nothing (as matchesFeed's comparison does).
    if (filter.dialogId != null) {
      if (isId(filter.dialogId)) add('l.dialog_id = ?', filter.dialogId);
      else add('false');
    }
    if (filter.groupId != null) {
      if (isId(filter.groupId))
        add('(l.group_id = ? or jsonb_exists(l.topics, ?))', filter.groupId, topics.groupOperatorStatus(filter.groupId));
      else add('false');
    }
    if (filter.externalId != null) add('l.dialog_id in (select id from dialogs where external_id = ?)', filter.externalId);
    const rows = await em.execute<EntryRow[]>(
      `select ${ENTRY_COLUMNS} from event_log l where ${where.join(' and ')} order by l.position limit ?`,
      [...params, limit],
    );
    return rows.map(entryOf);
  }

  /** The entries at these positions that the log still holds, in position order. */
  async readAt(em: EntityManager, positions: readonly number[]): Promise<LogEntry[]> {
    if (!positions.length) return [];
    const rows = await em.execute<EntryRow[]>(
      `select ${ENTRY_COLUMNS} from event_log l where l.position = any(?::bigint[]) order by l.position`,
      // An array literal: the query builder would spread a JS array into a list of values.
      [`{${positions.join(',')}}`],
    );
    return rows.map(entryOf);
  }

  /** Entries of `topic` with a sequence above `afterSeq` and a position up to `upTo`, in order. */
  async readTopic(em: EntityManager, topic: string, afterSeq: number, upTo: number, limit: number): Promise<LogEntry[]> {
    const rows = await em.execute<EntryRow[]>(
      `select ${ENTRY_COLUMNS} from event_topic_entries t join event_log l on l.position = t.position
        where t.topic = ? and t.seq > ? and t.position <= ? order by t.seq limit ?`,
      [topic, afterSeq, upTo, limit],
    );
    return rows.map(entryOf);
  }

  /**
   * Where a resume from `after` stands: 'expired' when events after it were already pruned,
   * 'ahead' when it names a position the log never reached.
   */
  async checkResume(em: EntityManager, after: number): Promise<'ok' | 'expired' | 'ahead'> {
    const [row] = await em.execute<Array<{ head: string; oldest: string | null }>>(
      `select h.position as head, (select min(position) from event_log) as oldest from event_log_head h`,
    );
    return resumeState(after, Number(row?.head ?? 0), row?.oldest);
  }

  /** The same for a topic's sequence. */
  async checkTopicResume(em: EntityManager, topic: string, after: number): Promise<'ok' | 'expired' | 'ahead'> {
    const [row] = await em.execute<Array<{ seq: string | null; oldest: string | null }>>(
      `select (select seq from event_topics where topic = ?) as seq,
              (select min(seq) from event_topic_entries where topic = ?) as oldest`,
      [topic, topic],
    );
    return resumeState(after, Number(row?.seq ?? 0), row?.oldest);
  }

  /**
   * Drops events older than `before`, their topic entries, and the sequence rows of dialog
   * topics left without entries (a closed dialog's stream ends). Returns the events removed.
   */
  async prune(em: EntityManager, before: Date): Promise<number> {
    const [edge] = await em.execute<Array<{ position: string | null }>>(
      'select max(position) as position from event_log where at < ?',
      [before],
    );
    if (edge?.position == null) return 0;
    const upTo = Number(edge.position);
    const removed = await em.execute<QueryResult>('delete from event_log where position <= ?', [upTo], 'run');
    await em.execute('delete from event_topic_entries where position <= ?', [upTo]);
    await em.execute(
      `delete from event_topics t using dialogs d
        where t.topic like 'dialog:%' and d.id::text = substring(t.topic from 8) and d.status = 'CLOSED'
          and t.last_position <= ?`,
      [upTo],
    );
    return removed.affectedRows;
  }
}

/**
 * The same conditions as readFeed's, for live entries. `externalIdOf` reads a dialog's externalId
 * (which never changes once started).
 */
export async function matchesFeed(
  entry: LogEntry,
  filter: FeedFilter,
  externalIdOf: (dialogId: string) => Promise<string | null>,
): Promise<boolean> {
  if (!entry.feed) return false;
  if (filter.types?.length && !filter.types.includes(entry.type)) return false;
  if (filter.dialogId != null && entry.dialogId !== filter.dialogId) return false;
  if (filter.groupId != null && entry.groupId !== filter.groupId && !(topics.groupOperatorStatus(filter.groupId) in entry.topics))
    return false;
  if (filter.externalId != null) {
    if (entry.dialogId === null || (await externalIdOf(entry.dialogId)) !== filter.externalId) return false;
  }
  return true;
}

/**
 * A PostgreSQL snapshot (`xmin:xmax:xip,…`): tells whether a transaction had committed (or
 * aborted) when it was taken, as `pg_visible_in_snapshot` does.
 */
export class Snapshot {
  private constructor(
    private readonly xmin: bigint,
    private readonly xmax: bigint,
    private readonly running: ReadonlySet<bigint>,
  ) {}

  static parse(text: string): Snapshot {
    const [xmin, xmax, xip = ''] = text.split(':');
    return new Snapshot(BigInt(xmin), BigInt(xmax), new Set(xip ? xip.split(',').map((x) => BigInt(x)) : []));
  }

  /** Whether transaction `tx` had finished when the snapshot was taken. */
  sees(tx: bigint): boolean {
    return tx < this.xmin || (tx < this.xmax && !this.running.has(tx));
  }
}
