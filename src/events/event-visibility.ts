import { Role } from '../auth/role.js';
import type { Viewer } from '../auth/viewer.js';
import { DialogStatus } from '../dialogs/dialog-enums.js';
import type { Loaders } from '../loaders.js';
import type { LogEntry } from '../realtime/event-log.js';
import { topics } from './topics.js';
import { EventType } from './event-type.js';

/**
 * Who sees which feed events. ADMIN and SUPERVISOR: all. INTEGRATION: dialog and status events
 * (today that is all of them). OPERATOR: events of dialogs they may see now (as for `dialog(id)`:
 * assigned to them, queued in Help, or in one of their groups) and the status events of their
 * groups' members.
 */
export async function mayView(viewer: Viewer, entry: LogEntry, loaders: Loaders): Promise<boolean> {
  if (viewer.role !== Role.OPERATOR) return true;
  const operatorId = viewer.operatorId;
  if (entry.type === (EventType.OPERATOR_STATUS_CHANGED as string)) {
    if (operatorId === null) return false;
    if (entry.operatorId === operatorId) return true;
    const groups = await loaders.groupsOfOperator.load(operatorId);
    return groups.some((g) => topics.groupOperatorStatus(g.id) in entry.topics);
  }
  if (entry.dialogId === null) return false;
  const dialog = await loaders.dialogById.load(entry.dialogId);
  if (!dialog) return false;
  if (dialog.status === DialogStatus.QUEUED) return true;
  if (operatorId === null) return false;
  if (dialog.status === DialogStatus.ASSIGNED && dialog.operatorId === operatorId) return true;
  const groupId = dialog.groupId;
  if (groupId === null) return false;
  const groups = await loaders.groupsOfOperator.load(operatorId);
  return groups.some((g) => g.id === groupId);
}
