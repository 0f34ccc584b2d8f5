import type { EntityManager } from '@mikro-orm/postgresql';
import { randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pg from 'pg';
import { Webhook as Signer } from 'standardwebhooks';
import type { Metrics } from '../observability/metrics.js';
import type { EventBus } from '../realtime/event-bus.js';
import type { Clock } from '../shared/clock.js';
import { loggable, type Logger } from '../shared/logger.js';
import type { SqlFragment } from '../shared/sql.js';
import { executeAtCommit, inTransaction } from '../shared/transaction.js';
import { fanOutEntries } from './fan-out.js';
import { webhookBodies, type WebhookBody } from './payload.js';
import type { SecretBox } from './secret-box.js';
import type { SendResult, WebhookSender } from './sender.js';

/** A 2xx must arrive within this. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Retries stop this long after a delivery's first attempt was due. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 60 * 60 * 1000;
/** Due retries and events committed while this process was not listening are found this often. */
const POLL_MS = 1000;
/** Deliveries one process sends at once. */
const MAX_IN_FLIGHT = 32;
/**
 * A finished delivery claims more only once this few are left in flight (or, at once, when it
 * was the last): under load, jobs are claimed in batches rather than one statement each.
 */
const CLAIM_BELOW = MAX_IN_FLIGHT / 2;
/**
 * The first key of the advisory locks that mark live workers: each process holds
 * (WORKER_LOCK_CLASS, its key) on its own connection while it runs. A claimed job whose
 * claimer's lock is gone (the process died, even by kill -9) is free for anyone at once.
 */
const WORKER_LOCK_CLASS = 48_151;
const RECONNECT_MS = 1000;

/**
 * The wait before retry `attempt + 1`: 5 s doubling up to 1 h (so about 30 attempts in 24 h),
 * each cut by a random part of up to a half so that receivers coming back are not hit in step.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(full * (0.5 + random() / 2));
}

interface ClaimedJob {
  readonly webhookId: string;
  readonly position: number;
  readonly attempt: number;
  readonly startedAt: Date;
  readonly url: string;
  /** Sealed (SecretBox). */
  readonly secret: string;
}

/** How an attempt ended, as metrics count it. */
type Result = 'delivered' | 'failed' | 'given_up' | 'gone';

export interface WorkerOptions {
  readonly databaseUrl: string;
  readonly rootEm: EntityManager;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly sender: WebhookSender;
  readonly secrets: SecretBox;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * Delivers the event log to webhooks, at least once, from any number of processes.
 *
 * 1. Fan-out: each active webhook's new log entries of its types become jobs, and its
 *    position moves on, in one statement under its row lock (SKIP LOCKED: one process does
 *    each webhook).
 * 2. Claim: due jobs are marked with this process's key in one statement (SKIP LOCKED),
 *    never one behind an earlier job of the same webhook and dialog (per-dialog order).
 * 3. Send, outside any transaction; then record the attempt and delete the job, or schedule
 *    its retry, in another short transaction.
 *
 * Lock order inside the webhook tables: a webhook row before its jobs. No webhook transaction
 * touches routing's rows, so the order in src/routing/router.ts is not involved.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private lockClient: pg.Client | null = null;
  private key: number | null = null;
  private stopped = false;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** The log head at the last fan-out: with no new entry since, there is nothing to fan out. */
  private fannedOutTo = -1;
  /**
   * Whether a claim may find jobs: after this process fanned out, after a delivery ended (the
   * dialog's next event, a retry), when the last claim filled every free slot, and on the poll
   * (jobs fanned out by other processes, retries falling due). Otherwise a new event costs no claim.
   */
  private claimDue = true;
  /**
   * False once a check found no active webhook at all: new events then cost nothing until
   * the next poll or a webhook change on this process (another process's new webhook is fanned
   * out by that process at once, and by this one from its next poll).
   */
  private webhooksMayExist = true;

  constructor(private readonly options: WorkerOptions) {
    // Each attempt in flight listens for the abort: up to MAX_IN_FLIGHT at once is no leak.
    setMaxListeners(MAX_IN_FLIGHT, this.abort.signal);
  }

  async start(): Promise<void> {
    await this.connectLock();
    // Every committed public event wakes the worker on every process; claims decide who sends.
    this.unsubscribe = this.options.bus.subscribeAll((entry) => {
      if (entry.feed) this.kick();
    });
    this.pollTimer = setInterval(() => this.webhooksChanged(), POLL_MS);
    this.pollTimer.unref();
    this.kick();
  }

  /** Stops claiming, abandons attempts in flight (their jobs are freed with this process's lock). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of [this.pollTimer, this.reconnectTimer]) if (timer) clearInterval(timer);
    this.abort.abort();
    await this.pumping;
    await Promise.all(this.inFlight.values());
    const client = this.lockClient;
    this.lockClient = null;
    await client?.end().catch(() => undefined);
    this.options.sender.close();
  }

  /** A webhook was created, reactivated or asked to redeliver (or the poll is due): look again now. */
  webhooksChanged(): void {
    this.webhooksMayExist = true;
    this.claimDue = true;
    this.fannedOutTo = -1;
    this.kick();
  }

  /** Runs a round now (or once the current one ends): fan-out, then claim and send what is due. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumpAgain = false;
    this.pumping = this.round()
      .catch((error: unknown) => this.options.logger.warn({ err: loggable(error) }, 'webhook round failed'))
      .finally(() => {
        this.pumping = null;
        if (this.pumpAgain) this.kick();
      });
  }

  /** Resolves once nothing is being fanned out, claimed or sent by this process (tests). */
  async idle(): Promise<void> {
    while (this.pumping || this.inFlight.size) {
      await this.pumping;
      await Promise.all(this.inFlight.values());
    }
  }

  private async round(): Promise<void> {
    await this.fanOut();
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (!this.claimDue || room <= 0 || this.key === null || this.lockClient === null) return;
    this.claimDue = false;
    const jobs = await this.claim(this.key, room);
    if (jobs.length === room) this.claimDue = true;
    const bodies = await webhookBodies(
      this.options.rootEm.fork(),
      jobs.map((job) => job.position),
    ).catch(async (error: unknown) => {
      await Promise.all(jobs.map((job) => this.release(job)));
      throw error;
    });
    for (const job of jobs) {
      const id = `${job.webhookId}:${job.position}`;
      const sending = this.deliver(job, bodies.get(job.position))
        .catch(async (error: unknown) => {
          this.options.logger.warn({ err: loggable(error) }, 'webhook delivery failed to run');
          await this.release(job);
        })
        .finally(() => {
          this.inFlight.delete(id);
          // The next event of its dialog may be due now.
          this.claimDue = true;
          if (this.inFlight.size <= CLAIM_BELOW) this.kick();
        });
      this.inFlight.set(id, sending);
    }
  }

  /**
   * Turns new log entries into jobs for every active webhook that no other process is doing:
   * one statement, which locks the webhooks' rows (SKIP LOCKED), writes their jobs and moves
   * their positions, all or nothing.
   */
  private async fanOut(): Promise<void> {
    const { rootEm, bus, clock } = this.options;
    // What this process has heard of: a webhook starts at the log's head when created or
    // reactivated, so it has nothing before that either.
    const head = bus.position();
    if (head === this.fannedOutTo) return;
    if (!this.webhooksMayExist) {
      this.fannedOutTo = head;
      return;
    }
    const outcome = await fanOutEntries(rootEm.fork(), head, clock.now());
    // With no active webhook at all, later events are skipped until a webhook change or the poll.
    this.webhooksMayExist = outcome.active;
    if (outcome.moved > 0) this.claimDue = true;
    // Webhooks another process held (SKIP LOCKED) are that process's to do.
    if (outcome.more) this.pumpAgain = true;
    else this.fannedOutTo = head;
  }

  /** Claims up to `limit` due jobs, in one statement. */
  private async claim(key: number, limit: number): Promise<ClaimedJob[]> {
    const now = this.options.clock.now();
    const claimed = await this.options.rootEm
      .fork()
      .execute<Array<{ webhook_id: string; position: string; attempts: number; started_at: Date; url: string; secret: string }>>(
        `with alive as materialized (
           select objid::bigint as key from pg_locks
            where locktype = 'advisory' and classid = ${WORKER_LOCK_CLASS} and objsubid = 2 and granted
              and database = (select oid from pg_database where datname = current_database())
         ), due as (
           select j.webhook_id, j.position, w.url, w.secret from webhook_jobs j join webhooks w on w.id = j.webhook_id and w.active
            where j.next_attempt_at <= ?
              and (j.claimed_by is null or j.claimed_by not in (select key from alive))
              and (j.dialog_id is null or not exists (
                    select 1 from webhook_jobs e
                     where e.webhook_id = j.webhook_id and e.dialog_id = j.dialog_id and e.position < j.position))
            order by j.next_attempt_at, j.position
            limit ?
            for no key update of j skip locked
         )
         update webhook_jobs j set claimed_by = ?, attempts = j.attempts + 1,
                -- The 24 h of retries count from the first try: an event held back behind its
                -- dialog's failing one has not been tried yet.
                started_at = case when j.attempts = 0 then ? else j.started_at end
           from due where j.webhook_id = due.webhook_id and j.position = due.position
         returning j.webhook_id, j.position, j.attempts, j.started_at, due.url, due.secret`,
        [now, limit, key, now],
      );
    return claimed.map((r) => ({
      webhookId: r.webhook_id,
      position: Number(r.position),
      attempt: r.attempts,
      startedAt: new Date(r.started_at),
      url: r.url,
      secret: r.secret,
    }));
  }

  /** Sends `job`'s event (`body`: undefined when the log no longer keeps it) and records the attempt. */
  private async deliver(job: ClaimedJob, body: WebhookBody | undefined): Promise<void> {
    const { rootEm, clock, sender, secrets } = this.options;
    if (!body) {
      // Pruned from the log (past EVENT_RETENTION_DAYS): there is nothing left to send.
      await rootEm
        .fork()
        .execute('delete from webhook_jobs where webhook_id = ? and position = ? and claimed_by = ?', [
          job.webhookId,
          job.position,
          this.key,
        ]);
      return;
    }
    const at = clock.now();
    let result: SendResult;
    try {
      const json = JSON.stringify(body);
      const id = String(job.position);
      const signature = new Signer(secrets.open(job.secret)).sign(id, at, json);
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
        'user-agent': 'handover-webhooks',
      };
      result = await sender.send({
        url: job.url,
        headers,
        body: json,
        timeoutMs: DELIVERY_TIMEOUT_MS,
        signal: this.abort.signal,
      });
    } catch (error) {
      // The secret could not be opened: an attempt that failed before sending.
      result = {
        statusCode: null,
        durationMs: 0,
        error: error instanceof Error ? error.message : String(error),
        responseBody: null,
      };
    }
    if (this.abort.signal.aborted) return;
    const outcome = await this.record(job, at, result);
    this.options.metrics.webhookDeliveries.inc({ result: outcome });
    if (outcome === 'delivered') {
      const sinceEvent = clock.now().getTime() - Date.parse(body.timestamp);
      this.options.metrics.webhookLatencySeconds.observe(Math.max(0, sinceEvent / 1000));
    }
  }

  /** Gives a claimed job back, due again after the first retry delay, when its attempt could not run. */
  private async release(job: ClaimedJob): Promise<void> {
    await this.options.rootEm
      .fork()
      .execute(
        `update webhook_jobs set claimed_by = null, next_attempt_at = ?
          where webhook_id = ? and position = ? and claimed_by = ?`,
        [new Date(this.options.clock.now().getTime() + retryDelayMs(job.attempt)), job.webhookId, job.position, this.key],
      )
      // Still held: freed when this process's lock is (at its exit).
      .catch((error: unknown) => this.options.logger.warn({ err: loggable(error) }, 'could not release a webhook job'));
  }

  /**
   * Records the attempt and what follows from it, in one short transaction that takes its locks
   * in one order: the attempt (its key share on the webhook row), the webhook row, then the job.
   */
  private async record(job: ClaimedJob, at: Date, result: SendResult): Promise<Result> {
    const { rootEm, clock } = this.options;
    return inTransaction(rootEm.fork(), async (tx) => {
      const now = clock.now();
      const jobKey = [job.webhookId, job.position, this.key];
      const failed = result.error !== null;
      const givenUp = failed && result.statusCode !== 410 && now.getTime() - job.startedAt.getTime() >= RETRY_WINDOW_MS;
      const nextAttemptAt =
        failed && result.statusCode !== 410 && !givenUp ? new Date(now.getTime() + retryDelayMs(job.attempt)) : null;
      // Skipped when the webhook was deleted meanwhile.
      const attempt: SqlFragment = {
        sql: `insert into webhook_attempts (webhook_id, position, attempt, at, status_code, duration_ms, error, response_body, next_attempt_at)
              select ?, ?, ?, ?, ?, ?, ?, ?, ? where exists (select 1 from webhooks where id = ?)`,
        params: [
          job.webhookId,
          job.position,
          job.attempt,
          at,
          result.statusCode,
          result.durationMs,
          result.error,
          result.responseBody,
          nextAttemptAt,
          job.webhookId,
        ],
      };
      if (!failed) {
        // The common case in one statement, the transaction's only one (so it goes out alone).
        // The job's delete reads both changes' counts first, so the attempt and the webhook row
        // are written before the job.
        executeAtCommit(tx, {
          sql: `with attempt as (${attempt.sql} returning 1),
                     recovered as (update webhooks set failing_since = null where id = ? and failing_since is not null returning 1)
                delete from webhook_jobs where webhook_id = ? and position = ? and claimed_by = ?
                   and (select count(*) from attempt) + (select count(*) from recovered) >= 0`,
          params: [...attempt.params, job.webhookId, ...jobKey],
        });
        return 'delivered';
      }
      await tx.execute(attempt.sql, [...attempt.params]);
      let outcome: Result;
      if (result.statusCode === 410) {
        outcome = 'gone';
        // The receiver asked to stop: the webhook is deactivated; this job waits for a reactivation.
        await tx.execute('update webhooks set active = false, failing_since = coalesce(failing_since, ?) where id = ?', [
          at,
          job.webhookId,
        ]);
        await tx.execute(
          'update webhook_jobs set claimed_by = null where webhook_id = ? and position = ? and claimed_by = ?',
          jobKey,
        );
      } else {
        await tx.execute('update webhooks set failing_since = ? where id = ? and failing_since is null', [at, job.webhookId]);
        if (givenUp) {
          outcome = 'given_up';
          await tx.execute('delete from webhook_jobs where webhook_id = ? and position = ? and claimed_by = ?', jobKey);
        } else {
          outcome = 'failed';
          await tx.execute(
            `update webhook_jobs set claimed_by = null, next_attempt_at = ?
              where webhook_id = ? and position = ? and claimed_by = ?`,
            [nextAttemptAt, ...jobKey],
          );
        }
      }
      return outcome;
    });
  }

  /** Connects the lock connection and takes a fresh key (or, after a reconnect, the same one). */
  private async connectLock(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      keepAlive: true,
      application_name: 'handover-webhooks',
    });
    client.on('error', () => this.lostLock(client));
    client.on('end', () => this.lostLock(client));
    let key = this.key ?? randomInt(1, 2 ** 31 - 1);
    try {
      await client.connect();
      for (;;) {
        const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [
          WORKER_LOCK_CLASS,
          key,
        ]);
        if (rows[0]?.ok) break;
        key = randomInt(1, 2 ** 31 - 1);
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.key = key;
    this.lockClient = client;
  }

  /**
   * Without its lock this process may not claim: other processes now see its claimed jobs as
   * free (an attempt in flight may then be sent twice, which at-least-once allows).
   */
  private lostLock(client: pg.Client): void {
    if (this.lockClient !== client) return;
    this.lockClient = null;
    if (this.stopped) return;
    this.options.logger.warn('webhook worker lost its lock connection; reconnecting');
    this.reconnect();
  }

  private reconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.connectLock().then(
        () => {
          this.reconnectTimer = null;
          if (this.stopped) void this.lockClient?.end().catch(() => undefined);
          else this.kick();
        },
        (error: Error) => {
          this.reconnectTimer = null;
          this.options.logger.warn({ err: loggable(error) }, 'webhook worker reconnect failed');
          this.reconnect();
        },
      );
    }, RECONNECT_MS);
  }

  /** Events between the log's head and the slowest active webhook's position; jobs not yet done. */
  async backlog(em: EntityManager): Promise<{ lag: number; pending: number }> {
    const [row] = await em.execute<Array<{ lag: string; pending: string }>>(
      `select (select h.position - coalesce(min(w.position), h.position) from webhooks w where w.active) as lag,
              (select count(*) from webhook_jobs) as pending
         from event_log_head h`,
    );
    return { lag: Number(row?.lag ?? 0), pending: Number(row?.pending ?? 0) };
  }
}
