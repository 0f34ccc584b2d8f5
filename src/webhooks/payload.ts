import type { EntityManager } from '@mikro-orm/postgresql';
import { cursorOf } from '../events/event.types.js';
import type { LogEntry } from '../realtime/event-log.js';

/** A timestamp column as JSON: ISO 8601 in UTC, or null. */
type Iso = string | null;

/** The dialog as a delivery carries it: its columns, with relations as ids. */
export interface DialogJson {
  id: string;
  externalId: string | null;
  clientName: string | null;
  status: string;
  scenarioId: string | null;
  groupId: string | null;
  operatorId: string | null;
  createdAt: string;
  handedOverAt: Iso;
  queuedAt: Iso;
  assignedAt: Iso;
  firstResponseAt: Iso;
  closedAt: Iso;
}

export interface MessageJson {
  id: string;
  dialogId: string;
  author: string;
  text: string;
  operatorId: string | null;
  createdAt: string;
}

export interface TransferJson {
  id: string;
  dialogId: string;
  at: string;
  kind: string;
  outcome: string;
  reasons: string[];
  note: string | null;
  requestedGroupId: string | null;
  requestedOperatorId: string | null;
  fromOperatorId: string | null;
  toOperatorId: string | null;
}

/** No email: a receiver is an integration, and integrations do not read operators' emails. */
export interface OperatorJson {
  id: string;
  firstName: string;
  lastName: string;
  status: string;
  maxDialogs: number;
  activeDialogCount: number;
  lastActivityAt: Iso;
  groupIds: string[];
}

/** The JSON body of a delivery (Standard Webhooks: type, timestamp, data). */
export interface WebhookBody {
  type: string;
  /** When the event happened. */
  timestamp: string;
  data: {
    eventId: string;
    cursor: string;
    dialog: DialogJson | null;
    message: MessageJson | null;
    transfer: TransferJson | null;
    operator: OperatorJson | null;
  };
}

// Postgres builds the JSON: names, nulls and timestamp formats are fixed here, in one place.
const ISO = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const DIALOG_SQL = `select json_build_object(
    'id', d.id, 'externalId', d.external_id, 'clientName', d.client_name, 'status', d.status,
    'scenarioId', d.scenario_id, 'groupId', d.group_id, 'operatorId', d.operator_id,
    'createdAt', ${ISO('d.created_at')}, 'handedOverAt', ${ISO('d.handed_over_at')}, 'queuedAt', ${ISO('d.queued_at')},
    'assignedAt', ${ISO('d.assigned_at')}, 'firstResponseAt', ${ISO('d.first_response_at')}, 'closedAt', ${ISO('d.closed_at')}
  ) as json from dialogs d where d.id = ?`;

const MESSAGE_SQL = `select json_build_object(
    'id', m.id, 'dialogId', m.dialog_id, 'author', m.author, 'text', m.text, 'operatorId', m.operator_id,
    'createdAt', ${ISO('m.created_at')}
  ) as json from messages m where m.id = ?`;

const TRANSFER_SQL = `select json_build_object(
    'id', t.id, 'dialogId', t.dialog_id, 'at', ${ISO('t.at')}, 'kind', t.kind, 'outcome', t.outcome,
    'reasons', to_json(t.reasons), 'note', t.note, 'requestedGroupId', t.requested_group_id,
    'requestedOperatorId', t.requested_operator_id, 'fromOperatorId', t.from_operator_id, 'toOperatorId', t.to_operator_id
  ) as json from dialog_transfers t where t.id = ?`;

const OPERATOR_SQL = `select json_build_object(
    'id', o.id, 'firstName', u.first_name, 'lastName', u.last_name, 'status', o.status,
    'maxDialogs', o.max_dialogs, 'activeDialogCount', o.active_dialog_count, 'lastActivityAt', ${ISO('o.last_activity_at')},
    'groupIds', coalesce((select json_agg(gm.group_id order by gm.group_id) from group_members gm where gm.operator_id = o.id), '[]'::json)
  ) as json from operators o join users u on u.id = o.user_id where o.id = ?`;

async function one<T>(em: EntityManager, sql: string, id: string | null): Promise<T | null> {
  if (id === null) return null;
  const [row] = await em.execute<Array<{ json: T }>>(sql, [id]);
  return row?.json ?? null;
}

/**
 * A delivery's body. The entities are read when the attempt is built, so a retry shows them as
 * they are then; the event's type and the transfer (a decision, never changed) say what happened.
 */
export async function webhookBody(em: EntityManager, entry: LogEntry): Promise<WebhookBody> {
  const [dialog, message, transfer, operator] = await Promise.all([
    one<DialogJson>(em, DIALOG_SQL, entry.dialogId),
    one<MessageJson>(em, MESSAGE_SQL, entry.messageId),
    one<TransferJson>(em, TRANSFER_SQL, entry.transferId),
    one<OperatorJson>(em, OPERATOR_SQL, entry.operatorId),
  ]);
  const cursor = cursorOf(entry.position);
  return {
    type: entry.type,
    timestamp: entry.at.toISOString(),
    data: { eventId: cursor, cursor, dialog, message, transfer, operator },
  };
}
