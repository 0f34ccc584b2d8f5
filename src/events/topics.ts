import { DialogStatus } from '../dialogs/dialog-enums.js';
import { DialogEventType } from '../dialogs/dialog-event-types.js';
import type { DomainEvent } from './domain-event.js';

/** Topic names: one stream per group queue, the Help queue, operator, dialog. */
export const topics = {
  groupQueue: (groupId: string) => `queue:${groupId}`,
  helpQueue: 'queue:help',
  operatorDialogs: (operatorId: string) => `operator:${operatorId}`,
  dialog: (dialogId: string) => `dialog:${dialogId}`,
  /** Every operator's status. */
  operatorStatus: 'operators',
  /** The status of a group's members (its own stream, so its sequence has no gaps). */
  groupOperatorStatus: (groupId: string) => `operators:${groupId}`,
  sessions: 'sessions',
} as const;

/** Every topic an event belongs to (its sequence advances on each). Derived, never listed by hand. */
export function topicsOf(event: DomainEvent): string[] {
  const out = new Set<string>();
  switch (event.kind) {
    case 'queue':
      for (const g of [event.groupId, event.previousGroupId]) if (g) out.add(topics.groupQueue(g));
      if (event.status === DialogStatus.QUEUED || event.previousStatus === DialogStatus.QUEUED) out.add(topics.helpQueue);
      for (const o of [event.operatorId, event.previousOperatorId]) if (o) out.add(topics.operatorDialogs(o));
      break;
    case 'dialog':
      out.add(topics.dialog(event.dialogId));
      if (event.type === DialogEventType.MESSAGE && event.operatorId) out.add(topics.operatorDialogs(event.operatorId));
      break;
    case 'sl':
      out.add(topics.dialog(event.dialogId));
      if (event.groupId) out.add(topics.groupQueue(event.groupId));
      if (event.queued) out.add(topics.helpQueue);
      break;
    case 'operator':
      out.add(topics.operatorStatus);
      for (const g of event.groupIds) out.add(topics.groupOperatorStatus(g));
      break;
    case 'started':
      // In the log only (Query.events, webhooks): no per-topic stream carries it.
      break;
    case 'session_ended':
    case 'token_revoked':
      out.add(topics.sessions);
      break;
  }
  return [...out];
}
