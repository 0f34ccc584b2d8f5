import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventBus } from '../realtime/event-bus.js';
import type { Clock } from '../shared/clock.js';
import { pgDate } from '../shared/pg-time.js';
import type { SlKind } from './sl-kind.js';
import type { SlTick, SlTickBatch } from './sl-tick.types.js';
import { slTimerAt } from './sl-timer.type.js';
import { loggable, type Logger } from '../shared/logger.js';

export const MIN_TICK_INTERVAL_MS = 250;
export const DEFAULT_TICK_INTERVAL_MS = 1000;
/** A full re-read now and then, as a backstop to the refreshes the event bus drives. */
const RESYNC_MS = 60_000;

/** A running SL clock as the ticker keeps it in memory. */
export interface RunningClock {
  readonly dialogId: string;
  readonly groupId: string | null;
  /** null while the dialog waits in the Help queue. */
  readonly operatorId: string | null;
  readonly kind: SlKind;
  readonly startedAt: Date;
  readonly deadline: Date;
}

/** Which running clocks one subscriber may see. */
export type TickScope = (clock: RunningClock) => boolean;

interface Subscriber {
  /** Subscribers with the same key see the same clocks (and share one batch object). */
  readonly scopeKey: string;
  readonly scope: TickScope;
  /** Set when the scope is one group's clocks at most: only those are looked at. */
  readonly groupId: string | null;
  readonly intervalMs: number;
  nextDueAt: number;
  push(batch: SlTickBatch): void;
}

interface ClockRow {
  id: string;
  group_id: string | null;
  operator_id: string | null;
  sl_kind: SlKind;
  sl_started_at: string;
  sl_deadline: string;
}

const CLOCK_COLUMNS = 'id, group_id, operator_id, sl_kind, sl_started_at, sl_deadline';

/**
 * One ticker per process. While anyone subscribes, it keeps an in-memory index of the running SL
 * clocks (read whole for the first subscriber and every RESYNC_MS, refreshed in between only for
 * dialogs the event bus says changed) and every `MIN_TICK_INTERVAL_MS` hands each due subscriber
 * its batch. No database query per subscriber per tick, and none while nobody subscribes.
 */
export class SlTicker {
  private readonly running = new Map<string, RunningClock>();
  private readonly byGroup = new Map<string, Map<string, RunningClock>>();
  private readonly dirty = new Set<string>();
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /** When the index was last read whole; null while there is none (nobody subscribed). */
  private lastResync: number | null = null;
  /** The round running now, if any. */
  private round: Promise<void> | null = null;

  constructor(
    private readonly rootEm: EntityManager,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    // The bus delivers every committed change, also those committed while its listener was away.
    // Without subscribers there is no index to keep up: the first subscriber's round reads it whole.
    this.unsubscribe = this.bus.subscribeAll(({ dialogId }) => {
      if (dialogId !== null && this.subscribers.size > 0) this.dirty.add(dialogId);
    });
    this.scheduleRound();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.subscribers.clear();
  }

  /** Registers a subscriber; returns the function that removes it. */
  add(
    scopeKey: string,
    scope: TickScope,
    intervalMs: number,
    push: (batch: SlTickBatch) => void,
    groupId: string | null = null,
  ): () => void {
    const subscriber: Subscriber = { scopeKey, scope, groupId, intervalMs, nextDueAt: 0, push };
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Rounds run on the wall clock's grid of MIN_TICK_INTERVAL_MS (not an interval timer that
   * drifts), so each subscriber's grid point is served by the same round every time.
   */
  private scheduleRound(): void {
    if (this.stopped) return;
    const delay = MIN_TICK_INTERVAL_MS - (Date.now() % MIN_TICK_INTERVAL_MS);
    this.timer = setTimeout(() => {
      this.scheduleRound();
      // tick() reports its own failures and never rejects.
      void this.tick();
    }, delay);
    this.timer.unref();
  }

  /** One round: bring the index up to date, then serve every subscriber that is due. A round still running is waited for, not run twice. */
  tick(): Promise<void> {
    this.round ??= this.runRound().finally(() => (this.round = null));
    return this.round;
  }

  private async runRound(): Promise<void> {
    try {
      if (this.subscribers.size === 0) {
        this.forget();
        return;
      }
      const wallNow = Date.now();
      if (this.lastResync === null || wallNow - this.lastResync > RESYNC_MS) await this.resync();
      else await this.refreshDirty();
      // A round serves what falls due before the middle of the next one.
      const horizon = wallNow + MIN_TICK_INTERVAL_MS / 2;
      const due = [...this.subscribers].filter((s) => s.nextDueAt <= horizon);
      if (due.length === 0) return;
      const now = this.clock.now();
      // Each clock's tick is computed at most once per round, and only if someone sees it.
      const ticks = new Map<RunningClock, SlTick>();
      const tickOf = (clock: RunningClock): SlTick => {
        let tick = ticks.get(clock);
        if (!tick) {
          tick = toTick(clock, now);
          ticks.set(clock, tick);
        }
        return tick;
      };
      // One batch object per scope and round: identical subscriptions then share one execution.
      const batches = new Map<string, SlTickBatch>();
      for (const subscriber of due) {
        subscriber.nextDueAt = nextOnGrid(horizon, subscriber.intervalMs);
        let batch = batches.get(subscriber.scopeKey);
        if (!batch) {
          const pool =
            subscriber.groupId !== null ? (this.byGroup.get(subscriber.groupId)?.values() ?? []) : this.running.values();
          const visible = [...pool].filter(subscriber.scope).sort((a, b) => a.deadline.getTime() - b.deadline.getTime());
          batch = { serverTime: now, timers: visible.map(tickOf) };
          batches.set(subscriber.scopeKey, batch);
        }
        subscriber.push(batch);
      }
    } catch (error) {
      this.logger.error({ err: loggable(error) }, 'SL tick failed');
    }
  }

  private async resync(): Promise<void> {
    this.dirty.clear();
    const rows = await this.rootEm
      .fork()
      .execute<ClockRow[]>(`select ${CLOCK_COLUMNS} from dialogs where sl_deadline is not null`);
    this.running.clear();
    this.byGroup.clear();
    for (const row of rows) this.put(toClock(row));
    this.lastResync = Date.now();
  }

  /** Drops the index: a server nobody follows SL clocks on reads none of them. */
  private forget(): void {
    if (this.lastResync === null) return;
    this.running.clear();
    this.byGroup.clear();
    this.dirty.clear();
    this.lastResync = null;
  }

  private async refreshDirty(): Promise<void> {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const rows = await this.rootEm
      .fork()
      .execute<ClockRow[]>(`select ${CLOCK_COLUMNS} from dialogs where id in (?) and sl_deadline is not null`, [ids]);
    for (const id of ids) this.remove(id);
    for (const row of rows) this.put(toClock(row));
  }

  private put(clock: RunningClock): void {
    this.running.set(clock.dialogId, clock);
    if (clock.groupId === null) return;
    let group = this.byGroup.get(clock.groupId);
    if (!group) {
      group = new Map();
      this.byGroup.set(clock.groupId, group);
    }
    group.set(clock.dialogId, clock);
  }

  private remove(dialogId: string): void {
    const clock = this.running.get(dialogId);
    if (!clock) return;
    this.running.delete(dialogId);
    if (clock.groupId === null) return;
    const group = this.byGroup.get(clock.groupId);
    group?.delete(dialogId);
    if (group?.size === 0) this.byGroup.delete(clock.groupId);
  }
}

/**
 * The next multiple of `intervalMs` after `at`. Every subscriber of one interval is due in the
 * same round, so subscribers of one scope share a batch (and its execution) instead of each
 * phase computing its own.
 */
function nextOnGrid(at: number, intervalMs: number): number {
  return (Math.floor(at / intervalMs) + 1) * intervalMs;
}

function toTick(clock: RunningClock, now: Date): SlTick {
  return { dialogId: clock.dialogId, groupId: clock.groupId, operatorId: clock.operatorId, timer: slTimerAt(clock, now)! };
}

function toClock(row: ClockRow): RunningClock {
  return {
    dialogId: row.id,
    groupId: row.group_id,
    operatorId: row.operator_id,
    kind: row.sl_kind,
    startedAt: pgDate(row.sl_started_at)!,
    deadline: pgDate(row.sl_deadline)!,
  };
}
