// @ts-check
/**
 * Every GraphQL document the panel sends, and the one function that sends them over HTTP.
 * The panel is written against the public contract; when the schema changes, this is the file
 * to change.
 */

/**
 * @typedef {{ id: string, name: string }} GroupRef
 * @typedef {{ id: string, status: string, awayReason: string | null, firstName: string, lastName: string, groups: GroupRef[] }} OperatorSelf
 * @typedef {{ id: string, firstName: string, lastName: string, role: string, operator: OperatorSelf | null }} User
 * @typedef {{ id: string, firstName: string, lastName: string, status: string }} Colleague
 * @typedef {{ id: string, author: string, text: string, createdAt: string, operator: { firstName: string } | null }} Message
 * @typedef {{ kind: string, remainingMs: number, breached: boolean }} SlTimer
 * @typedef {{
 *   id: string, status: string, clientName: string | null, externalId: string | null, createdAt: string,
 *   group: GroupRef | null, operator: { id: string } | null, unreadCount: number
 * }} Dialog
 * @typedef {Dialog & { queuePosition: number | null, estimatedWaitSec: number | null }} QueuedDialog
 * @typedef {{
 *   groupId: string | null, sequence: number, queued: number, onlineOperators: number, freeCapacity: number,
 *   longestWaitSec: number, slPercentLast15m: number | null
 * }} QueueStats
 * @typedef {{ type: string, sequence: number, dialog: Dialog, stats: QueueStats, message: Message | null }} QueueEvent
 * @typedef {{ serverTime: string, timers: Array<{ dialogId: string, timer: SlTimer }> }} SlTickBatch
 */

const OPERATOR_FIELDS = 'id status awayReason firstName lastName groups { id name }';
const USER_FIELDS = `id firstName lastName role operator { ${OPERATOR_FIELDS} }`;
const DIALOG_FIELDS = 'id status clientName externalId createdAt group { id name } operator { id } unreadCount';
const MESSAGE_FIELDS = 'id author text createdAt operator { firstName }';
const STATS_FIELDS = 'groupId sequence queued onlineOperators freeCapacity longestWaitSec slPercentLast15m';

export const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { ${USER_FIELDS} } }
}`;
export const LOGOUT = 'mutation Logout { logout }';
export const VIEWER = `query Viewer { viewer { user { ${USER_FIELDS} } } }`;
export const SET_STATUS = `mutation SetStatus($status: OperatorStatus!, $reason: String) {
  setOperatorStatus(status: $status, reason: $reason) { id status awayReason }
}`;

/**
 * Where the caller's myDialogs stream stands. Read on its own, before the dialogs: what is read
 * after it can only be newer, so subscribing with `after` = this misses nothing.
 */
export const MY_DIALOGS_SEQUENCE = 'query MyDialogsSequence { viewer { user { operator { id dialogsSequence } } } }';
/** One page (the API's largest) of the caller's dialogs: an operator may hold more, so the panel pages on. */
export const MY_DIALOGS = `query MyDialogs($operatorId: ID!, $after: String) {
  dialogs(filter: { operatorId: $operatorId, status: [ASSIGNED] }, first: 200, after: $after) {
    edges { node { ${DIALOG_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;
export const DIALOG = `query Dialog($id: ID!) { dialog(id: $id) { ${DIALOG_FIELDS} messages { ${MESSAGE_FIELDS} } } }`;
export const HELP_QUEUE = `query HelpQueue { helpQueue { ${DIALOG_FIELDS} queuePosition estimatedWaitSec } }`;
export const TRANSFER_TARGETS = `query TransferTargets {
  groups { id name }
  operators { id firstName lastName status }
}`;
export const GROUPS = 'query Groups { groups { id name } }';
/** A queue's figures, and (in the same statement) where its queueChanged stream stands. */
export const QUEUE_STATS = `query QueueStats($groupId: ID) { queueStats(groupId: $groupId) { ${STATS_FIELDS} } }`;

export const SEND_MESSAGE = `mutation SendMessage($dialogId: ID!, $text: String!) {
  sendMessage(dialogId: $dialogId, text: $text) { ${MESSAGE_FIELDS} }
}`;
export const TRANSFER = `mutation Transfer($dialogId: ID!, $to: TransferTarget!) {
  transferDialog(dialogId: $dialogId, to: $to) { ${DIALOG_FIELDS} }
}`;
export const CLOSE = `mutation Close($dialogId: ID!) { closeDialog(dialogId: $dialogId) { ${DIALOG_FIELDS} } }`;
export const TAKE = `mutation Take($dialogId: ID!) { takeDialog(dialogId: $dialogId) { ${DIALOG_FIELDS} } }`;
export const MARK_READ = `mutation MarkRead($dialogId: ID!) { markDialogRead(dialogId: $dialogId) { ${DIALOG_FIELDS} } }`;

/** The caller's dialogs coming and going, and every message in them (MESSAGE events): badges and the open dialog. */
export const MY_DIALOGS_EVENTS = `subscription MyDialogEvents($after: Int) {
  myDialogs(after: $after) {
    type sequence dialog { ${DIALOG_FIELDS} } stats { ${STATS_FIELDS} } message { ${MESSAGE_FIELDS} }
  }
}`;
export const QUEUE_EVENTS = `subscription QueueEvents($groupId: ID, $after: Int) {
  queueChanged(groupId: $groupId, after: $after) { type sequence dialog { ${DIALOG_FIELDS} } stats { ${STATS_FIELDS} } }
}`;
export const OPERATOR_STATUS_EVENTS = `subscription OperatorStatus($groupId: ID) {
  operatorStatusChanged(groupId: $groupId) { id status }
}`;
export const SL_TICKS = `subscription SlTicks { slTicks { serverTime timers { dialogId timer { kind remainingMs breached } } } }`;

/** A GraphQL error as the panel shows it: the message, and the code and reason a UI switches on. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string | undefined} code
   * @param {string | undefined} reason
   */
  constructor(message, code, reason) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

/** The API beside the panel: /panel/ → /graphql. */
export const HTTP_URL = new URL('../graphql', document.baseURI).href;
export const WS_URL = HTTP_URL.replace(/^http/, 'ws');

/**
 * Sends one operation over HTTP; resolves with its data, rejects with the first error.
 * @template T
 * @param {string | null} token
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<T>}
 */
export async function request(token, query, variables = {}) {
  const response = await fetch(HTTP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  /** @type {{ data?: T, errors?: Array<{ message: string, extensions?: { code?: string, reason?: string } }> }} */
  const body = await response.json();
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code, error.extensions?.reason);
  if (body.data === undefined) throw new ApiError(`HTTP ${response.status}`, undefined, undefined);
  return body.data;
}
