import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { DomainEvent } from '../events/domain-event.js';
import { WAKE_CHANNEL, type EventLog, type LogEntry } from './event-log.js';

const RETRY_MS = 1000;
/** Entries read per round trip while catching up. */
const PAGE = 1000;
/** Events the sequencer numbers per transaction. */
const SEQUENCE_BATCH = 1000;
/**
 * How often the sequencer looks for events committed by other processes (this process's own
 * commits wake it at once); and how often the other processes try to take its place.
 */
const SEQUENCER_POLL_MS = 20;
const SEQUENCER_TAKEOVER_MS = 1000;
/** The session advisory lock that makes one process at a time the sequencer. */
const SEQUENCER_LOCK = 'handover-event-sequencer';
/** How the listener's connection shows up in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'handover-events';

/**
 * What every subscriber of one event on this process shares: one EntityManager fork and a memo,
 * so 500 subscribers cost the queries of one.
 */
export class EventScope {
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly values = new Map<string, unknown>();
  private forked: EntityManager | undefined;

  constructor(private readonly source: { fork(): EntityManager }) {}

  /** This event's fork, made on first use: most events reach no handler that reads. */
  get em(): EntityManager {
    this.forked ??= this.source.fork();
    return this.forked;
  }

  /** Creates `key`'s value once for this event (e.g. the loaders every subscriber resolves with). */
  shared<T>(key: string, create: () => T): T {
    let value = this.values.get(key) as T | undefined;
    if (value === undefined) {
      value = create();
      this.values.set(key, value);
    }
    return value;
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
  /** Per-topic, increasing by one in commit order. */
  readonly sequence: number;
  /** Global position in the log. */
  readonly position: number;
  readonly event: DomainEvent;
  readonly entry: LogEntry;
  readonly scope: EventScope;
}

export type DeliveryHandler = (delivery: Delivery) => void;
export type EntryHandler = (entry: LogEntry, scope: EventScope) => void;

/** Where subscriptions listen. Implementations deliver every committed event once, in commit order. */
export interface EventBus {
  subscribe(topic: string, handler: DeliveryHandler): () => void;
  /** Every entry of the log, topics or not. */
  subscribeAll(handler: EntryHandler): () => void;
  /** The position of the last entry delivered on this process: every later delivery is above it. */
  position(): number;
  /** Live handlers (for leak checks and metrics). */
  handlerCount(): number;
  /** Whether wake-ups are being received right now. */
  isListening(): boolean;
  /** Whether the listener's connection answers a statement now: a silent network leaves it open for hours. */
  listenerAnswers(): Promise<boolean>;
  /** Whether this process numbers the log's events now (one process at a time does). */
  isSequencer(): boolean;
  /** Where the log itself is read (resume, replay). */
  readonly log: EventLog;
  /** A fresh fork for reading the log and resolving replayed events. */
  fork(): EntityManager;
}

/**
 * Follows the event log on this process. NOTIFY only wakes it (its payload is the newest
 * position); it then reads every entry after the last one it delivered, in position order, and
 * delivers them. A lost connection or a missed wake-up loses nothing: the next read catches up.
 *
 * One process at a time is also the sequencer: its listener connection holds a session advisory
 * lock, and it numbers committed events (number_events) as they appear, waking every listener.
 * If that process or its connection goes, the lock goes with it and another process takes over.
 * The listener needs a direct (session) connection: not through a transaction-mode pooler.
 */
export class LogEventBus implements EventBus {
  private readonly handlers = new Map<string, Set<DeliveryHandler>>();
  private readonly allHandlers = new Set<EntryHandler>();
  private readonly listeningHandlers = new Set<(listening: boolean) => void>();
  private listener: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private delivered = 0;
  private reading: Promise<void> | null = null;
  /** The highest position someone asked to have delivered since the current read began. */
  private wantedHead = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** This process's listener connection holds the sequencer lock. */
  private sequencer = false;
  private sequencing: Promise<void> | null = null;
  private sequenceAgain = false;
  /** The head this process's last numbering left; null before its first. */
  private sequencedHead: number | null = null;
  private sequencerTimer: NodeJS.Timeout | null = null;

  /** The log's own reads are statements only, so one fork serves them all: its identity map stays empty. */
  private readonly reader: EntityManager;

  constructor(
    private readonly databaseUrl: string,
    private readonly rootEm: EntityManager,
    readonly log: EventLog,
    private readonly warn: (message: string) => void,
  ) {
    this.reader = rootEm.fork();
  }

  async start(): Promise<void> {
    this.delivered = await this.log.head(this.reader);
    this.listener = await this.connect();
    this.log.onAppended(() => this.sequenceSoon());
    this.scheduleSequencer(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [this.reconnectTimer, this.retryTimer, this.sequencerTimer]) if (timer) clearTimeout(timer);
    this.reconnectTimer = this.retryTimer = this.sequencerTimer = null;
    await this.sequencing;
    const client = this.listener;
    this.listener = null;
    // A connection that already broke has nothing left to close (its advisory lock went with it).
    await client?.end().catch(() => undefined);
    await this.reading;
  }

  isListening(): boolean {
    return this.listener !== null;
  }

  listenerAnswers(): Promise<boolean> {
    const client = this.listener;
    return client === null
      ? Promise.resolve(false)
      : client.query('select 1').then(
          () => true,
          () => false,
        );
  }

  /**
   * Calls `handler` when the listener connection is lost (false) and when it is back (true),
   * before the catch-up: events committed meanwhile arrive late, not never.
   */
  onListeningChanged(handler: (listening: boolean) => void): () => void {
    this.listeningHandlers.add(handler);
    return () => this.listeningHandlers.delete(handler);
  }

  private listeningChanged(listening: boolean): void {
    for (const handler of [...this.listeningHandlers]) this.guard(() => handler(listening));
  }

  position(): number {
    return this.delivered;
  }

  fork(): EntityManager {
    return this.rootEm.fork();
  }

  /**
   * Reads and delivers everything numbered up to `head` (everything, when the caller cannot know),
   * now or once the current read ends; a head already delivered costs no read.
   */
  catchUp(head = Number.POSITIVE_INFINITY): void {
    if (this.stopped || head <= this.delivered) return;
    this.wantedHead = Math.max(this.wantedHead, head);
    this.reading ??= this.readAll().finally(() => {
      this.reading = null;
    });
  }

  /** Whether this process numbers the log's events now. */
  isSequencer(): boolean {
    return this.sequencer;
  }

  /** Numbers what was committed (now, or once the current round ends), if this process is the sequencer. */
  private sequenceSoon(): void {
    if (this.stopped || !this.sequencer) return;
    if (this.sequencing) {
      this.sequenceAgain = true;
      return;
    }
    this.sequencing = this.sequenceAll()
      .catch((error: unknown) => {
        // The next round (SEQUENCER_POLL_MS) tries again; a lost connection also ends the role.
        if (!this.stopped) this.warn(`numbering events failed: ${String(error)}`);
      })
      .finally(() => {
        this.sequencing = null;
      });
  }

  private scheduleSequencer(delayMs: number): void {
    if (this.stopped || this.sequencerTimer) return;
    this.sequencerTimer = setTimeout(() => {
      this.sequencerTimer = null;
      void this.sequencerRound();
    }, delayMs);
  }

  /** One tick: take the sequencer's lock if free, number what is pending, then tick again. */
  private async sequencerRound(): Promise<void> {
    const client = this.listener;
    try {
      if (client && !this.sequencer) {
        const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [
          SEQUENCER_LOCK,
        ]);
        // The connection may have been replaced meanwhile; the lock belongs to the one asked.
        if (rows[0]?.ok && client === this.listener) this.sequencer = true;
      }
      if (this.sequencer) {
        this.sequenceSoon();
        await this.sequencing;
      }
    } catch (error) {
      if (!this.stopped) this.warn(`event sequencer round failed: ${String(error)}`);
    }
    this.scheduleSequencer(this.sequencer ? SEQUENCER_POLL_MS : SEQUENCER_TAKEOVER_MS);
  }

  private async sequenceAll(): Promise<void> {
    const client = this.listener;
    if (!client) return;
    do {
      this.sequenceAgain = false;
      for (;;) {
        const { rows } = await client.query<{ head: string | null }>('select number_events($1) as head', [SEQUENCE_BATCH]);
        const head = rows[0]?.head;
        if (head == null || this.stopped) break;
        // Its own NOTIFY reaches this listener too; reading now saves the round trip.
        this.catchUp(Number(head));
        // A batch short of full numbered everything pending: asking again would find nothing
        // (later commits poke or poll again). The head advances by the batch's size unless
        // another sequencer numbered in between, which only costs one more call.
        const numbered = this.sequencedHead === null ? SEQUENCE_BATCH : Number(head) - this.sequencedHead;
        this.sequencedHead = Number(head);
        if (numbered < SEQUENCE_BATCH) break;
      }
    } while (this.sequenceAgain && !this.stopped);
  }

  private async readAll(): Promise<void> {
    try {
      do {
        this.wantedHead = 0;
        for (;;) {
          const entries = await this.log.readAfter(this.reader, this.delivered, PAGE);
          for (const entry of entries) this.dispatch(entry);
          if (entries.length < PAGE || this.stopped) break;
        }
        // A wake-up that arrived during the read often asked for what the read brought anyway.
      } while (this.wantedHead > this.delivered && !this.stopped);
    } catch (error) {
      if (this.stopped) return;
      this.warn(`reading the event log failed: ${String(error)}`);
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        this.catchUp();
      }, RETRY_MS);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      // A silently dropped connection (NAT, firewall) is noticed instead of waiting forever: the
      // kernel's probes start after 10 s of silence (its default is two hours).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: LISTENER_APPLICATION_NAME,
    });
    const lost = (reason: string): void => {
      if (this.listener !== client) return;
      this.warn(`event listener lost its connection: ${reason}`);
      this.listener = null;
      // The advisory lock went with the connection: another process may be the sequencer now.
      this.sequencer = false;
      this.listeningChanged(false);
      this.scheduleReconnect();
    };
    client.on('notification', (message) => {
      if (message.channel === WAKE_CHANNEL) this.catchUp(Number(message.payload));
    });
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    try {
      await client.connect();
      await client.query(`listen ${WAKE_CHANNEL}`);
    } catch (error) {
      // The connect or listen failure is the one to report.
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** Retries until connected again (or stopped); then reads what was committed meanwhile. */
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
          this.warn('event listener reconnected; catching up from the log');
          this.listeningChanged(true);
          this.catchUp();
        },
        (error: Error) => {
          this.reconnectTimer = null;
          this.warn(`event listener reconnect failed: ${error.message}`);
          this.scheduleReconnect();
        },
      );
    }, RETRY_MS);
  }

  private dispatch(entry: LogEntry): void {
    // Set first: a subscriber registering from inside a handler must see this entry as delivered.
    this.delivered = entry.position;
    let scope: EventScope | undefined;
    const shared = (): EventScope => (scope ??= new EventScope(this));
    for (const handler of [...this.allHandlers]) {
      this.guard(() => handler(entry, shared()));
    }
    for (const [topic, sequence] of Object.entries(entry.topics)) {
      const set = this.handlers.get(topic);
      if (!set?.size) continue;
      const delivery: Delivery = { topic, sequence, position: entry.position, event: entry.event, entry, scope: shared() };
      for (const handler of [...set]) {
        // As guard() does, without a closure per handler: a topic may have thousands.
        try {
          handler(delivery);
        } catch (error) {
          this.handlerFailed(error);
        }
      }
    }
  }

  /** One failing handler must not keep the event from the others (or crash the process). */
  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  private handlerFailed(error: unknown): void {
    this.warn(`event handler failed: ${String(error)}`);
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

  subscribeAll(handler: EntryHandler): () => void {
    this.allHandlers.add(handler);
    return () => this.allHandlers.delete(handler);
  }

  handlerCount(): number {
    let n = this.allHandlers.size;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }
}
