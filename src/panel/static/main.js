// @ts-check
/**
 * The operator panel: log in, go online, work one's dialogs (SL timers, unread badges, reply,
 * transfer, close), take from the Help queue; supervisors watch every queue. Views are plain DOM
 * kept in step with the API by the streams of stream.js.
 */
import * as api from './graphql.js';
import { byId, clock, dialogTitle, h, timeOfDay } from './dom.js';
import { openStreams } from './stream.js';

/** What an operator can switch between, in the order shown. */
const STATUSES = ['ONLINE', 'AWAY', 'OFFLINE'];
/** Roles that watch every group's queue. */
const STAFF = ['ADMIN', 'SUPERVISOR'];
/** The session token lives as long as the tab: a reload keeps the login, a new tab asks again. */
const TOKEN_KEY = 'handover.token';

const view = {
  connection: byId('connection', HTMLParagraphElement),
  account: byId('account', HTMLDivElement),
  who: byId('who', HTMLSpanElement),
  status: byId('status', HTMLFieldSetElement),
  awayForm: byId('away-form', HTMLFormElement),
  awayReason: byId('away-reason', HTMLInputElement),
  logout: byId('logout', HTMLButtonElement),
  alert: byId('alert', HTMLParagraphElement),
  login: byId('login-view', HTMLElement),
  loginForm: byId('login-form', HTMLFormElement),
  email: byId('email', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  app: byId('app-view', HTMLElement),
  mine: byId('mine', HTMLElement),
  mineEmpty: byId('mine-empty', HTMLParagraphElement),
  mineList: byId('mine-list', HTMLUListElement),
  conversation: byId('conversation', HTMLElement),
  conversationTitle: byId('conversation-title', HTMLHeadingElement),
  conversationEmpty: byId('conversation-empty', HTMLParagraphElement),
  conversationBody: byId('conversation-body', HTMLDivElement),
  messages: byId('messages', HTMLOListElement),
  replyForm: byId('reply-form', HTMLFormElement),
  replyText: byId('reply-text', HTMLTextAreaElement),
  transferForm: byId('transfer-form', HTMLFormElement),
  transferTarget: byId('transfer-target', HTMLSelectElement),
  closeDialog: byId('close-dialog', HTMLButtonElement),
  help: byId('help', HTMLElement),
  helpEmpty: byId('help-empty', HTMLParagraphElement),
  helpList: byId('help-list', HTMLOListElement),
  queues: byId('queues', HTMLElement),
  queuesBody: byId('queues-body', HTMLTableSectionElement),
};

/**
 * @typedef {{
 *   token: string,
 *   user: api.User,
 *   streams: ReturnType<typeof openStreams>,
 *   mine: Map<string, api.Dialog>,
 *   help: api.QueuedDialog[],
 *   timers: Map<string, api.SlTimer>,
 *   groups: api.GroupRef[],
 *   stats: Map<string, api.QueueStats>,
 *   open: { id: string, messageIds: Set<string> } | null,
 * }} Session
 */
/** @type {Session | null} */
let session = null;

/** Key of the Help queue among the queue stats (it has no group id). */
const HELP = 'help';

/**
 * Runs an operation as the logged-in user; an ended session sends the user back to log in.
 * @template T
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<T>}
 */
async function call(query, variables) {
  if (!session) throw new Error('not logged in');
  try {
    return await api.request(session.token, query, variables);
  } catch (error) {
    if (error instanceof api.ApiError && error.code === 'UNAUTHENTICATED') endSession('Your session has ended; log in again.');
    throw error;
  }
}

/** @param {string} message */
function announce(message) {
  view.alert.textContent = message;
}

/**
 * Runs a user action, showing its error (the API's message says what to do) instead of failing silently.
 * @param {() => Promise<unknown>} action
 */
function act(action) {
  announce('');
  action().catch((/** @type {unknown} */ error) => announce(error instanceof Error ? error.message : String(error)));
}

/**
 * A stream that failed for good (its query refused): shown, unless the session it belonged to is over.
 * @param {Session} owner
 */
function streamFailed(owner) {
  return (/** @type {{ message: string }} */ error) => {
    if (session === owner) announce(error.message);
  };
}

/** @param {api.Dialog} dialog */
function isMine(dialog) {
  return dialog.status === 'ASSIGNED' && dialog.operator?.id === session?.user.operator?.id;
}

// ---- my dialogs ----------------------------------------------------------------------------

/**
 * One row of a dialog list: the dialog's name (a button where it opens), its group, its unread
 * badge and its SL timer. Rows are updated in place, so keyboard focus stays where it is.
 * @param {api.Dialog} dialog
 * @param {HTMLElement} title
 * @param {Array<Node | string>} extra
 */
function dialogRow(dialog, title, ...extra) {
  return h(
    'li',
    { 'data-id': dialog.id },
    title,
    h('span', { class: 'group' }, dialog.group?.name ?? 'no group'),
    h('span', { class: 'badge', hidden: true }),
    h('span', { class: 'timer', role: 'timer', 'data-timer-for': dialog.id }),
    ...extra,
  );
}

/**
 * Brings `list` in line with `dialogs` (in that order), creating rows with `create` and filling
 * each with `update`.
 * @param {HTMLElement} list
 * @param {api.Dialog[]} dialogs
 * @param {(dialog: api.Dialog) => HTMLLIElement} create
 * @param {(row: HTMLLIElement, dialog: api.Dialog, index: number) => void} update
 */
function syncList(list, dialogs, create, update) {
  const wanted = new Set(dialogs.map((d) => d.id));
  /** @type {Map<string, HTMLLIElement>} */
  const rows = new Map();
  for (const row of /** @type {HTMLCollectionOf<HTMLLIElement>} */ (list.children)) {
    const id = row.dataset.id ?? '';
    if (wanted.has(id)) rows.set(id, row);
  }
  for (const row of [...list.children]) if (!rows.has(/** @type {HTMLElement} */ (row).dataset.id ?? '')) row.remove();
  dialogs.forEach((dialog, index) => {
    const row = rows.get(dialog.id) ?? create(dialog);
    // Appending an element already in place would move it (and drop its focus): only out-of-place rows move.
    if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
    update(row, dialog, index);
  });
  renderTimers();
}

function renderMine() {
  if (!session) return;
  const dialogs = [...session.mine.values()];
  view.mineEmpty.hidden = dialogs.length > 0;
  syncList(
    view.mineList,
    dialogs,
    (dialog) =>
      dialogRow(dialog, h('button', { type: 'button', class: 'open', onclick: () => act(() => openDialog(dialog.id)) })),
    (row, dialog) => {
      const open = /** @type {HTMLButtonElement} */ (row.querySelector('.open'));
      open.textContent = dialogTitle(dialog);
      if (session?.open?.id === dialog.id) open.setAttribute('aria-current', 'true');
      else open.removeAttribute('aria-current');
      const badge = /** @type {HTMLElement} */ (row.querySelector('.badge'));
      // The open dialog is being read: an event resolved just before its read marker moved must not flash a badge.
      const unread = session?.open?.id === dialog.id ? 0 : (dialog.unreadCount ?? 0);
      badge.hidden = unread === 0;
      badge.textContent = String(unread);
      badge.setAttribute('aria-label', `${unread} unread`);
    },
  );
}

/**
 * Reads my dialogs afresh, and the open conversation; returns the myDialogs sequence read before
 * them (so nothing committed after the read is missed by a stream resumed from it).
 */
async function loadMine() {
  /** @type {{ viewer: { user: { operator: { id: string, dialogsSequence: number } | null } | null } }} */
  const position = await call(api.MY_DIALOGS_SEQUENCE);
  const operator = position.viewer.user?.operator;
  if (!operator) throw new Error('This account has no operator profile.');
  /** @type {Map<string, api.Dialog>} */
  const mine = new Map();
  /** @type {string | null} */
  let after = null;
  do {
    /** @type {{ dialogs: { edges: Array<{ node: api.Dialog }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } }} */
    const data = await call(api.MY_DIALOGS, { operatorId: operator.id, after });
    for (const { node } of data.dialogs.edges) mine.set(node.id, node);
    after = data.dialogs.pageInfo.hasNextPage ? data.dialogs.pageInfo.endCursor : null;
  } while (after !== null);
  if (!session) return operator.dialogsSequence;
  session.mine = mine;
  renderMine();
  if (session.open && !session.mine.has(session.open.id)) closeConversation();
  else if (session.open) await loadConversation(session.open.id);
  return operator.dialogsSequence;
}

/**
 * An event of my dialogs: the dialog as it is now, and on MESSAGE the message, which the open
 * conversation shows and the list's badge counts.
 * @param {api.QueueEvent} event
 */
function applyMyEvent(event) {
  const { dialog, message } = event;
  if (message && session?.open?.id === dialog.id) {
    appendMessage(message);
    if (message.author !== 'OPERATOR') act(() => markRead(dialog.id));
  }
  applyMine(dialog);
}

/**
 * A dialog as an event or a mutation returned it: in my list while it is assigned to me.
 * @param {api.Dialog} dialog
 */
function applyMine(dialog) {
  if (!session) return;
  if (isMine(dialog)) session.mine.set(dialog.id, dialog);
  else {
    session.mine.delete(dialog.id);
    if (session.open?.id === dialog.id) closeConversation();
  }
  renderMine();
}

// ---- SL timers -----------------------------------------------------------------------------

/** Shows every list row's running SL clock as the last tick gave it; red once breached. */
function renderTimers() {
  if (!session) return;
  for (const element of document.querySelectorAll('[data-timer-for]')) {
    if (!(element instanceof HTMLElement)) continue;
    const timer = session.timers.get(element.dataset.timerFor ?? '');
    element.hidden = !timer;
    if (!timer) continue;
    const breached = timer.breached || timer.remainingMs < 0;
    element.textContent = clock(timer.remainingMs);
    element.classList.toggle('breached', breached);
    element.dataset.breached = String(breached);
    const what = timer.kind === 'FIRST_RESPONSE' ? 'first reply' : 'next reply';
    element.title = breached ? `SL for the ${what} breached` : `SL for the ${what}: time left`;
  }
}

// ---- conversation --------------------------------------------------------------------------

/** @param {api.Message} message */
function appendMessage(message) {
  if (!session?.open || session.open.messageIds.has(message.id)) return;
  session.open.messageIds.add(message.id);
  const who =
    message.author === 'OPERATOR' ? (message.operator?.firstName ?? 'Operator') : message.author === 'BOT' ? 'Bot' : 'Client';
  const item = h(
    'li',
    { class: `message ${message.author.toLowerCase()}`, 'data-created-at': message.createdAt },
    h('span', { class: 'meta' }, `${who} · ${timeOfDay(message.createdAt)}`),
    h('p', {}, message.text),
  );
  // Loaded history and live events may arrive in either order: each message goes in by time.
  const later = [...view.messages.querySelectorAll('li')].find((li) => (li.dataset.createdAt ?? '') > message.createdAt);
  view.messages.insertBefore(item, later ?? null);
  view.messages.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

/** Moves the caller's read marker to the newest message. */
async function markRead(/** @type {string} */ dialogId) {
  /** @type {{ markDialogRead: api.Dialog }} */
  const data = await call(api.MARK_READ, { dialogId });
  applyMine(data.markDialogRead);
}

/**
 * Reads the open dialog and adds what it shows to the conversation; messages already shown
 * (from events that raced the read) stay.
 * @param {string} id
 */
async function loadConversation(id) {
  /** @type {{ dialog: (api.Dialog & { messages: api.Message[] }) | null }} */
  const data = await call(api.DIALOG, { id });
  if (!session?.open || session.open.id !== id) return;
  if (!data.dialog || !isMine(data.dialog)) {
    closeConversation();
    if (data.dialog) applyMine(data.dialog);
    return;
  }
  view.conversationTitle.textContent = dialogTitle(data.dialog);
  for (const message of data.dialog.messages) appendMessage(message);
  await markRead(id);
}

/**
 * Opens one of my dialogs. Its new messages come with the myDialogs stream (MESSAGE events), so
 * the conversation needs no stream of its own.
 * @param {string} id
 */
async function openDialog(id) {
  if (!session) return;
  const focused = document.activeElement;
  closeConversation();
  session.open = { id, messageIds: new Set() };
  view.conversationEmpty.hidden = true;
  view.conversationBody.hidden = false;
  renderMine();
  await Promise.all([loadConversation(id), loadTransferTargets()]);
  // Keyboard users land on the dialog they opened, unless they moved on (typing a reply, say) meanwhile.
  if (document.activeElement === focused || document.activeElement === document.body) view.conversationTitle.focus();
}

function closeConversation() {
  if (!session?.open) return;
  const { id } = session.open;
  // Read up to the end, and the list's badge from the server rather than from events that raced the last marker.
  if (session.mine.has(id)) act(() => markRead(id));
  session.open = null;
  // Keyboard focus on a control that is about to disappear goes to the pane's heading instead.
  if (view.conversationBody.contains(document.activeElement)) view.conversationTitle.focus();
  view.conversationTitle.textContent = 'No dialog open';
  view.conversationEmpty.hidden = false;
  view.conversationBody.hidden = true;
  view.messages.replaceChildren();
  renderMine();
}

/** Groups and colleagues to hand the open dialog to. */
async function loadTransferTargets() {
  /** @type {{ groups: api.GroupRef[], operators: api.Colleague[] }} */
  const data = await call(api.TRANSFER_TARGETS);
  const me = session?.user.operator?.id;
  view.transferTarget.replaceChildren(
    h('option', { value: '' }, 'Choose…'),
    h('optgroup', { label: 'Groups' }, ...data.groups.map((g) => h('option', { value: `group:${g.id}` }, g.name))),
    h(
      'optgroup',
      { label: 'Colleagues' },
      ...data.operators
        .filter((o) => o.id !== me)
        .map((o) => h('option', { value: `operator:${o.id}` }, `${o.firstName} ${o.lastName} (${o.status.toLowerCase()})`)),
    ),
  );
}

view.replyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const dialogId = session?.open?.id;
  const text = view.replyText.value.trim();
  if (!dialogId || !text) return;
  act(async () => {
    /** @type {{ sendMessage: api.Message }} */
    const data = await call(api.SEND_MESSAGE, { dialogId, text });
    view.replyText.value = '';
    appendMessage(data.sendMessage);
  });
});

// Enter sends, Shift+Enter starts a new line.
view.replyText.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    view.replyForm.requestSubmit();
  }
});

view.transferForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const dialogId = session?.open?.id;
  const [kind, id] = view.transferTarget.value.split(':');
  if (!dialogId || !id) return;
  const name = view.transferTarget.selectedOptions[0]?.textContent ?? '';
  act(async () => {
    /** @type {{ transferDialog: api.Dialog }} */
    const data = await call(api.TRANSFER, { dialogId, to: kind === 'group' ? { groupId: id } : { operatorId: id } });
    applyMine(data.transferDialog);
    const where = data.transferDialog.status === 'QUEUED' ? 'the Help queue' : name;
    announce(`Transferred ${dialogTitle(data.transferDialog)} to ${where}.`);
  });
});

view.closeDialog.addEventListener('click', () => {
  const dialogId = session?.open?.id;
  if (!dialogId) return;
  act(async () => {
    /** @type {{ closeDialog: api.Dialog }} */
    const data = await call(api.CLOSE, { dialogId });
    applyMine(data.closeDialog);
    announce(`Closed ${dialogTitle(data.closeDialog)}.`);
  });
});

// ---- Help queue ----------------------------------------------------------------------------

function renderHelp() {
  if (!session) return;
  const canTake = Boolean(session.user.operator);
  view.helpEmpty.hidden = session.help.length > 0;
  syncList(
    view.helpList,
    session.help,
    (dialog) =>
      dialogRow(
        dialog,
        h('span', { class: 'title' }),
        h('span', { class: 'wait', hidden: true }),
        canTake ? h('button', { type: 'button', class: 'take', onclick: () => act(() => take(dialog.id)) }, 'Take') : '',
      ),
    (row, dialog, index) => {
      const position = /** @type {api.QueuedDialog} */ (dialog).queuePosition ?? index + 1;
      /** @type {HTMLElement} */ (row.querySelector('.title')).textContent = `#${position} ${dialogTitle(dialog)}`;
      const wait = /** @type {api.QueuedDialog} */ (dialog).estimatedWaitSec;
      const estimate = /** @type {HTMLElement} */ (row.querySelector('.wait'));
      estimate.hidden = wait === null;
      estimate.textContent = wait === null ? '' : `≈ ${Math.max(1, Math.round(wait / 60))} min wait`;
      estimate.title = 'Expected wait until an operator takes it, from the queue’s recent pace';
      row.querySelector('.take')?.setAttribute('aria-label', `Take ${dialogTitle(dialog)}`);
    },
  );
}

async function loadHelp() {
  /** @type {{ helpQueue: api.QueuedDialog[] }} */
  const data = await call(api.HELP_QUEUE);
  if (!session) return;
  session.help = data.helpQueue;
  renderHelp();
}

/** @param {string} dialogId */
async function take(dialogId) {
  /** @type {{ takeDialog: api.Dialog }} */
  const data = await call(api.TAKE, { dialogId });
  applyMine(data.takeDialog);
  await loadHelp();
}

// ---- queue stats (supervisors) -------------------------------------------------------------

function renderQueues() {
  if (!session) return;
  const rows = [{ key: HELP, name: 'Help queue' }, ...session.groups.map((g) => ({ key: g.id, name: g.name }))];
  view.queuesBody.replaceChildren(
    ...rows.map(({ key, name }) => {
      const s = session?.stats.get(key);
      const cells = s
        ? [
            s.queued,
            s.onlineOperators,
            s.freeCapacity,
            clock(s.longestWaitSec * 1000),
            s.slPercentLast15m === null ? '–' : `${Math.round(s.slPercentLast15m)}%`,
          ]
        : ['…', '…', '…', '…', '…'];
      return h('tr', { 'data-queue': key }, h('th', { scope: 'row' }, name), ...cells.map((c) => h('td', {}, String(c))));
    }),
  );
}

/**
 * A queue's figures, unless newer ones (a later event's, by sequence) are already shown.
 * @param {string | null} groupId
 * @param {api.QueueStats} stats
 */
function setStats(groupId, stats) {
  const key = groupId ?? HELP;
  const shown = session?.stats.get(key);
  if (shown && shown.sequence > stats.sequence) return;
  session?.stats.set(key, stats);
  renderQueues();
}

/**
 * Reads a queue's figures; returns its queueChanged stream's sequence, read in the same statement.
 * @param {string | null} groupId
 */
async function loadStats(groupId) {
  /** @type {{ queueStats: api.QueueStats }} */
  const data = await call(api.QUEUE_STATS, { groupId });
  setStats(groupId, data.queueStats);
  return data.queueStats.sequence;
}

/** Every group's figures, live: queue events carry them, operators' comings and goings change them. */
async function watchQueues() {
  if (!session) return;
  /** @type {{ groups: api.GroupRef[] }} */
  const data = await call(api.GROUPS);
  session.groups = data.groups;
  renderQueues();
  const fail = streamFailed(session);
  // The Help queue's own stream is followed for everyone (startSession).
  for (const groupId of data.groups.map((g) => g.id)) {
    session.streams.resume(
      'queueChanged',
      api.QUEUE_EVENTS,
      { groupId },
      {
        load: () => loadStats(groupId),
        /** @param {api.QueueEvent} event */
        next: (event) => setStats(groupId, event.stats),
        fail,
      },
    );
  }
  // Operators coming and going change online and free seats without a queue event: refetch then.
  for (const groupId of [null, ...data.groups.map((g) => g.id)]) {
    const refetch = () => act(() => loadStats(groupId));
    session.streams.follow('operatorStatusChanged', api.OPERATOR_STATUS_EVENTS, { groupId }, { next: refetch, refetch, fail });
  }
}

// ---- status --------------------------------------------------------------------------------

/**
 * Shows the operator's status in the switch and, while AWAY, the reason in the header.
 * @param {{ status: string, awayReason: string | null }} operator
 */
function showStatus(operator) {
  for (const input of view.status.querySelectorAll('input')) input.checked = input.value === operator.status;
  view.awayForm.hidden = operator.status !== 'AWAY';
  if (document.activeElement !== view.awayReason) view.awayReason.value = operator.awayReason ?? '';
}

/**
 * Switches the operator's status; AWAY takes the reason typed beside it (none: no reason).
 * @param {string} status
 */
async function setStatus(status) {
  const operator = session?.user.operator;
  if (!operator) return;
  const reason = status === 'AWAY' ? view.awayReason.value.trim() || null : null;
  try {
    /** @type {{ setOperatorStatus: { status: string, awayReason: string | null } }} */
    const data = await call(api.SET_STATUS, { status, reason });
    operator.status = data.setOperatorStatus.status;
    operator.awayReason = data.setOperatorStatus.awayReason;
  } finally {
    // Refused: the switch goes back to what the server holds.
    showStatus(operator);
  }
}

function buildStatusSwitch() {
  const legend = /** @type {HTMLLegendElement} */ (view.status.querySelector('legend'));
  view.status.replaceChildren(
    legend,
    ...STATUSES.map((status) =>
      h(
        'label',
        {},
        h('input', { type: 'radio', name: 'status', value: status, onchange: () => act(() => setStatus(status)) }),
        status.charAt(0) + status.slice(1).toLowerCase(),
      ),
    ),
  );
}

// A new reason while away: AWAY again, with it.
view.awayForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => setStatus('AWAY'));
});

// ---- session -------------------------------------------------------------------------------

/**
 * @param {string} token
 * @param {api.User} user
 */
function startSession(token, user) {
  const streams = openStreams({
    url: api.WS_URL,
    token,
    onState: (state) => {
      view.connection.dataset.state = state;
      view.connection.textContent = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[state];
    },
    onSessionEnded: () => endSession('Your session has ended; log in again.'),
  });
  /** @type {Session} */
  const current = {
    token,
    user,
    streams,
    mine: new Map(),
    help: [],
    timers: new Map(),
    groups: [],
    stats: new Map(),
    open: null,
  };
  session = current;
  const fail = streamFailed(current);
  view.login.hidden = true;
  view.app.hidden = false;
  view.app.dataset.layout = user.operator ? 'operator' : 'staff';
  view.account.hidden = false;
  view.connection.hidden = false;
  view.who.textContent = `${user.firstName} ${user.lastName} · ${user.role.toLowerCase()}`;

  // Every batch is whole: after a reconnect the next one catches up by itself.
  streams.follow(
    'slTicks',
    api.SL_TICKS,
    {},
    {
      /** @param {api.SlTickBatch} batch */
      next: (batch) => {
        if (!session) return;
        session.timers = new Map(batch.timers.map((t) => [t.dialogId, t.timer]));
        renderTimers();
      },
      fail,
    },
  );

  if (user.operator) {
    view.status.hidden = false;
    view.mine.hidden = false;
    view.conversation.hidden = false;
    buildStatusSwitch();
    showStatus(user.operator);
    streams.resume('myDialogs', api.MY_DIALOGS_EVENTS, {}, { load: loadMine, next: applyMyEvent, fail });
  }
  view.help.hidden = false;
  streams.resume(
    'queueChanged',
    api.QUEUE_EVENTS,
    { groupId: null },
    {
      load: async () => {
        const sequence = await loadStats(null);
        await loadHelp();
        return sequence;
      },
      // Every change moves the others' positions and estimates: the list is read again.
      /** @param {api.QueueEvent} event */
      next: (event) => {
        setStats(null, event.stats);
        act(loadHelp);
      },
      fail,
    },
  );
  if (STAFF.includes(user.role)) {
    view.queues.hidden = false;
    act(watchQueues);
  }
}

/** @param {string} [message] */
function endSession(message) {
  session?.streams.dispose();
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const section of [
    view.mine,
    view.conversation,
    view.help,
    view.queues,
    view.status,
    view.awayForm,
    view.account,
    view.connection,
  ]) {
    section.hidden = true;
  }
  for (const list of [view.mineList, view.helpList, view.messages, view.queuesBody]) list.replaceChildren();
  view.app.hidden = true;
  view.login.hidden = false;
  announce(message ?? '');
  view.email.focus();
}

view.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  act(async () => {
    /** @type {{ login: { token: string, user: api.User } }} */
    const data = await api.request(null, api.LOGIN, { email: view.email.value, password: view.password.value });
    view.password.value = '';
    sessionStorage.setItem(TOKEN_KEY, data.login.token);
    startSession(data.login.token, data.login.user);
  });
});

view.logout.addEventListener('click', () => {
  const token = session?.token ?? null;
  endSession();
  // The server ends the session too; if it cannot be reached, the token expires on its own.
  api.request(token, api.LOGOUT).catch(() => {});
});

/** A reload keeps the login while the token is valid. */
async function resume() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return endSession();
  try {
    /** @type {{ viewer: { user: api.User | null } }} */
    const data = await api.request(token, api.VIEWER);
    if (data.viewer.user) return startSession(token, data.viewer.user);
  } catch {
    // An expired or revoked token: log in again.
  }
  endSession();
}

void resume();
