import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { groupRecord, readGroups } from './groups/group-record.js';
import { OPERATOR_COLUMNS, operatorRecord, readOperators, readOperatorsOfUsers } from './operators/operator-record.js';
import { readUsers } from './users/user-record.js';
import { readScenarios } from './scenarios/scenario-record.js';
import { messageRecord, readMessages, readMessagesOfDialogs, type MessageRow } from './dialogs/message-record.js';
import { readTransfers, readTransfersOfDialogs } from './routing/transfer-record.js';
import { readDialogs } from './dialogs/dialog-record.js';
import { listLoader, rowLoader } from './shared/loader.js';
import type { EventScope } from './realtime/event-bus.js';
import { leftQueueSince, queuePositions } from './dialogs/queue-position.js';

/**
 * Records reached through memberships, each with the key it was asked by, in one statement.
 * `sql` selects `member_of` (the key) and the row's columns. Each record is built once however
 * many keys share it: a dashboard's 1,000 memberships are 50 groups.
 */
async function membersOf<Row extends { id: string }, T>(
  em: EntityManager,
  sql: string,
  keys: readonly string[],
  record: (row: Row) => T,
): Promise<Array<{ key: string; value: T }>> {
  const rows = await em.execute<Array<Row & { member_of: string }>>(sql, [keys]);
  const built = new Map<string, T>();
  return rows.map((row) => {
    let value = built.get(row.id);
    if (value === undefined) {
      value = record(row);
      built.set(row.id, value);
    }
    return { key: row.member_of, value };
  });
}

export function messagesKey(last: number, dialogId: string): string {
  return `${last}/${dialogId}`;
}

function parseMessagesKey(key: string): { last: number; dialogId: string } {
  const [last, dialogId] = key.split('/');
  return { last: Number(last), dialogId };
}

export function unreadKey(operatorId: string, dialogId: string): string {
  return `${operatorId}/${dialogId}`;
}

function parseUnreadKey(key: string): { operatorId: string; dialogId: string } {
  const [operatorId, dialogId] = key.split('/');
  return { operatorId, dialogId };
}

/**
 * Request-scoped DataLoaders for every relation a list can fan out over. By-id loaders also
 * find soft-deleted rows, so history (a dialog's former group) still resolves.
 */
export class Loaders {
  readonly groupById;
  readonly operatorById;
  readonly userById;
  readonly operatorByUserId;
  /** Live operators of each group, oldest member first. */
  readonly operatorsOfGroup;
  /** Live groups of each operator, by name. */
  readonly groupsOfOperator;
  readonly scenarioById;
  readonly dialogById;
  readonly messageById;
  /** Messages of each dialog, oldest first. */
  readonly messagesOfDialog;
  /** Routing decisions of each dialog, oldest first. */
  readonly transfersOfDialog;
  readonly transferById;
  /** A stream's latest sequence by topic name (0 before its first event). */
  readonly topicSequence;
  /** Each QUEUED dialog's place in the drain order; null when not queued. */
  readonly queuePositionOf;
  /** Dialogs that left the Help queue to an operator since the key (an ISO time). */
  readonly leftQueueSince;
  /** The newest message of each dialog (null: none yet). */
  readonly lastMessageOfDialog;
  /** How many messages each dialog has. */
  readonly messageCountOfDialog;
  /** Keyed by `messagesKey(last, dialogId)`: the dialog's newest `last` messages, oldest first. */
  readonly newestMessagesOfDialog;
  /**
   * Keyed by `unreadKey(operatorId, dialogId)`: the dialog's CLIENT messages after the operator's
   * read marker. Keyed by operator too, as one event's loaders serve every subscriber.
   */
  readonly unreadCount;

  constructor(em: EntityManager) {
    this.groupById = rowLoader(
      (ids) => readGroups(em, ids),
      (g) => g.id,
    );
    this.operatorById = rowLoader(
      (ids) => readOperators(em, ids),
      (o) => o.id,
    );
    this.userById = rowLoader(
      (ids) => readUsers(em, ids),
      (u) => u.id,
    );
    this.operatorByUserId = rowLoader(
      (ids) => readOperatorsOfUsers(em, ids),
      (o) => o.userId,
    );
    this.operatorsOfGroup = listLoader(
      (ids) =>
        membersOf(
          em,
          `select gm.group_id as member_of, ${OPERATOR_COLUMNS} from group_members gm join operators o on o.id = gm.operator_id
            where gm.group_id in (?) and o.deleted_at is null order by gm.created_at, o.id`,
          ids,
          operatorRecord,
        ),
      (m) => m.key,
      (m) => m.value,
    );
    this.groupsOfOperator = listLoader(
      (ids) =>
        membersOf(
          em,
          `select gm.operator_id as member_of, g.* from group_members gm join groups g on g.id = gm.group_id
            where gm.operator_id in (?) and g.deleted_at is null order by g.name, g.id`,
          ids,
          groupRecord,
        ),
      (m) => m.key,
      (m) => m.value,
    );
    this.scenarioById = rowLoader(
      (ids) => readScenarios(em, ids),
      (s) => s.id,
    );
    this.dialogById = rowLoader(
      (ids) => readDialogs(em, ids),
      (d) => d.id,
    );
    this.messageById = rowLoader(
      (ids) => readMessages(em, ids),
      (m) => m.id,
    );
    this.messagesOfDialog = listLoader(
      (ids) => readMessagesOfDialogs(em, ids),
      (m) => m.dialogId,
      (m) => m,
    );
    this.transfersOfDialog = listLoader(
      (ids) => readTransfersOfDialogs(em, ids),
      (t) => t.dialogId,
      (t) => t,
    );
    this.topicSequence = new DataLoader<string, number>(async (names) => {
      const rows = await em.execute<Array<{ topic: string; seq: string }>>(
        'select topic, seq from event_topics where topic in (?)',
        [[...names]],
      );
      const seqs = new Map(rows.map((r) => [r.topic, Number(r.seq)]));
      return names.map((name) => seqs.get(name) ?? 0);
    });
    this.transferById = rowLoader(
      (ids) => readTransfers(em, ids),
      (t) => t.id,
    );
    this.queuePositionOf = rowLoader(
      (ids) => queuePositions(em, ids),
      (p) => p.id,
    );
    this.leftQueueSince = new DataLoader<string, number>((keys) =>
      Promise.all(keys.map((since) => leftQueueSince(em, new Date(since)))),
    );
    this.lastMessageOfDialog = rowLoader(
      async (ids) =>
        (
          await em.execute<MessageRow[]>(
            'select distinct on (dialog_id) * from messages where dialog_id in (?) order by dialog_id, seq desc',
            [ids],
          )
        ).map(messageRecord),
      (m) => m.dialogId,
    );
    this.messageCountOfDialog = new DataLoader<string, number>(async (ids) => {
      const rows = await em.execute<Array<{ dialog_id: string; n: number }>>(
        'select dialog_id, count(*)::int as n from messages where dialog_id in (?) group by dialog_id',
        [ids],
      );
      const counts = new Map(rows.map((r) => [r.dialog_id, r.n]));
      return ids.map((id) => counts.get(id) ?? 0);
    });
    this.newestMessagesOfDialog = listLoader(
      async (keys) => {
        const wanted = keys.map(parseMessagesKey);
        // One statement for every (dialog, last) pair asked for, each an index range scan.
        const rows = await em.execute<Array<MessageRow & { wanted_key: string }>>(
          `select k.key as wanted_key, m.*
             from jsonb_to_recordset(?::jsonb) as k(key text, dialog_id uuid, last int)
             cross join lateral (select * from messages where dialog_id = k.dialog_id order by seq desc limit k.last) m
            order by k.key, m.seq`,
          [JSON.stringify(wanted.map((w) => ({ key: messagesKey(w.last, w.dialogId), dialog_id: w.dialogId, last: w.last })))],
        );
        return rows.map((row) => ({ key: row.wanted_key, message: messageRecord(row) }));
      },
      (r) => r.key,
      (r) => r.message,
    );
    this.unreadCount = new DataLoader<string, number>(async (keys) => {
      const pairs = keys.map(parseUnreadKey);
      const rows = await em.execute<Array<{ operator_id: string; dialog_id: string; n: number }>>(
        `select k.operator_id, k.dialog_id, count(m.id)::int as n
           from jsonb_to_recordset(?::jsonb) as k(operator_id uuid, dialog_id uuid)
           left join dialog_reads r on r.operator_id = k.operator_id and r.dialog_id = k.dialog_id
           left join messages m on m.dialog_id = k.dialog_id and m.author = 'CLIENT' and m.seq > coalesce(r.last_read_seq, 0)
          group by k.operator_id, k.dialog_id`,
        [JSON.stringify(pairs.map((p) => ({ operator_id: p.operatorId, dialog_id: p.dialogId })))],
      );
      const counts = new Map(rows.map((r) => [unreadKey(r.operator_id, r.dialog_id), r.n]));
      return keys.map((key) => counts.get(key) ?? 0);
    });
  }

  /** Forget everything loaded; used after each mutation so its result is read fresh. */
  clearAll(): void {
    for (const value of Object.values(this)) if (value instanceof DataLoader) value.clearAll();
  }
}

/** The loaders shared by everyone receiving one event on this process. */
export function eventLoaders(scope: EventScope): Loaders {
  return scope.shared('loaders', () => new Loaders(scope.em));
}
