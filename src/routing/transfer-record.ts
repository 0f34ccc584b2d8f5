import type { EntityManager } from '@mikro-orm/postgresql';
import { TransferOutcome } from '../dialogs/dialog-enums.js';
import { pgDate } from '../shared/pg-time.js';
import { RoutingCause, SkipReason } from './transfer-enums.js';

/**
 * A routing decision as the API answers with it (the GraphQL type `DialogTransfer`): a plain
 * object built from its row. Decisions are written only by the router's SQL.
 */
export interface TransferRecord {
  readonly id: string;
  readonly dialogId: string;
  readonly at: Date;
  readonly kind: RoutingCause;
  readonly requestedGroupId: string | null;
  readonly requestedOperatorId: string | null;
  readonly fromOperatorId: string | null;
  readonly toOperatorId: string | null;
  readonly outcome: TransferOutcome;
  readonly reasons: readonly SkipReason[];
  readonly note: string | null;
}

/** A dialog_transfers row as PostgreSQL returns it (`select t.*`: timestamps as text). */
export interface TransferRow {
  readonly id: string;
  readonly dialog_id: string;
  readonly at: string | Date;
  readonly kind: string;
  readonly requested_group_id: string | null;
  readonly requested_operator_id: string | null;
  readonly from_operator_id: string | null;
  readonly to_operator_id: string | null;
  readonly outcome: string;
  readonly reasons: readonly string[];
  readonly note: string | null;
}

export function transferRecord(row: TransferRow): TransferRecord {
  return {
    id: row.id,
    dialogId: row.dialog_id,
    at: pgDate(row.at)!,
    kind: row.kind as RoutingCause,
    requestedGroupId: row.requested_group_id,
    requestedOperatorId: row.requested_operator_id,
    fromOperatorId: row.from_operator_id,
    toOperatorId: row.to_operator_id,
    outcome: row.outcome as TransferOutcome,
    reasons: row.reasons as readonly SkipReason[],
    note: row.note,
  };
}

/** The decisions with these ids, in no order. */
export async function readTransfers(em: EntityManager, ids: readonly string[]): Promise<TransferRecord[]> {
  const rows = await em.execute<TransferRow[]>('select t.* from dialog_transfers t where t.id in (?)', [ids]);
  return rows.map(transferRecord);
}

/** Every decision about these dialogs, each dialog's oldest first. */
export async function readTransfersOfDialogs(em: EntityManager, dialogIds: readonly string[]): Promise<TransferRecord[]> {
  const rows = await em.execute<TransferRow[]>('select t.* from dialog_transfers t where t.dialog_id in (?) order by t.seq', [
    dialogIds,
  ]);
  return rows.map(transferRecord);
}
