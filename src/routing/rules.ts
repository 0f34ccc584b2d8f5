import { SkipReason } from './transfer-enums.js';

/**
 * The routing rules of MISSION.md as plain functions. The SQL in router.ts implements the same
 * orderings; the model-based test checks the two agree.
 */

export interface Candidate {
  readonly id: string;
  readonly online: boolean;
  readonly active: number;
  readonly max: number;
  /** null = never assigned, which counts as the longest wait. */
  readonly lastAssignedAt: Date | null;
}

/** Only ONLINE operators below their maximum receive dialogs. */
export function isAvailable(c: Candidate): boolean {
  return c.online && c.active < c.max;
}

/** Fewest active dialogs first; ties: longest since last assignment; then id. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.active !== b.active) return a.active - b.active;
  const aAt = a.lastAssignedAt?.getTime() ?? -Infinity;
  const bAt = b.lastAssignedAt?.getTime() ?? -Infinity;
  if (aAt !== bAt) return aAt < bAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function pickLeastLoaded(candidates: readonly Candidate[], excludeId?: string | null): Candidate | undefined {
  return candidates.filter((c) => isAvailable(c) && c.id !== excludeId).sort(compareCandidates)[0];
}

export function whyOperatorSkipped(c: Candidate | undefined, excludeId?: string | null): SkipReason | null {
  if (!c) return SkipReason.OPERATOR_NOT_FOUND;
  if (c.id === excludeId) return SkipReason.OPERATOR_IS_SENDER;
  if (!c.online) return SkipReason.OPERATOR_OFFLINE;
  if (c.active >= c.max) return SkipReason.OPERATOR_AT_CAPACITY;
  return null;
}

export function whyGroupSkipped(members: readonly Candidate[], excludeId?: string | null): SkipReason {
  const others = members.filter((m) => m.id !== excludeId);
  if (others.length === 0) return SkipReason.GROUP_EMPTY;
  if (!others.some((m) => m.online)) return SkipReason.GROUP_NO_ONLINE_MEMBERS;
  return SkipReason.GROUP_AT_CAPACITY;
}

export interface QueuedDialog {
  readonly id: string;
  readonly groupId: string | null;
  /** Running SL deadline; null (no clock running) drains after every deadline. */
  readonly slDeadline: Date | null;
  readonly queuedAt: Date;
}

/** Most urgent first: earliest SL deadline, then longest queued, then id. */
export function compareQueued(a: QueuedDialog, b: QueuedDialog): number {
  const aD = a.slDeadline?.getTime() ?? Infinity;
  const bD = b.slDeadline?.getTime() ?? Infinity;
  if (aD !== bD) return aD < bD ? -1 : 1;
  const aQ = a.queuedAt.getTime();
  const bQ = b.queuedAt.getTime();
  if (aQ !== bQ) return aQ - bQ;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The queued dialogs a freed operator takes, in order: those aimed at the operator's groups
 * first, then any; each part most urgent first; at most `free` of them.
 */
export function drainOrder(queue: readonly QueuedDialog[], operatorGroupIds: ReadonlySet<string>, free: number): QueuedDialog[] {
  if (free <= 0) return [];
  const own = queue.filter((d) => d.groupId !== null && operatorGroupIds.has(d.groupId)).sort(compareQueued);
  const rest = queue.filter((d) => !(d.groupId !== null && operatorGroupIds.has(d.groupId))).sort(compareQueued);
  return [...own, ...rest].slice(0, free);
}
