import type { EntityManager } from '@mikro-orm/postgresql';
import { cursorOf } from '../events/event.types.js';

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
// Each part is a subquery of the log entry `l` it belongs to.
const ISO = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const DIALOG_SQL = `select json_build_object(
    'id', d.id, 'externalId', d.external_id, 'clientName', d.client_name, 'status', d.status,
    'scenarioId', d.scenario_id, 'groupId', d.group_id, 'operatorId', d.operator_id,
    'createdAt', ${ISO('d.created_at')}, 'handedOverAt', ${ISO('d.handed_over_at')}, 'queuedAt', ${ISO('d.queued_at')},
    'assignedAt', ${ISO('d.assigned_at')}, 'firstResponseAt', ${ISO('d.first_response_at')}, 'closedAt', ${ISO('d.closed_at')}
  ) from dialogs d where d.id = l.dialog_id`;

const MESSAGE_SQL = `select json_build_object(
    'id', m.id, 'dialogId', m.dialog_id, 'author', m.author, 'text', m.text, 'operatorId', m.operator_id,
    'createdAt', ${ISO('m.created_at')}
  ) from messages m where m.id = l.message_id`;

const TRANSFER_SQL = `select json_build_object(
    'id', t.id, 'dialogId', t.dialog_id, 'at', ${ISO('t.at')}, 'kind', t.kind, 'outcome', t.outcome,
    'reasons', to_json(t.reasons), 'note', t.note, 'requestedGroupId', t.requested_group_id,
    'requestedOperatorId', t.requested_operator_id, 'fromOperatorId', t.from_operator_id, 'toOperatorId', t.to_operator_id
  ) from dialog_transfers t where t.id = l.transfer_id`;

const OPERATOR_SQL = `select json_build_object(
    'id', o.id, 'firstName', u.first_name, 'lastName', u.last_name, 'status', o.status,
    'maxDialogs', o.max_dialogs, 'activeDialogCount', o.active_dialog_count, 'lastActivityAt', ${ISO('o.last_activity_at')},
    'groupIds', coalesce((select json_agg(gm.group_id order by gm.group_id) from group_members gm where gm.operator_id = o.id), '[]'::json)
  ) from operators o join users u on u.id = o.user_id where o.id = l.operator_id`;

interface BodyRow {
  readonly position: string;
  readonly type: string;
  readonly at: Date | string;
  readonly dialog: DialogJson | null;
  readonly message: MessageJson | null;
  readonly transfer: TransferJson | null;
  readonly operator: OperatorJson | null;
}

/**
 * The bodies of the deliveries of the log entries at `positions`, by position, in one statement
 * (an entry the log no longer keeps has none). The entities are read when the attempt is built,
 * so a retry shows them as they are then; the event's type and the transfer (a decision, never
 * changed) say what happened.
 */
export async function webhookBodies(em: EntityManager, positions: readonly number[]): Promise<Map<number, WebhookBody>> {
  if (positions.length === 0) return new Map();
  const rows = await em.execute<BodyRow[]>(
    `select l.position, l.type, l.at, (${DIALOG_SQL}) as dialog, (${MESSAGE_SQL}) as message,
            (${TRANSFER_SQL}) as transfer, (${OPERATOR_SQL}) as operator
       from event_log l where l.position = any(?::bigint[])`,
    // An array literal: the query builder would spread a JS array into a list of values.
    [`{${positions.join(',')}}`],
  );
  return new Map(
    rows.map((row) => {
      const cursor = cursorOf(Number(row.position));
      const { dialog, message, transfer, operator } = row;
      const body = {
        type: row.type,
        timestamp: new Date(row.at).toISOString(),
        data: { eventId: cursor, cursor, dialog, message, transfer, operator },
      };
      return [Number(row.position), body];
    }),
  );
}
