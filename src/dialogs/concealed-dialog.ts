import type { DialogRecord } from './dialog-record.js';

/** The concealed copies: their content fields answer empty (see Dialog's field resolvers). */
const concealed = new WeakSet<DialogRecord>();

/**
 * A dialog as a stream shows it to an operator who may not see it now (it went on to a group of
 * others, and `dialog(id)` answers null to them): which dialog it is and where it went, not what
 * was said in it — its messages, transfers, counts, the client's name and chat id answer empty.
 * A stream reads the dialog as it is when it delivers, which for a replayed event is later than
 * the event itself.
 */
export function concealedDialog(dialog: DialogRecord): DialogRecord {
  const copy: DialogRecord = { ...dialog, externalId: null, clientName: null };
  concealed.add(copy);
  return copy;
}

export function isConcealed(dialog: DialogRecord): boolean {
  return concealed.has(dialog);
}
