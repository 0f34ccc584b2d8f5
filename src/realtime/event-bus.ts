import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { Loaders } from '../loaders.js';
import { beforeCommit } from '../shared/transaction.js';
import type { DomainEvent, EventSink } from './events.js';
import { topicsOf } from './topics.js';

const CHANNEL = 'handover_events';
/** Subscribe to this to see every event once (e.g. to keep an in-memory index in step). */
export const ALL_TOPICS = '*';
const RECONNECT_MS = 1000;
/** How the listener's connection shows up in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'handover-events';

/**
 * What every subscriber of one event on this process shares: one EntityManager fork and one
 * set of DataLoaders, so 500 subscribers cost the queries of one.
 */
export class EventScope {
  readonly loaders: Loaders;
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(readonly em: EntityManager) {
    this.loaders = new Loaders(em);
  }

  /** Computes `key` once for this event. */
  once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let value = this.memo.get(key) as Promise<T> | undefined;
    if (!value) {
      value = compute();
      this.memo.set(key, value);
    }
    return value;
  }
}

/** One committed event as seen on one topic. */
export interface Delivery {
  readonly topic: string;
  /** Per-topic, increasing in commit order; a gap means events were missed. */
  readonly sequence: number;
  readonly event: DomainEvent;
  readonly scope: EventScope;
}

export type DeliveryHandler = (delivery: Delivery) => void;

/** Where subscriptions listen. Implementations deliver each topic's events in commit order. */
export interface EventBus {
  subscribe(topic: string, handler: DeliveryHandler): () => void;
  /** Live handlers (for leak checks and metrics). */
  handlerCount(): number;
  /**
   * Called after the listener reconnected: events committed while it was away are lost, so
   * state kept in step by events must be re-read. Returns an unsubscribe function.
   */
  onReconnect(handler: () => void): () => void;
  /** Whether events are being received right now. */
  isListening(): boolean;
}

interface Notification {
  /** [topic, sequence] pairs */
  readonly s: Array<[string, number]>;
  readonly e: DomainEvent;
}

/**
 * PostgreSQL LISTEN/NOTIFY as the event bus: events are buffered per transaction, numbered
 * per topic and NOTIFYed just before commit, so Postgres delivers them to every server
 * process only if (and once) the transaction commits, in commit order.
 * The listener needs a direct (session) connection: not through a transaction-mode pooler.
 */
export class PgEventBus implements EventBus, EventSink {
  private readonly handlers = new Map<string, Set<DeliveryHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private readonly pending = new WeakMap<EntityManager, DomainEvent[]>();
  private listener: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly rootEm: EntityManager,
    private readonly log: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    this.listener = await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.listener;
    this.listener = null;
    // A connection that already broke has nothing left to close.
    await client?.end().catch(() => undefined);
  }

  isListening(): boolean {
    return this.listener !== null;
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      // A silently dropped connection (NAT, firewall) is noticed instead of waiting forever.
      keepAlive: true,
      application_name: LISTENER_APPLICATION_NAME,
    });
    const lost = (reason: string): void => {
      if (this.listener !== client) return;
      this.log(`event listener lost its connection: ${reason}`);
      this.listener = null;
      this.scheduleReconnect();
    };
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.dispatch(message.payload);
    });
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
    } catch (error) {
      // The connect or listen failure is the one to report.
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** Retries until connected again (or stopped); then tells onReconnect handlers. */
  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        (client) => {
          this.reconnectTimer = null;
          if (this.stopped) {
            // Stopped while reconnecting: nobody waits for this spare connection to close.
            void client.end().catch(() => undefined);
            return;
          }
          this.listener = client;
          this.log('event listener reconnected');
          for (const handler of [...this.reconnectHandlers]) {
            try {
              handler();
            } catch (error) {
              this.log(`reconnect handler failed: ${String(error)}`);
            }
          }
        },
        (error: Error) => {
          this.reconnectTimer = null;
          this.log(`event listener reconnect failed: ${error.message}`);
          this.scheduleReconnect();
        },
      );
    }, RECONNECT_MS);
  }

  async publish(tx: EntityManager, event: DomainEvent): Promise<void> {
    let buffer = this.pending.get(tx);
    if (!buffer) {
      buffer = [];
      this.pending.set(tx, buffer);
      const events = buffer;
      beforeCommit(tx, this, () => this.flush(tx, events));
    }
    buffer.push(event);
  }

  /**
   * Numbers the transaction's events per topic and NOTIFYs them, in one statement: the topics'
   * sequences advance (rows locked in topic order, so concurrent transactions queue rather than
   * deadlock), each event gets the next number on each of its topics, and the notifications go
   * out in the order the events happened.
   */
  private async flush(tx: EntityManager, events: readonly DomainEvent[]): Promise<void> {
    const input = events.map((event) => ({ t: topicsOf(event), e: event }));
    if (!input.some((i) => i.t.length > 0)) return;
    await tx.execute(
      `with input as (
         select e.ord, e.value -> 'e' as event, e.value -> 't' as topics
           from json_array_elements(?::json) with ordinality as e(value, ord)
       ), mentions as (
         select i.ord, t.topic, t.pos,
                row_number() over (partition by t.topic order by i.ord) as nth,
                count(*) over (partition by t.topic) as per_topic
           from input i, json_array_elements_text(i.topics) with ordinality as t(topic, pos)
       ), advanced as (
         insert into event_topics (topic, seq)
         select topic, count(*) from mentions group by topic order by topic
         on conflict (topic) do update set seq = event_topics.seq + excluded.seq
         returning topic, seq
       ), numbered as (
         select m.ord, json_agg(json_build_array(m.topic, a.seq - m.per_topic + m.nth) order by m.pos) as s
           from mentions m join advanced a using (topic)
          group by m.ord
       )
       select pg_notify('${CHANNEL}', json_build_object('s', n.s, 'e', i.event)::text)
         from numbered n join input i using (ord)
        order by n.ord`,
      [JSON.stringify(input)],
    );
  }

  private dispatch(payload: string): void {
    let note: Notification;
    try {
      note = JSON.parse(payload) as Notification;
    } catch {
      this.log('ignoring a malformed event notification');
      return;
    }
    let scope: EventScope | undefined;
    const everything = this.handlers.get(ALL_TOPICS);
    if (everything?.size && note.s.length) {
      scope = new EventScope(this.rootEm.fork());
      const [topic, sequence] = note.s[0];
      for (const handler of [...everything]) this.deliver(handler, { topic, sequence, event: note.e, scope });
    }
    for (const [topic, sequence] of note.s) {
      const set = this.handlers.get(topic);
      if (!set?.size) continue;
      scope ??= new EventScope(this.rootEm.fork());
      for (const handler of [...set]) this.deliver(handler, { topic, sequence, event: note.e, scope });
    }
  }

  /** One failing handler must not keep the event from the others (or crash the process). */
  private deliver(handler: DeliveryHandler, delivery: Delivery): void {
    try {
      handler(delivery);
    } catch (error) {
      this.log(`event handler failed: ${String(error)}`);
    }
  }

  subscribe(topic: string, handler: DeliveryHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    return () => {
      const current = this.handlers.get(topic);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) this.handlers.delete(topic);
    };
  }

  handlerCount(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}
