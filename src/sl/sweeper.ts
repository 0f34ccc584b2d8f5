import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../services.js';
import { loggable } from '../shared/logger.js';
import { inTransaction } from '../shared/transaction.js';
import { IDEMPOTENCY_KEY_TTL_MS, pruneIdempotencyKeys } from '../dialogs/idempotency.js';
import { AVAILABLE, LEAST_LOADED } from '../routing/rules.js';

export interface SweepResult {
  readonly breached: number;
  readonly warned: number;
  readonly loggedOut: number;
  /** Operators logged out by PRESENCE_GRACE_SEC. */
  readonly graceLoggedOut: number;
  /** Dialogs re-routed because their operator did not answer in time (NO_ANSWER). */
  readonly unanswered: number;
  readonly drained: number;
  readonly sessionsExpired: number;
  readonly throttleCountersPurged: number;
  readonly eventsPruned: number;
  readonly webhookAttemptsPruned: number;
}

/**
 * The periodic work that runs from database timestamps: SL breaches (and warnings),
 * auto-logout after inactivity, the presence grace logout, no-answer re-routing, the Help-queue
 * safety drain, expired sessions (their sockets close) and long-expired login throttle counters. Every step is a conditional
 * update or skips locked rows, so any number of processes may sweep at once, and nothing is
 * lost across restarts. `runOnce()` is what the timer calls; tests call it directly.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepResult> | null = null;

  constructor(
    private readonly rootEm: EntityManager,
    private readonly services: Services,
    /** The operators with an open WebSocket on this process (the presence heartbeat). */
    private readonly connectedOperators: () => readonly string[] = () => [],
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.runOnce().catch((error: unknown) => this.services.logger.error({ err: loggable(error) }, 'sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Waits for a round in progress; its failure was reported by whoever started it.
    await this.running?.catch(() => undefined);
  }

  runOnce(): Promise<SweepResult> {
    this.running ??= this.measured().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async measured(): Promise<SweepResult> {
    const { metrics } = this.services;
    const done = metrics.sweepSeconds.startTimer();
    try {
      return await this.sweep();
    } catch (error) {
      metrics.sweepFailures.inc();
      throw error;
    } finally {
      done();
    }
  }

  /**
   * Each step (and each operator's auto-logout) runs even when another failed: one broken row
   * must not stop auto-logout or the safety drain for everyone else. Failures are logged and
   * counted, and the round reports them by failing at its end.
   */
  private async sweep(): Promise<SweepResult> {
    const failures: unknown[] = [];
    const step = async (name: string, work: () => Promise<number>): Promise<number> => {
      try {
        return await work();
      } catch (error) {
        failures.push(error);
        this.services.logger.error({ err: loggable(error), step: name }, 'sweep step failed');
        return 0;
      }
    };
    const { presence, router, clock, config } = this.services;
    const breached = await step('sl breaches', () => this.markClocks('BREACHED'));
    // Counted as they commit: a later step's failure fails the round, not these breaches.
    this.services.metrics.slBreaches.inc(breached);
    const warned = config.slWarningSec > 0 ? await step('sl warnings', () => this.markClocks('WARNING')) : 0;
    // One operator's, dialog's or user's failure must not stop the others; their counts add up.
    const each = async (
      name: string,
      ids: () => Promise<readonly string[]>,
      work: (id: string) => Promise<boolean | number>,
    ): Promise<number> =>
      step(name, async () => {
        let done = 0;
        for (const id of await ids()) done += await step(`${name} ${id}`, async () => Number(await work(id)));
        return done;
      });
    const loggedOut = await each(
      'auto-logout',
      () => presence.dueForAutoLogout(this.rootEm.fork(), clock.now()),
      (id) => presence.autoLogout(this.rootEm.fork(), id),
    );
    const graceLoggedOut = await step('presence grace', () => presence.sweepGrace(this.rootEm.fork(), this.connectedOperators()));
    const unanswered = await each(
      'no-answer re-route',
      () => router.dueForNoAnswer(this.rootEm.fork(), clock.now()),
      (id) => inTransaction(this.rootEm.fork(), (tx) => router.rerouteUnanswered(tx, id)),
    );
    const drained = await step('help queue drain', () => this.drainQueue());
    const sessionsExpired = await each(
      'session expiry',
      () => this.services.auth.usersWithExpiredSessions(this.rootEm.fork()),
      (userId) => presence.endExpiredSessions(this.rootEm.fork(), userId),
    );
    const throttleCountersPurged = await step('login throttle purge', () => this.services.loginThrottle.purgeExpired());
    const eventsPruned = await step('event log retention', () => this.pruneLog());
    // Attempts are kept as long as the events they delivered.
    const webhookAttemptsPruned = await step('webhook attempt retention', () =>
      this.services.webhooks.prune(this.rootEm.fork(), new Date(clock.now().getTime() - config.eventRetentionDays * 86_400_000)),
    );
    if (failures.length) throw new AggregateError(failures, `${failures.length} sweep step(s) failed`);
    return {
      breached,
      warned,
      loggedOut,
      graceLoggedOut,
      unanswered,
      drained,
      sessionsExpired,
      throttleCountersPurged,
      eventsPruned,
      webhookAttemptsPruned,
    };
  }

  /** Events past EVENT_RETENTION_DAYS and idempotency keys past their 24 hours. */
  private async pruneLog(): Promise<number> {
    const { clock, config, bus } = this.services;
    const now = clock.now().getTime();
    return inTransaction(this.rootEm.fork(), async (tx) => {
      await pruneIdempotencyKeys(tx, new Date(now - IDEMPOTENCY_KEY_TTL_MS));
      return bus.log.prune(tx, new Date(now - config.eventRetentionDays * 86_400_000));
    });
  }

  /** Marks each overdue (or nearly due) running clock once and announces it. */
  private async markClocks(type: 'BREACHED' | 'WARNING'): Promise<number> {
    return inTransaction(this.rootEm.fork(), async (tx) => {
      const now = this.services.clock.now();
      const rows =
        type === 'BREACHED'
          ? // Strictly past the deadline: a reply exactly at the deadline still meets it.
            // Rows a routing decision holds are left to the next sweep instead of waited for.
            await tx.execute<Array<{ id: string; group_id: string | null; status: string }>>(
              `update dialogs set sl_breached_at = ?
                where id in (select id from dialogs where sl_deadline < ? and sl_breached_at is null
                              for no key update skip locked)
                returning id, group_id, status`,
              [now, now],
            )
          : await tx.execute<Array<{ id: string; group_id: string | null; status: string }>>(
              `update dialogs set sl_warned_at = ?
                where id in (select id from dialogs where sl_deadline >= ? and sl_deadline <= ? and sl_warned_at is null
                              for no key update skip locked)
                returning id, group_id, status`,
              [now, now, new Date(now.getTime() + this.services.config.slWarningSec * 1000)],
            );
      for (const row of rows) {
        await this.services.events.publish(tx, {
          kind: 'sl',
          type,
          dialogId: row.id,
          groupId: row.group_id,
          queued: row.status === 'QUEUED',
        });
      }
      return rows.length;
    });
  }

  /**
   * Safety net for a lost wake-up: a dialog queued while another transaction was freeing
   * capacity. Free online operators take queued dialogs, least loaded first.
   */
  private async drainQueue(): Promise<number> {
    const em = this.rootEm.fork();
    const [queued] = await em.execute<unknown[]>(`select 1 from dialogs where status = 'QUEUED' limit 1`);
    if (!queued) return 0;
    const free = await em.execute<Array<{ id: string }>>(
      `select o.id from operators o where ${AVAILABLE} order by ${LEAST_LOADED}`,
    );
    let drained = 0;
    for (const { id } of free) {
      drained += await inTransaction(this.rootEm.fork(), (tx) => this.services.router.drain(tx, id));
    }
    return drained;
  }
}
