import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from '../services.js';
import { loggable } from '../shared/logger.js';
import { inTransaction } from '../shared/transaction.js';

export interface SweepResult {
  readonly breached: number;
  readonly warned: number;
  readonly loggedOut: number;
  readonly drained: number;
  readonly sessionsExpired: number;
  readonly throttleCountersPurged: number;
  readonly webhookAttemptsPruned: number;
}

/**
 * The periodic work that runs from database timestamps: SL breaches (and warnings),
 * auto-logout after inactivity, the Help-queue safety drain, expired sessions (their sockets
 * close) and long-expired login throttle counters. Every step is a conditional
 * update or skips locked rows, so any number of processes may sweep at once, and nothing is
 * lost across restarts. `runOnce()` is what the timer calls; tests call it directly.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepResult> | null = null;

  constructor(
    private readonly rootEm: EntityManager,
    private readonly services: Services,
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
      const result = await this.sweep();
      metrics.slBreaches.inc(result.breached);
      return result;
    } catch (error) {
      metrics.sweepFailures.inc();
      throw error;
    } finally {
      done();
    }
  }

  private async sweep(): Promise<SweepResult> {
    const breached = await this.markClocks('BREACHED');
    const warned = this.services.config.slWarningSec > 0 ? await this.markClocks('WARNING') : 0;
    let loggedOut = 0;
    const em = this.rootEm.fork();
    for (const id of await this.services.operators.dueForAutoLogout(em, this.services.clock.now())) {
      if (await this.services.operators.autoLogout(this.rootEm.fork(), id)) loggedOut++;
    }
    const drained = await this.drainQueue();
    const sessionsExpired = await this.services.auth.endExpiredSessions(this.rootEm.fork());
    const throttleCountersPurged = await this.services.loginThrottle.purgeExpired();
    // Attempts are kept as long as the events they delivered.
    const retentionMs = this.services.config.eventRetentionDays * 24 * 60 * 60 * 1000;
    const webhookAttemptsPruned = await this.services.webhooks.prune(
      this.rootEm.fork(),
      new Date(this.services.clock.now().getTime() - retentionMs),
    );
    return { breached, warned, loggedOut, drained, sessionsExpired, throttleCountersPurged, webhookAttemptsPruned };
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
      `select id from operators where status = 'ONLINE' and deleted_at is null and active_dialog_count < max_dialogs
        order by active_dialog_count, last_assigned_at nulls first, id`,
    );
    let drained = 0;
    for (const { id } of free) {
      drained += await inTransaction(this.rootEm.fork(), (tx) => this.services.router.drain(tx, id));
    }
    return drained;
  }
}
