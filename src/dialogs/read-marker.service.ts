import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer.js';
import type { Clock } from '../shared/clock.js';
import { ForbiddenError, NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { isId } from '../shared/validate.js';
import type { DialogQueries } from './dialog.queries.js';

/**
 * Each operator's read marker per dialog: the newest message they have read. Unread counts are
 * the CLIENT messages after it (Dialog.unreadCount); the marker never moves back, so a stale tab
 * marking an older message cannot bring read messages back as unread.
 */
export class ReadMarkerService {
  constructor(
    private readonly clock: Clock,
    private readonly queries: DialogQueries,
  ) {}

  /**
   * Moves the caller's marker in `dialogId` to `messageId` (default: the dialog's newest message;
   * none yet: nothing changes). The caller needs an operator profile and must see the dialog
   * (as the `dialog` query does); the message must be one of the dialog's.
   */
  async markRead(em: EntityManager, viewer: Viewer, dialogId: string, messageId: string | null): Promise<void> {
    const operatorId = viewer.operatorId;
    if (operatorId === null) throw new ForbiddenError('Read markers belong to operators: this caller has no operator profile');
    await inTransaction(em, async (tx) => {
      if (!(await this.queries.find(tx, viewer, dialogId))) {
        if (await this.queries.exists(tx, dialogId)) throw new ForbiddenError('This dialog is not visible to the caller');
        throw new NotFoundError('Dialog', dialogId, 'dialogId');
      }
      if (messageId !== null && !isId(messageId)) throw new NotFoundError('Message', messageId, 'messageId');
      const [message] = await tx.execute<Array<{ seq: string }>>(
        messageId === null
          ? 'select seq from messages where dialog_id = ? order by seq desc limit 1'
          : 'select seq from messages where dialog_id = ? and id = ?',
        messageId === null ? [dialogId] : [dialogId, messageId],
      );
      if (!message) {
        // A message of another dialog is not found here either: the marker is per dialog.
        if (messageId !== null) throw new NotFoundError('Message', messageId, 'messageId');
        return;
      }
      await tx.execute(
        `insert into dialog_reads (operator_id, dialog_id, last_read_seq, read_at) values (?, ?, ?, ?)
         on conflict (operator_id, dialog_id) do update
           set last_read_seq = excluded.last_read_seq, read_at = excluded.read_at
           where dialog_reads.last_read_seq < excluded.last_read_seq`,
        [operatorId, dialogId, message.seq, this.clock.now()],
      );
    });
  }
}
