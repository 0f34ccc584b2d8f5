import { seededRandom } from '../lib/rng.js';
import { ADMIN_TOKEN } from '../lib/env.js';
import { gqlResponse } from '../lib/http.js';
import { createOperator, LOGIN, randomMaxDialogs, type KnownDialog, type OperatorSlot, type World } from './world.js';

/** Relative frequencies of the operations (per 100). */
const WEIGHTS = {
  startDialog: 17,
  transferToGroup: 8,
  transferToOperator: 5,
  transferToBoth: 4,
  postClientMessage: 13,
  sendMessage: 13,
  closeDialog: 11,
  takeDialog: 6,
  setOperatorStatus: 8,
  relogin: 3,
  reportBotFailure: 5,
  deleteOperator: 2,
  updateMaxDialogs: 5,
} as const;

export type OpKind = keyof typeof WEIGHTS;
export const OP_KINDS = Object.keys(WEIGHTS) as OpKind[];

/** One operation as chosen by the seed: its kind and the draws that pick its targets. */
export interface PlannedOp {
  readonly kind: OpKind;
  readonly r: readonly [number, number, number, number];
}

/** `OK`, a GraphQL error code, or how the request failed: TRANSPORT, TIMEOUT, HTTP_<status>. */
export type Outcome = string;

export interface OpResult {
  readonly kind: OpKind;
  readonly outcome: Outcome;
  readonly server: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly message?: string;
}

/** The whole sequence of choices, from the seed alone (what `--seed` replays). */
export function planOps(seed: number, count: number): PlannedOp[] {
  const random = seededRandom(seed);
  const total = OP_KINDS.reduce((sum, k) => sum + WEIGHTS[k], 0);
  const ops: PlannedOp[] = [];
  for (let i = 0; i < count; i++) {
    let x = random() * total;
    const kind = OP_KINDS.find((k) => (x -= WEIGHTS[k]) < 0) ?? OP_KINDS[0];
    ops.push({ kind, r: [random(), random(), random(), random()] });
  }
  return ops;
}

const REQUEST_TIMEOUT_MS = 30_000;

class OpFailure extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
  }
}

/** One request; any error answer becomes an OpFailure carrying its code. */
async function call<T>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  let answer: Awaited<ReturnType<typeof gqlResponse<T>>>;
  try {
    answer = await gqlResponse<T>(url, token, query, variables, REQUEST_TIMEOUT_MS);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new OpFailure(/no answer within/.test(message) ? 'TIMEOUT' : 'TRANSPORT', message);
  }
  const first = answer.body.errors?.[0];
  if (answer.status >= 500) throw new OpFailure(`HTTP_${answer.status}`, first?.message ?? '');
  if (first) throw new OpFailure(first.extensions?.code ?? 'NO_CODE', first.message);
  return answer.body.data as T;
}

const DIALOG = 'id status';
interface DialogAnswer {
  id: string;
  status: string;
}

function pick<T>(items: readonly T[], r: number): T | undefined {
  return items.length ? items[Math.floor(r * items.length)] : undefined;
}

/** Executes planned operations against the world, as bot runtime, operators and admin would. */
export class Operations {
  private replacements = 0;

  constructor(private readonly world: World) {}

  async run(op: PlannedOp, url: string, server: number): Promise<OpResult> {
    const startedAt = Date.now();
    let outcome: Outcome = 'OK';
    let message: string | undefined;
    try {
      const done = await this[op.kind](url, op.r);
      if (done === false) outcome = 'SKIPPED';
    } catch (error) {
      if (!(error instanceof OpFailure)) throw error;
      outcome = error.outcome;
      message = error.message;
    }
    return { kind: op.kind, outcome, server, startedAt, endedAt: Date.now(), ...(message !== undefined ? { message } : {}) };
  }

  /** A dialog not known to be closed (with `status`, preferably one last seen in it). */
  private openDialog(r: number, status?: string): KnownDialog | undefined {
    const open = this.world.dialogs.filter((d) => d.status !== 'CLOSED');
    return (
      pick(
        open.filter((d) => d.status === status),
        r,
      ) ??
      pick(open, r) ??
      pick(this.world.dialogs, r)
    );
  }

  private note(answer: DialogAnswer): void {
    const known = this.world.dialogs.find((d) => d.id === answer.id);
    if (known) known.status = answer.status;
  }

  private loggedIn(r: number): OperatorSlot | undefined {
    return pick(
      this.world.operators.filter((o) => o.token !== null),
      r,
    );
  }

  /** A dialog the operator holds now (asked with their own session). */
  private async heldBy(url: string, slot: OperatorSlot, r: number): Promise<string | undefined> {
    const data = await call<{ dialogs: { edges: Array<{ node: { id: string } }> } }>(
      url,
      slot.token!,
      `query($o: ID!) { dialogs(filter: { operatorId: $o, status: [ASSIGNED] }, first: 10) { edges { node { id } } } }`,
      { o: slot.id },
    );
    return pick(data.dialogs.edges, r)?.node.id;
  }

  /**
   * Who acts on which dialog: half the time the bot on an open dialog (of `status`, if given),
   * else a logged-in operator on one they hold. Undefined when there is none to act on.
   */
  private async actor(
    url: string,
    r: readonly number[],
    status?: string,
  ): Promise<{ token: string; dialogId: string } | undefined> {
    if (r[0] < 0.5) {
      const dialogId = this.openDialog(r[1], status)?.id;
      return dialogId ? { token: this.world.botToken, dialogId } : undefined;
    }
    const slot = this.loggedIn(r[1]);
    if (!slot) return undefined;
    const dialogId = await this.heldBy(url, slot, r[2]);
    return dialogId ? { token: slot.token!, dialogId } : undefined;
  }

  private async transfer(url: string, r: readonly number[], to: (r: number) => Record<string, string>): Promise<boolean> {
    const actor = await this.actor(url, r, 'BOT');
    if (!actor) return false;
    const { token, dialogId } = actor;
    const data = await call<{ transferDialog: DialogAnswer }>(
      url,
      token,
      `mutation($d: ID!, $to: TransferTarget!) { transferDialog(dialogId: $d, to: $to) { ${DIALOG} } }`,
      { d: dialogId, to: to(r[3]) },
    );
    this.note(data.transferDialog);
    return true;
  }

  private group(r: number): string {
    return pick(this.world.groups, r)!;
  }

  private operatorId(r: number): string {
    return pick(this.world.operators, r)!.id;
  }

  async startDialog(url: string, r: readonly number[]): Promise<boolean> {
    const scenario = r[0] < 0.7 ? pick(this.world.scenarios, r[1])!.id : null;
    const data = await call<{ startDialog: DialogAnswer }>(
      url,
      this.world.botToken,
      `mutation($s: ID, $x: String) { startDialog(input: { scenarioId: $s, externalId: $x, clientName: "chaos" }) { ${DIALOG} } }`,
      { s: scenario, x: `chaos-${r[2].toString(36).slice(2)}` },
    );
    this.world.dialogs.push({ id: data.startDialog.id, status: data.startDialog.status, watched: false });
    return true;
  }

  transferToGroup(url: string, r: readonly number[]): Promise<boolean> {
    return this.transfer(url, r, (x) => ({ groupId: this.group(x) }));
  }

  transferToOperator(url: string, r: readonly number[]): Promise<boolean> {
    return this.transfer(url, r, (x) => ({ operatorId: this.operatorId(x) }));
  }

  transferToBoth(url: string, r: readonly number[]): Promise<boolean> {
    return this.transfer(url, r, (x) => ({ operatorId: this.operatorId(x), groupId: this.group(1 - x) }));
  }

  async postClientMessage(url: string, r: readonly number[]): Promise<boolean> {
    const watched = this.world.dialogs.filter((d) => d.watched);
    const dialog = r[0] < 0.25 ? pick(watched, r[1]) : this.openDialog(r[1]);
    if (!dialog) return false;
    await call(url, this.world.botToken, `mutation($d: ID!) { postClientMessage(dialogId: $d, text: "hello?") { id } }`, {
      d: dialog.id,
    });
    return true;
  }

  async sendMessage(url: string, r: readonly number[]): Promise<boolean> {
    const slot = this.loggedIn(r[0]);
    if (!slot) return false;
    const dialogId = await this.heldBy(url, slot, r[1]);
    if (!dialogId) return false;
    await call(url, slot.token!, `mutation($d: ID!) { sendMessage(dialogId: $d, text: "on it") { id } }`, { d: dialogId });
    return true;
  }

  async closeDialog(url: string, r: readonly number[]): Promise<boolean> {
    const actor = await this.actor(url, r);
    if (!actor) return false;
    const { token, dialogId } = actor;
    const data = await call<{ closeDialog: DialogAnswer }>(
      url,
      token,
      `mutation($d: ID!) { closeDialog(dialogId: $d) { ${DIALOG} } }`,
      { d: dialogId },
    );
    this.note(data.closeDialog);
    return true;
  }

  async takeDialog(url: string, r: readonly number[]): Promise<boolean> {
    const slot = this.loggedIn(r[0]);
    if (!slot) return false;
    const queued = await call<{ dialogs: { edges: Array<{ node: { id: string } }> } }>(
      url,
      slot.token!,
      `{ dialogs(filter: { status: [QUEUED] }, first: 20) { edges { node { id } } } }`,
    );
    const dialogId = pick(queued.dialogs.edges, r[1])?.node.id;
    if (!dialogId) return false;
    const data = await call<{ takeDialog: DialogAnswer }>(
      url,
      slot.token!,
      `mutation($d: ID!) { takeDialog(dialogId: $d) { ${DIALOG} } }`,
      { d: dialogId },
    );
    this.note(data.takeDialog);
    return true;
  }

  async setOperatorStatus(url: string, r: readonly number[]): Promise<boolean> {
    const status = r[1] < 0.6 ? 'ONLINE' : 'OFFLINE';
    const own = r[2] < 0.6 ? this.loggedIn(r[0]) : undefined;
    const slot = own ?? pick(this.world.operators, r[0])!;
    await call(
      url,
      own ? own.token! : ADMIN_TOKEN,
      `mutation($o: ID, $s: OperatorStatus!) { setOperatorStatus(operatorId: $o, status: $s) { id status } }`,
      { o: own ? null : slot.id, s: status },
    );
    return true;
  }

  async relogin(url: string, r: readonly number[]): Promise<boolean> {
    const slot = pick(this.world.operators, r[0])!;
    if (slot.token) {
      const token = slot.token;
      slot.token = null;
      await call(url, token, `mutation { logout }`);
    }
    slot.token = await this.login(url, slot);
    if (r[1] < 0.7) await call(url, slot.token, `mutation { setOperatorStatus(status: ONLINE) { id } }`);
    return true;
  }

  private async login(url: string, slot: OperatorSlot): Promise<string> {
    const data = await call<{ login: { token: string } }>(url, '', LOGIN, { e: slot.email, p: slot.password });
    return data.login.token;
  }

  async reportBotFailure(url: string, r: readonly number[]): Promise<boolean> {
    const dialog = this.openDialog(r[0], 'BOT');
    if (!dialog) return false;
    const data = await call<{ reportBotFailure: DialogAnswer }>(
      url,
      this.world.botToken,
      `mutation($d: ID!) { reportBotFailure(dialogId: $d, reason: "chaos") { ${DIALOG} } }`,
      { d: dialog.id },
    );
    this.note(data.reportBotFailure);
    return true;
  }

  /** Deletes an operator and puts a new one (logged in, ONLINE) in the same seat. */
  async deleteOperator(url: string, r: readonly number[]): Promise<boolean> {
    const slot = pick(this.world.operators, r[0])!;
    try {
      await call(url, ADMIN_TOKEN, `mutation($id: ID!) { deleteOperator(id: $id) }`, { id: slot.id });
    } catch (error) {
      // Someone else deleted it first: this client still fills the seat.
      if (!(error instanceof OpFailure && error.outcome === 'NOT_FOUND')) throw error;
    }
    slot.token = null;
    const seat = this.world.operators.indexOf(slot);
    const replacement = await createOperator(
      (query, variables) => call(url, ADMIN_TOKEN, query, variables),
      this.world.groups,
      seat,
      ++this.replacements,
      r[1],
    );
    replacement.token = await this.login(url, replacement);
    this.world.operators[seat] = replacement;
    await call(url, replacement.token, `mutation { setOperatorStatus(status: ONLINE) { id } }`);
    return true;
  }

  async updateMaxDialogs(url: string, r: readonly number[]): Promise<boolean> {
    await call(url, ADMIN_TOKEN, `mutation($id: ID!, $m: Int!) { updateOperator(id: $id, input: { maxDialogs: $m }) { id } }`, {
      id: this.operatorId(r[0]),
      m: randomMaxDialogs(r[1]),
    });
    return true;
  }
}
