import type { EntityManager } from '@mikro-orm/postgresql';
import { EventType } from '../events/event-type.js';
import type { EventLog, LogEntry } from '../realtime/event-log.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { afterCommit, inTransaction } from '../shared/transaction.js';
import { isId } from '../shared/validate.js';
import { resolvedUrlProblem, urlProblem } from './address-guard.js';
import { fanOutEntries } from './fan-out.js';
import { newSigningSecret, type SecretBox } from './secret-box.js';
import {
  deleteWebhook,
  insertWebhook,
  listWebhooks,
  readWebhook,
  updateWebhook,
  type WebhookFields,
  type WebhookRecord,
} from './webhook-record.js';

export const MAX_URL_LENGTH = 2000;
export const DEFAULT_DELIVERIES_PAGE = 20;
export const MAX_DELIVERIES_PAGE = 100;

/** One recorded attempt, with the log entry it delivered. */
export interface AttemptRecord {
  readonly id: string;
  readonly entry: LogEntry;
  readonly attempt: number;
  readonly at: Date;
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  readonly nextAttemptAt: Date | null;
}

export interface AttemptPage {
  readonly attempts: AttemptRecord[];
  readonly hasNextPage: boolean;
  /** Where the next page starts (past attempts left out because their event was pruned, too). */
  readonly endCursor: string | null;
}

export interface WebhookChanges {
  readonly url?: string | null;
  readonly types?: readonly EventType[] | null;
  readonly active?: boolean | null;
}

/** What a new or rotated secret is shown with, once. */
export interface WebhookWithSecret {
  readonly webhook: WebhookRecord;
  readonly secret: string;
}

/** Webhook endpoints (ADMIN): their URLs, types, secrets, and their delivery history. */
export class WebhookService {
  constructor(
    private readonly clock: Clock,
    private readonly log: EventLog,
    private readonly secrets: SecretBox,
    private readonly allowPrivate: boolean,
    /** Wakes the delivery worker (after a webhook is created or reactivated, or a redelivery request commits). */
    private readonly wake: () => void,
  ) {}

  list(em: EntityManager): Promise<WebhookRecord[]> {
    return listWebhooks(em);
  }

  find(em: EntityManager, id: string): Promise<WebhookRecord | null> {
    return isId(id) ? readWebhook(em, id) : Promise.resolve(null);
  }

  /** The webhook, its row locked (see readWebhook); NOT_FOUND naming `field` when there is none. */
  private async require(em: EntityManager, id: string, field: string, lock?: 'update' | 'no key update'): Promise<WebhookRecord> {
    const webhook = isId(id) ? await readWebhook(em, id, lock) : null;
    if (!webhook) throw new NotFoundError('Webhook', id, field);
    return webhook;
  }

  private async checkedUrl(raw: string): Promise<string> {
    const url = raw.trim();
    if (url.length > MAX_URL_LENGTH) throw new BadInputError('url', `url must be at most ${MAX_URL_LENGTH} characters`);
    const problem = urlProblem(url, this.allowPrivate) ?? (await resolvedUrlProblem(url, this.allowPrivate));
    if (problem) throw new BadInputError('url', `url ${problem}`);
    return url;
  }

  private checkedTypes(types: readonly EventType[]): EventType[] {
    if (types.length === 0) throw new BadInputError('types', 'types must name at least one event type');
    return [...new Set(types)].sort();
  }

  /** A webhook receives the events committed after it was created. */
  async create(em: EntityManager, input: { url: string; types: readonly EventType[] }): Promise<WebhookWithSecret> {
    const url = await this.checkedUrl(input.url);
    const types = this.checkedTypes(input.types);
    const secret = newSigningSecret();
    const id = await inTransaction(em, async (tx) => {
      // From now on: events committed before this, even if not yet numbered, are not its.
      await this.log.numberCommitted(tx);
      afterCommit(tx, this.wake);
      return insertWebhook(tx, {
        url,
        types,
        secret: this.secrets.seal(secret),
        createdAt: this.clock.now(),
        position: await this.log.head(tx),
      });
    });
    return { webhook: await this.require(em, id, 'id'), secret };
  }

  /**
   * New types, or turning it off, apply to events committed from then on: those committed before
   * are turned into its jobs first, as it was. A webhook made active again receives the events
   * committed from then on; deliveries that were pending when it stopped (e.g. on 410 Gone) are
   * sent again.
   */
  async update(em: EntityManager, id: string, changes: WebhookChanges): Promise<WebhookRecord> {
    const url = changes.url == null ? undefined : await this.checkedUrl(changes.url);
    const types = changes.types == null ? undefined : this.checkedTypes(changes.types);
    await inTransaction(em, async (tx) => {
      const webhook = await this.require(tx, id, 'id', 'no key update');
      const active = changes.active != null && changes.active !== webhook.active ? changes.active : undefined;
      if (webhook.active && (types !== undefined || active === false)) {
        await this.log.numberCommitted(tx);
        const head = await this.log.head(tx);
        for (let more = true; more;) more = (await fanOutEntries(tx, head, this.clock.now(), webhook.id)).more;
      }
      let restart: Partial<WebhookFields> = {};
      if (active === true) {
        await this.log.numberCommitted(tx);
        restart = { position: await this.log.head(tx), failingSince: null };
        // Sent again now, with 24 h of retries from now: the stop was the receiver's (or an admin's) call.
        const now = this.clock.now();
        await tx.execute('update webhook_jobs set next_attempt_at = ?, started_at = ? where webhook_id = ?', [
          now,
          now,
          webhook.id,
        ]);
        afterCommit(tx, this.wake);
      }
      await updateWebhook(tx, webhook.id, { url, types, active, ...restart });
    });
    return this.require(em, id, 'id');
  }

  /** Its pending deliveries and history go with it. */
  async delete(em: EntityManager, id: string): Promise<string> {
    return inTransaction(em, async (tx) => {
      const webhook = await this.require(tx, id, 'id', 'update');
      await deleteWebhook(tx, webhook.id);
      return webhook.id;
    });
  }

  /** The old secret stops working at once: deliveries from now on are signed with the new one. */
  async rotateSecret(em: EntityManager, id: string): Promise<WebhookWithSecret> {
    const secret = newSigningSecret();
    await inTransaction(em, async (tx) => {
      const webhook = await this.require(tx, id, 'id', 'no key update');
      await updateWebhook(tx, webhook.id, { secret: this.secrets.seal(secret) });
    });
    return { webhook: await this.require(em, id, 'id'), secret };
  }

  /**
   * Queues the event for the webhook again (any event of the public feed the log still holds,
   * whatever the webhook's types): due now, retried for 24 h like any delivery.
   */
  async redeliver(em: EntityManager, webhookId: string, eventId: string): Promise<boolean> {
    const position = /^[1-9][0-9]{0,15}$/.test(eventId) ? Number(eventId) : null;
    return inTransaction(em, async (tx) => {
      const webhook = await this.require(tx, webhookId, 'webhookId', 'no key update');
      const [entry] = position === null ? [] : await this.log.readAt(tx, [position]);
      if (!entry?.feed) throw new NotFoundError('Event', eventId, 'eventId');
      const now = this.clock.now();
      await tx.execute(
        // Attempts go on counting from the ones already made for this event.
        `insert into webhook_jobs (webhook_id, position, dialog_id, next_attempt_at, started_at, attempts)
         values (?, ?, ?, ?, ?, (select count(*) from webhook_attempts where webhook_id = ? and position = ?))
         on conflict (webhook_id, position) do update set next_attempt_at = excluded.next_attempt_at, started_at = excluded.started_at`,
        [webhook.id, entry.position, entry.dialogId, now, now, webhook.id, entry.position],
      );
      afterCommit(tx, this.wake);
      return true;
    });
  }

  /** Attempts, newest first; `after` is the cursor of the last attempt already read. */
  async attempts(em: EntityManager, webhookId: string, first: number | null, after: string | null): Promise<AttemptPage> {
    const size = first ?? DEFAULT_DELIVERIES_PAGE;
    if (!Number.isInteger(size) || size < 0 || size > MAX_DELIVERIES_PAGE) {
      throw new BadInputError('first', `first must be an integer in 0..${MAX_DELIVERIES_PAGE}`);
    }
    if (after !== null && !/^[1-9][0-9]{0,15}$/.test(after))
      throw new BadInputError('after', 'after is not a cursor of this list');
    const rows = await em.execute<
      Array<{
        id: string;
        position: string;
        attempt: number;
        at: Date;
        status_code: number | null;
        duration_ms: number;
        error: string | null;
        next_attempt_at: Date | null;
      }>
    >(
      `select id, position, attempt, at, status_code, duration_ms, error, next_attempt_at from webhook_attempts
        where webhook_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?`,
      [webhookId, after, after, size + 1],
    );
    const page = rows.slice(0, size);
    // An attempt whose event the log no longer keeps is about to be pruned with it.
    const entries = new Map(
      (
        await this.log.readAt(
          em,
          page.map((r) => Number(r.position)),
        )
      ).map((e) => [e.position, e]),
    );
    const attempts: AttemptRecord[] = [];
    for (const row of page) {
      const entry = entries.get(Number(row.position));
      if (!entry) continue;
      attempts.push({
        id: String(row.id),
        entry,
        attempt: row.attempt,
        at: new Date(row.at),
        statusCode: row.status_code,
        durationMs: row.duration_ms,
        error: row.error,
        nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at),
      });
    }
    const last = page.at(-1);
    return { attempts, hasNextPage: rows.length > size, endCursor: last ? String(last.id) : null };
  }

  /** Drops attempts older than `before` and jobs whose event left the log. Returns the attempts removed. */
  async prune(em: EntityManager, before: Date): Promise<number> {
    const removed = await em.execute<Array<{ n: string }>>(
      `with gone as (delete from webhook_attempts where at < ? returning 1) select count(*) as n from gone`,
      [before],
    );
    await em.execute(
      `delete from webhook_jobs j where not exists (select 1 from event_log l where l.position = j.position)
         and j.claimed_by is null`,
    );
    return Number(removed[0]?.n ?? 0);
  }
}
