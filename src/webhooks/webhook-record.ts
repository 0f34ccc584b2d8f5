import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventType } from '../events/event-type.js';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';

/**
 * A webhook as the API answers with it (the GraphQL type `Webhook`): a plain object built from its
 * row. The sealed secret and the delivery position stay out of it; the delivery worker reads
 * those itself.
 */
export interface WebhookRecord {
  readonly id: string;
  readonly url: string;
  readonly types: readonly EventType[];
  readonly active: boolean;
  readonly createdAt: Date;
  readonly failingSince: Date | null;
}

const WEBHOOK_COLUMNS = 'w.id, w.url, w.types, w.active, w.created_at, w.failing_since';

interface WebhookRow {
  readonly id: string;
  readonly url: string;
  readonly types: string[];
  readonly active: boolean;
  readonly created_at: string | Date;
  readonly failing_since: string | Date | null;
}

function webhookRecord(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    url: row.url,
    types: row.types as EventType[],
    active: row.active,
    createdAt: pgDate(row.created_at)!,
    failingSince: pgDate(row.failing_since),
  };
}

/**
 * The webhook `id`; null when there is none. `lock`: its row FOR NO KEY UPDATE (FOR UPDATE to
 * delete it), as the delivery worker's attempt rows take FOR KEY SHARE on it, which only FOR
 * UPDATE waits for.
 */
export async function readWebhook(
  em: EntityManager,
  id: string,
  lock?: 'update' | 'no key update',
): Promise<WebhookRecord | null> {
  const [row] = await em.execute<WebhookRow[]>(
    `select ${WEBHOOK_COLUMNS} from webhooks w where w.id = ?${lock ? ` for ${lock}` : ''}`,
    [id],
  );
  return row ? webhookRecord(row) : null;
}

/** Every webhook, oldest first. */
export async function listWebhooks(em: EntityManager): Promise<WebhookRecord[]> {
  const rows = await em.execute<WebhookRow[]>(`select ${WEBHOOK_COLUMNS} from webhooks w order by w.created_at, w.id`);
  return rows.map(webhookRecord);
}

/** What a webhook's row is written from. */
export interface WebhookFields extends Omit<WebhookRecord, 'id'> {
  /** The signing secret, sealed (secret-box.ts). */
  readonly secret: string;
  /** The last log position whose events were turned into jobs for it. */
  readonly position: number;
}

const webhookRows = rowWriter<WebhookFields>('webhooks', {
  url: 'url',
  types: { column: 'types', placeholder: 'array[?]::text[]' },
  active: 'active',
  secret: 'secret',
  createdAt: 'created_at',
  failingSince: 'failing_since',
  position: 'position',
});

/** Inserts a webhook (active); answers with its id. */
export function insertWebhook(em: EntityManager, fields: Omit<WebhookFields, 'active' | 'failingSince'>): Promise<string> {
  return webhookRows.insert(em, fields);
}

export const updateWebhook = webhookRows.update;

/** Deletes the webhook `id`; its jobs and attempts go with it. */
export async function deleteWebhook(em: EntityManager, id: string): Promise<void> {
  await em.execute('delete from webhooks where id = ?', [id]);
}
