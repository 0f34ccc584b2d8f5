import type { EntityManager } from '@mikro-orm/postgresql';
import { pgDate } from '../shared/pg-time.js';
import { SlKind } from '../sl/sl-kind.js';
import { DialogStatus } from './dialog-enums.js';

/**
 * A dialog as the API answers with it (the GraphQL type `Dialog`): a plain object built from its
 * row. Dialogs are written by SQL in the routing transactions, never through the ORM's unit of
 * work, so reading them needs no managed entity: building one per row (MikroORM's `em.map`) was
 * about an eighth of the server's CPU in the routing benchmark.
 */
export interface DialogRecord {
  readonly id: string;
  readonly externalId: string | null;
  readonly clientName: string | null;
  readonly status: DialogStatus;
  readonly priority: number;
  readonly scenarioId: string | null;
  readonly groupId: string | null;
  readonly operatorId: string | null;
  readonly createdAt: Date;
  readonly handedOverAt: Date | null;
  readonly queuedAt: Date | null;
  readonly assignedAt: Date | null;
  readonly firstResponseAt: Date | null;
  readonly closedAt: Date | null;
  readonly slKind: SlKind | null;
  readonly slStartedAt: Date | null;
  readonly slDeadline: Date | null;
  /** messages.seq of the newest message (null: none yet), as text (a bigint). */
  readonly lastMessageSeq: string | null;
  /** The dialogEvents stream's sequence, when read in the same statement as the row (EVENT_SEQ). */
  readonly eventSeq: number | null;
}

/** A dialogs row as PostgreSQL returns it: `select d.*` (timestamps and bigints as text), plus EVENT_SEQ when selected. */
export interface DialogRow {
  readonly id: string;
  readonly external_id: string | null;
  readonly client_name: string | null;
  readonly status: string;
  readonly priority: number;
  readonly scenario_id: string | null;
  readonly group_id: string | null;
  readonly operator_id: string | null;
  readonly created_at: string | Date;
  readonly handed_over_at: string | Date | null;
  readonly queued_at: string | Date | null;
  readonly assigned_at: string | Date | null;
  readonly first_response_at: string | Date | null;
  readonly closed_at: string | Date | null;
  readonly sl_kind: string | null;
  readonly sl_started_at: string | Date | null;
  readonly sl_deadline: string | Date | null;
  readonly last_message_seq: string | null;
  readonly event_seq?: string | null;
}

/**
 * The dialogEvents stream's sequence of dialog `d`, selected `as event_seq` beside its row, so a
 * subscription resumed from it misses no change the row does not show.
 */
export const EVENT_SEQ = `coalesce((select et.seq from event_topics et where et.topic = 'dialog:' || d.id), 0) as event_seq`;

export function dialogRecord(row: DialogRow): DialogRecord {
  return {
    id: row.id,
    externalId: row.external_id,
    clientName: row.client_name,
    status: row.status as DialogStatus,
    priority: row.priority,
    scenarioId: row.scenario_id,
    groupId: row.group_id,
    operatorId: row.operator_id,
    createdAt: pgDate(row.created_at)!,
    handedOverAt: pgDate(row.handed_over_at),
    queuedAt: pgDate(row.queued_at),
    assignedAt: pgDate(row.assigned_at),
    firstResponseAt: pgDate(row.first_response_at),
    closedAt: pgDate(row.closed_at),
    slKind: row.sl_kind as SlKind | null,
    slStartedAt: pgDate(row.sl_started_at),
    slDeadline: pgDate(row.sl_deadline),
    lastMessageSeq: row.last_message_seq,
    eventSeq: row.event_seq == null ? null : Number(row.event_seq),
  };
}

/** The dialogs with these ids (any status, in no order), each with its stream's sequence. */
export async function readDialogs(em: EntityManager, ids: readonly string[]): Promise<DialogRecord[]> {
  const rows = await em.execute<DialogRow[]>(`select d.*, ${EVENT_SEQ} from dialogs d where d.id in (?)`, [ids]);
  return rows.map(dialogRecord);
}
