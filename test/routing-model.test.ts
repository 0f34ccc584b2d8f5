import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, login } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';

/**
 * Random command sequences run against the real API and against a small in-memory model of
 * MISSION's routing rules; after every command both must agree on every dialog, every
 * operator's load and the Help queue's order and positions. Commands include AWAY flips,
 * priorities, operators' hand-offs and waits that let the sweep re-route unanswered dialogs
 * (NO_ANSWER) and drain the queue. The model is written here from MISSION's words,
 * independently of the router and of src/routing/rules.ts (orderings included), so a wrong rule
 * cannot be wrong on both sides.
 */

const GROUPS = 3;
const OPERATORS = 4;
const FIRST_RESPONSE_SEC = [60, 20, 300];
/** Group 1 re-routes a dialog its operator leaves unanswered this long after the assignment. */
const REASSIGN_AFTER_SEC = [0, 30, 0];
const DEFAULT_FIRST_SEC = 60;
const PASSWORD = 'correct horse battery';

type Status = 'ONLINE' | 'AWAY' | 'OFFLINE';

interface MOperator {
  id: string;
  status: Status;
  max: number;
  groups: Set<string>;
  lastAssignedAt: Date | null;
}
interface MDialog {
  id: string;
  status: 'BOT' | 'QUEUED' | 'ASSIGNED' | 'CLOSED';
  operatorId: string | null;
  groupId: string | null;
  deadline: Date | null;
  queuedAt: Date | null;
  assignedAt: Date | null;
  priority: number;
  /** Who handed it on (or left it unanswered) into Help: no drain gives it back to them. */
  handedOnBy: string | null;
}

type Key = ReadonlyArray<number | string>;

/** Ascending by the first differing key part. */
function byKey<T>(key: (item: T) => Key): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  };
}

/** "Fewest active dialogs; ties: waited longest since the last assignment (never = longest); then id." */
const leastLoadedFirst = byKey<{ id: string; active: number; lastAssignedAt: Date | null }>((o) => [
  o.active,
  o.lastAssignedAt === null ? Number.NEGATIVE_INFINITY : o.lastAssignedAt.getTime(),
  o.id,
]);

/** The drain order: higher priority, then earliest SL deadline (none = last), then queued longest, then id. */
const mostUrgentFirst = byKey<MDialog>((d) => [
  -d.priority,
  d.deadline === null ? Number.POSITIVE_INFINITY : d.deadline.getTime(),
  d.queuedAt!.getTime(),
  d.id,
]);

/** A leaving operator's dialogs move in the same urgency, by assignment time where the queue has its queued time. */
const heldOrder = byKey<MDialog>((d) => [
  -d.priority,
  d.deadline === null ? Number.POSITIVE_INFINITY : d.deadline.getTime(),
  d.assignedAt!.getTime(),
  d.id,
]);

type Cause = 'TRANSFER' | 'REROUTE' | 'NO_ANSWER';

class Model {
  operators = new Map<string, MOperator>();
  dialogs = new Map<string, MDialog>();
  groupTargets = new Map<string, number>();
  reassignAfter = new Map<string, number>();
  constructor(private readonly now: () => Date) {}

  private active(opId: string): number {
    return [...this.dialogs.values()].filter((d) => d.status === 'ASSIGNED' && d.operatorId === opId).length;
  }
  private available(op: MOperator, exclude: string | null): boolean {
    return op.status === 'ONLINE' && this.active(op.id) < op.max && op.id !== exclude;
  }
  private best(ops: MOperator[], exclude: string | null): MOperator | undefined {
    const c = ops
      .filter((o) => this.available(o, exclude))
      .map((o) => ({ id: o.id, active: this.active(o.id), lastAssignedAt: o.lastAssignedAt }))
      .sort(leastLoadedFirst)[0];
    return c ? this.operators.get(c.id) : undefined;
  }

  route(
    d: MDialog,
    target: { groupId: string | null; operatorId: string | null },
    exclude: string | null,
    cause: Cause = 'TRANSFER',
  ): void {
    const now = this.now();
    const previous = d.status === 'ASSIGNED' ? d.operatorId : null;
    let chosen: MOperator | undefined;
    if (target.operatorId) {
      const op = this.operators.get(target.operatorId)!;
      if (this.available(op, exclude)) chosen = op;
    }
    if (!chosen && target.groupId)
      chosen = this.best(
        [...this.operators.values()].filter((o) => o.groups.has(target.groupId!)),
        exclude,
      );
    if (!chosen) chosen = this.best([...this.operators.values()], exclude);
    const groupId = target.groupId ?? d.groupId;
    const firstHandOver = d.status === 'BOT';
    if (chosen) {
      if (chosen.id !== previous) chosen.lastAssignedAt = now;
      Object.assign(d, { status: 'ASSIGNED', operatorId: chosen.id, groupId, assignedAt: now, handedOnBy: null });
    } else {
      // Re-queued, it keeps its place; who handed it on or left it unanswered is remembered.
      const remembered = cause === 'REROUTE' ? null : exclude;
      Object.assign(d, {
        status: 'QUEUED',
        operatorId: null,
        groupId,
        queuedAt: d.status === 'QUEUED' ? d.queuedAt : now,
        handedOnBy: remembered ?? d.handedOnBy,
      });
    }
    if (firstHandOver) {
      const sec = groupId ? this.groupTargets.get(groupId)! : DEFAULT_FIRST_SEC;
      d.deadline = new Date(now.getTime() + sec * 1000);
    }
  }

  drain(opId: string, skip: string | null = null): void {
    const op = this.operators.get(opId)!;
    if (op.status !== 'ONLINE') return;
    const free = op.max - this.active(opId);
    if (free <= 0) return;
    const queued = [...this.dialogs.values()].filter((d) => d.status === 'QUEUED' && d.id !== skip && d.handedOnBy !== opId);
    const own = queued
      .filter((d) => d.groupId && op.groups.has(d.groupId))
      .sort(mostUrgentFirst)
      .slice(0, free);
    const rest = queued
      .filter((d) => !own.some((o) => o.id === d.id))
      .sort(mostUrgentFirst)
      .slice(0, free - own.length);
    const now = this.now();
    for (const q of [...own, ...rest]) {
      Object.assign(this.dialogs.get(q.id)!, { status: 'ASSIGNED', operatorId: opId, assignedAt: now, handedOnBy: null });
      op.lastAssignedAt = now;
    }
  }

  /** AWAY keeps what is held and takes nothing; ONLINE drains; OFFLINE routes the held dialogs on. */
  setStatus(opId: string, status: Status): void {
    const op = this.operators.get(opId)!;
    if (op.status === status) return;
    op.status = status;
    if (status === 'ONLINE') return this.drain(opId);
    if (status === 'AWAY') return;
    const held = [...this.dialogs.values()].filter((d) => d.status === 'ASSIGNED' && d.operatorId === opId).sort(heldOrder);
    for (const d of held) this.route(d, { groupId: d.groupId, operatorId: null }, opId, 'REROUTE');
  }

  /** An operator hands a dialog they hold on: never back to them. */
  handOff(d: MDialog, target: { groupId: string | null; operatorId: string | null }): void {
    const from = d.operatorId!;
    this.route(d, target, from);
    this.drain(from, d.id);
  }

  /**
   * The sweep: dialogs assigned reassignAfter seconds ago or more in a group with the rule (no
   * operator ever replies here, so their clocks run) go on as NO_ANSWER, oldest assignment first;
   * then every free ONLINE operator, least loaded first, drains.
   */
  sweep(): void {
    const now = this.now().getTime();
    const due = (d: MDialog): boolean => {
      const after = d.groupId ? (this.reassignAfter.get(d.groupId) ?? 0) : 0;
      return d.status === 'ASSIGNED' && after > 0 && d.assignedAt!.getTime() + after * 1000 <= now;
    };
    const candidates = [...this.dialogs.values()].filter(due).sort(byKey((d) => [d.assignedAt!.getTime(), d.id]));
    for (const d of candidates) {
      if (!due(d)) continue;
      const silent = d.operatorId!;
      this.route(d, { groupId: d.groupId, operatorId: null }, silent, 'NO_ANSWER');
      this.drain(silent, d.id);
    }
    if (!this.helpQueue().length) return;
    const free = [...this.operators.values()]
      .filter((o) => this.available(o, null))
      .map((o) => ({ id: o.id, active: this.active(o.id), lastAssignedAt: o.lastAssignedAt }))
      .sort(leastLoadedFirst);
    for (const o of free) this.drain(o.id);
  }

  close(d: MDialog): void {
    const from = d.status === 'ASSIGNED' ? d.operatorId : null;
    // A closed dialog keeps the operator who held it (none if it was queued or with the bot).
    Object.assign(d, { status: 'CLOSED', operatorId: from });
    if (from) this.drain(from);
  }

  transfer(d: MDialog, target: { groupId: string | null; operatorId: string | null }): void {
    const from = d.status === 'ASSIGNED' ? d.operatorId : null;
    this.route(d, target, null);
    if (from) this.drain(from, d.id);
  }

  raiseMax(opId: string, by: number): void {
    this.operators.get(opId)!.max += by;
    this.drain(opId);
  }

  helpQueue(): string[] {
    return [...this.dialogs.values()]
      .filter((d) => d.status === 'QUEUED')
      .sort(mostUrgentFirst)
      .map((d) => d.id);
  }
}

type Command =
  | { kind: 'status'; op: number; status: Status }
  | { kind: 'priority'; dialog: number; priority: number }
  | { kind: 'handOff'; dialog: number; group: number | null; op: number | null }
  | { kind: 'wait' }
  | { kind: 'newToGroup'; group: number; priority: number }
  | { kind: 'newToOperator'; op: number; group: number | null }
  | { kind: 'botFailure' }
  | { kind: 'transfer'; dialog: number; group: number | null; op: number | null }
  | { kind: 'close'; dialog: number }
  | { kind: 'raiseMax'; op: number; by: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      op: fc.nat(OPERATORS - 1),
      status: fc.constantFrom<Status>('ONLINE', 'ONLINE', 'AWAY', 'OFFLINE'),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('newToGroup' as const), group: fc.nat(GROUPS - 1), priority: fc.nat(3) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('priority' as const), dialog: fc.nat(50), priority: fc.nat(10) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('handOff' as const),
      dialog: fc.nat(50),
      group: fc.option(fc.nat(GROUPS - 1)),
      op: fc.option(fc.nat(OPERATORS - 1)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('newToOperator' as const),
      op: fc.nat(OPERATORS - 1),
      group: fc.option(fc.nat(GROUPS - 1)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('botFailure' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('transfer' as const),
      dialog: fc.nat(50),
      group: fc.option(fc.nat(GROUPS - 1)),
      op: fc.option(fc.nat(OPERATORS - 1)),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('close' as const), dialog: fc.nat(50) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('raiseMax' as const),
      op: fc.nat(OPERATORS - 1),
      by: fc.integer({ min: 1, max: 2 }),
    }),
  },
);

async function runScenario(commands: Command[]): Promise<void> {
  const clock = new ManualClock('2026-06-01T09:00:00.000Z');
  const t: TestApp = await startTestApp({ clock });
  // The test sweeps when the model does.
  await t.quiet();
  try {
    const admin = t.admin;
    const bot: GraphqlClient = t.client(await apiToken(admin, 'INTEGRATION'));
    const model = new Model(() => clock.now());
    const groups: string[] = [];
    for (let g = 0; g < GROUPS; g++) {
      const { createGroup } = await admin.ok(
        `mutation($n: String!, $s: Int!, $r: Int!) { createGroup(input: { name: $n, slFirstResponseSec: $s, slNextResponseSec: 60, reassignAfterSec: $r }) { id } }`,
        { n: `g${g}`, s: FIRST_RESPONSE_SEC[g], r: REASSIGN_AFTER_SEC[g] },
      );
      groups.push(createGroup.id);
      model.groupTargets.set(createGroup.id, FIRST_RESPONSE_SEC[g]);
      model.reassignAfter.set(createGroup.id, REASSIGN_AFTER_SEC[g]);
    }
    const ops: string[] = [];
    const sessions = new Map<string, GraphqlClient>();
    for (let o = 0; o < OPERATORS; o++) {
      const memberOf = [groups[o % GROUPS], ...(o === 0 ? [groups[1]] : [])];
      const { createOperator } = await admin.ok(
        `mutation($e: String!, $g: [ID!], $m: Int, $p: String) { createOperator(input: { firstName: "O", lastName: "P", email: $e, groupIds: $g, maxDialogs: $m, password: $p }) { id } }`,
        { e: `o${o}@example.com`, g: memberOf, m: 1 + (o % 2), p: PASSWORD },
      );
      ops.push(createOperator.id);
      sessions.set(createOperator.id, t.client(await login(t.client(), `o${o}@example.com`, PASSWORD)));
      model.operators.set(createOperator.id, {
        id: createOperator.id,
        status: 'OFFLINE',
        max: 1 + (o % 2),
        groups: new Set(memberOf),
        lastAssignedAt: null,
      });
    }
    const dialogIds: string[] = [];
    const open = (): string[] => dialogIds.filter((id) => model.dialogs.get(id)!.status !== 'CLOSED');
    const newDialog = async (priority = 0): Promise<MDialog> => {
      const { startDialog } = await bot.ok(`mutation($p: Int) { startDialog(input: { priority: $p }) { id } }`, { p: priority });
      const d: MDialog = {
        priority,
        handedOnBy: null,
        id: startDialog.id,
        status: 'BOT',
        operatorId: null,
        groupId: null,
        deadline: null,
        queuedAt: null,
        assignedAt: null,
      };
      model.dialogs.set(d.id, d);
      dialogIds.push(d.id);
      return d;
    };
    const TRANSFER = `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id } }`;

    for (const [step, c] of commands.entries()) {
      clock.advance(1000);
      switch (c.kind) {
        case 'status':
          await admin.ok(`mutation($id: ID!, $s: OperatorStatus!) { setOperatorStatus(operatorId: $id, status: $s) { id } }`, {
            id: ops[c.op],
            s: c.status,
          });
          model.setStatus(ops[c.op], c.status);
          break;
        case 'priority': {
          const candidates = open();
          if (!candidates.length) break;
          const d = model.dialogs.get(candidates[c.dialog % candidates.length])!;
          await bot.ok(`mutation($id: ID!, $p: Int!) { setDialogPriority(dialogId: $id, priority: $p) { id } }`, {
            id: d.id,
            p: c.priority,
          });
          d.priority = c.priority;
          break;
        }
        case 'handOff': {
          const held = open().filter((id) => model.dialogs.get(id)!.status === 'ASSIGNED');
          if (!held.length || (c.group === null && c.op === null)) break;
          const d = model.dialogs.get(held[c.dialog % held.length])!;
          const to = { groupId: c.group === null ? null : groups[c.group], operatorId: c.op === null ? null : ops[c.op] };
          await sessions.get(d.operatorId!)!.ok(TRANSFER, { id: d.id, to });
          model.handOff(d, to);
          break;
        }
        case 'wait':
          clock.advance(30_000);
          await t.app.sweeper.runOnce();
          model.sweep();
          break;
        case 'newToGroup': {
          const d = await newDialog(c.priority);
          await bot.ok(TRANSFER, { id: d.id, to: { groupId: groups[c.group] } });
          model.transfer(d, { groupId: groups[c.group], operatorId: null });
          break;
        }
        case 'newToOperator': {
          const d = await newDialog();
          const to = { operatorId: ops[c.op], groupId: c.group === null ? null : groups[c.group] };
          await bot.ok(TRANSFER, { id: d.id, to });
          model.transfer(d, to);
          break;
        }
        case 'botFailure': {
          const d = await newDialog();
          await bot.ok(`mutation($id: ID!) { reportBotFailure(dialogId: $id) { id } }`, { id: d.id });
          model.transfer(d, { groupId: null, operatorId: null });
          break;
        }
        case 'transfer': {
          const candidates = open().filter((id) => model.dialogs.get(id)!.status !== 'BOT');
          if (!candidates.length || (c.group === null && c.op === null)) break;
          const d = model.dialogs.get(candidates[c.dialog % candidates.length])!;
          const to = { groupId: c.group === null ? null : groups[c.group], operatorId: c.op === null ? null : ops[c.op] };
          await bot.ok(TRANSFER, { id: d.id, to });
          model.transfer(d, to);
          break;
        }
        case 'close': {
          const candidates = open();
          if (!candidates.length) break;
          const d = model.dialogs.get(candidates[c.dialog % candidates.length])!;
          await bot.ok(`mutation($id: ID!) { closeDialog(dialogId: $id) { id } }`, { id: d.id });
          model.close(d);
          break;
        }
        case 'raiseMax': {
          const op = model.operators.get(ops[c.op])!;
          await admin.ok(`mutation($id: ID!, $m: Int!) { updateOperator(id: $id, input: { maxDialogs: $m }) { id } }`, {
            id: op.id,
            m: op.max + c.by,
          });
          model.raiseMax(op.id, c.by);
          break;
        }
      }

      const { dialogs, operators, helpQueue } = await admin.ok(
        `{ dialogs(first: 200) { edges { node { id status operator { id } } } } operators { id activeDialogCount } helpQueue { id queuePosition } }`,
      );
      const where = `after step ${step} ${JSON.stringify(c)}`;
      const actualDialogs = Object.fromEntries(
        dialogs.edges.map((e: { node: { id: string; status: string; operator: { id: string } | null } }) => [
          e.node.id,
          `${e.node.status}:${e.node.operator?.id ?? '-'}`,
        ]),
      );
      const expectedDialogs = Object.fromEntries(
        [...model.dialogs.values()].map((d) => [d.id, `${d.status}:${d.operatorId ?? '-'}`]),
      );
      expect(actualDialogs, where).toEqual(expectedDialogs);
      const actualLoads = Object.fromEntries(
        operators.map((o: { id: string; activeDialogCount: number }) => [o.id, o.activeDialogCount]),
      );
      const expectedLoads = Object.fromEntries(
        [...model.operators.keys()].map((id) => [
          id,
          [...model.dialogs.values()].filter((d) => d.status === 'ASSIGNED' && d.operatorId === id).length,
        ]),
      );
      expect(actualLoads, where).toEqual(expectedLoads);
      expect(
        helpQueue.map((d: { id: string }) => d.id),
        where,
      ).toEqual(model.helpQueue());
      expect(
        helpQueue.map((d: { queuePosition: number }) => d.queuePosition),
        where,
      ).toEqual(helpQueue.map((_: unknown, i: number) => i + 1));
    }
  } finally {
    await t.stop();
  }
}

describe('routing against a reference model', () => {
  it('agrees on every step of random command sequences', async () => {
    const seed = Number(process.env['MODEL_SEED'] ?? 424242);
    console.log(`routing model seed ${seed} (MODEL_SEED=${seed} replays it)`);
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), (commands) => runScenario(commands)),
      { numRuns: Number(process.env['MODEL_RUNS'] ?? 15), seed, endOnFailure: true },
    );
  }, 600_000);
});
