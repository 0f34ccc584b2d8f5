import type { EntityManager } from '@mikro-orm/postgresql';
import { pgDate } from '../shared/pg-time.js';
import { MessageAuthor } from './dialog-enums.js';

/**
 * A message as the API answers with it (the GraphQL type `Message`): a plain object built from
 * its row, as dialogs are (dialog-record.ts). Messages are written only by SQL.
 */
export interface MessageRecord {
  readonly id: string;
  readonly dialogId: string;
  readonly author: MessageAuthor;
  readonly text: string;
  /** The operator who wrote it; null for the client's and the bot's, and for staff without an operator. */
  readonly operatorId: string | null;
  readonly createdAt: Date;
}

/** A messages row as PostgreSQL returns it (`select m.*`: timestamps as text). */
export interface MessageRow {
  readonly id: string;
  readonly dialog_id: string;
  readonly seq: string;
  readonly author: string;
  readonly text: string;
  readonly operator_id: string | null;
  readonly created_at: string | Date;
}

export function messageRecord(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    dialogId: row.dialog_id,
    author: row.author as MessageAuthor,
    text: row.text,
    operatorId: row.operator_id,
    createdAt: pgDate(row.created_at)!,
  };
}

/** The messages with these ids, in no order. */
export async function readMessages(em: EntityManager, ids: readonly string[]): Promise<MessageRecord[]> {
  const rows = await em.execute<MessageRow[]>('select m.* from messages m where m.id in (?)', [ids]);
  return rows.map(messageRecord);
}

/** Every message of these dialogs, each dialog's oldest first. */
export async function readMessagesOfDialogs(em: EntityManager, dialogIds: readonly string[]): Promise<MessageRecord[]> {
  const rows = await em.execute<MessageRow[]>('select m.* from messages m where m.dialog_id in (?) order by m.seq', [dialogIds]);
  return rows.map(messageRecord);
}
