// @ts-check
/**
 * The operator panel: log in, go online, work one's dialogs (SL timers, unread badges, reply,
 * transfer, close), take from the Help queue; supervisors watch every queue. Views are plain DOM
 * kept in step with the API by the streams of stream.js.
 */
import * as api from './graphql.js';
import { byId, clock, dialogTitle, h, timeOfDay } from './dom.js';
import { openStreams } from './stream.js';

/** What an operator can switch between, in the order shown (AWAY joins once the API has it). */
const STATUSES = ['ONLINE', 'OFFLINE'];
/** Roles that watch every group's queue. */
const STAFF = ['ADMIN', 'SUPERVISOR'];
/** The session token lives as long as the tab: a reload keeps the login, a new tab asks again. */
const TOKEN_KEY = 'handover.token';

const view = {
  connection: byId('connection', HTMLParagraphElement),
  account: byId('account', HTMLDivElement),
  who: byId('who', HTMLSpanElement),
  status: byId('status', HTMLFieldSetElement),
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
 *   help: api.Dialog[],
 *   timers: Map<string, api.SlTimer>,
 *   groups: api.GroupRef[],
 *   stats: Map<string, api.QueueStats>,
 *   open: { id: string, stop: () => void, messageIds: Set<string> } | null,
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

async function loadMine() {
  if (!session?.user.operator) return;
  /** @type {Map<string, api.Dialog>} */
  const mine = new Map();
  /** @type {string | null} */
  let after = null;
  do {
    /** @type {{ dialogs: { edges: Array<{ node: api.Dialog }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } }} */
    const data = await call(api.MY_DIALOGS, { operatorId: session.user.operator.id, after });
    for (const { node } of data.dialogs.edges) mine.set(node.id, node);
    after = data.dialogs.pageInfo.hasNextPage ? data.dialogs.pageInfo.endCursor : null;
  } while (after !== null);
  if (!session) return;
  session.mine = mine;
  renderMine();
  if (session.open && !session.mine.has(session.open.id)) closeConversation();
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
  view.messages.append(
    h(
      'li',
      { class: `message ${message.author.toLowerCase()}` },
      h('span', { class: 'meta' }, `${who} · ${timeOfDay(message.createdAt)}`),
      h('p', {}, message.text),
    ),
  );
  view.messages.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

/** Moves the caller's read marker to the newest message (once the API has read markers). */
async function markRead(/** @type {string} */ dialogId) {
  if (!api.READ_MARKERS) return;
  /** @type {{ markDialogRead: api.Dialog }} */
  const data = await call(api.MARK_READ, { dialogId });
  applyMine(data.markDialogRead);
}

/** @param {string} id */
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
  session.open.messageIds.clear();
  view.messages.replaceChildren();
  for (const message of data.dialog.messages) appendMessage(message);
  await markRead(id);
}

/** @param {string} id */
async function openDialog(id) {
  if (!session) return;
  closeConversation();
  const stop = session.streams.follow(
    'dialogEvents',
    api.DIALOG_EVENTS,
    { dialogId: id },
    {
      /** @param {api.DialogEvent} event */
      next: (event) => {
        if (event.message) {
          appendMessage(event.message);
          if (event.message.author !== 'OPERATOR') act(() => markRead(id));
        }
        if (!isMine(event.dialog)) applyMine(event.dialog);
      },
      resync: () => act(() => loadConversation(id)),
    },
  );
  session.open = { id, stop, messageIds: new Set() };
  view.conversationEmpty.hidden = true;
  view.conversationBody.hidden = false;
  renderMine();
  await Promise.all([loadConversation(id), loadTransferTargets()]);
  view.conversationTitle.focus();
}

function closeConversation() {
  if (!session?.open) return;
  const { id } = session.open;
  // Read up to the end, and the list's badge from the server rather than from events that raced the last marker.
  if (session.mine.has(id)) act(() => markRead(id));
  session.open.stop();
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
        canTake ? h('button', { type: 'button', class: 'take', onclick: () => act(() => take(dialog.id)) }, 'Take') : '',
      ),
    (row, dialog, index) => {
      /** @type {HTMLElement} */ (row.querySelector('.title')).textContent = `#${index + 1} ${dialogTitle(dialog)}`;
      row.querySelector('.take')?.setAttribute('aria-label', `Take ${dialogTitle(dialog)}`);
    },
  );
}

async function loadHelp() {
  /** @type {{ helpQueue: api.Dialog[] }} */
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

/** @param {string | null} groupId */
async function loadStats(groupId) {
  /** @type {{ queueStats: api.QueueStats }} */
  const data = await call(api.QUEUE_STATS, { groupId });
  session?.stats.set(groupId ?? HELP, data.queueStats);
  renderQueues();
}

/** Every group's figures, live: queue events carry them, operators' comings and goings change them. */
async function watchQueues() {
  if (!session) return;
  /** @type {{ groups: api.GroupRef[] }} */
  const data = await call(api.GROUPS);
  session.groups = data.groups;
  renderQueues();
  for (const groupId of [null, ...data.groups.map((g) => g.id)]) {
    const refetch = () => act(() => loadStats(groupId));
    if (groupId !== null) {
      session.streams.follow(
        'queueChanged',
        api.QUEUE_EVENTS,
        { groupId },
        {
          /** @param {api.QueueEvent} event */
          next: (event) => {
            session?.stats.set(groupId, event.stats);
            renderQueues();
          },
          resync: refetch,
        },
      );
    }
    session.streams.follow('operatorStatusChanged', api.OPERATOR_STATUS_EVENTS, { groupId }, { next: refetch, resync: refetch });
    refetch();
  }
}

// ---- status --------------------------------------------------------------------------------

/** @param {string} current */
function showStatus(current) {
  for (const input of view.status.querySelectorAll('input')) input.checked = input.value === current;
}

function buildStatusSwitch() {
  const legend = /** @type {HTMLLegendElement} */ (view.status.querySelector('legend'));
  view.status.replaceChildren(
    legend,
    ...STATUSES.map((status) =>
      h(
        'label',
        {},
        h('input', {
          type: 'radio',
          name: 'status',
          value: status,
          onchange: () =>
            act(async () => {
              try {
                /** @type {{ setOperatorStatus: { status: string } }} */
                const data = await call(api.SET_STATUS, { status });
                showStatus(data.setOperatorStatus.status);
              } catch (error) {
                showStatus(session?.user.operator?.status ?? 'OFFLINE');
                throw error;
              }
              if (session?.user.operator) session.user.operator.status = status;
            }),
        }),
        status.charAt(0) + status.slice(1).toLowerCase(),
      ),
    ),
  );
}

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
  session = { token, user, streams, mine: new Map(), help: [], timers: new Map(), groups: [], stats: new Map(), open: null };
  view.login.hidden = true;
  view.app.hidden = false;
  view.app.dataset.layout = user.operator ? 'operator' : 'staff';
  view.account.hidden = false;
  view.connection.hidden = false;
  view.who.textContent = `${user.firstName} ${user.lastName} · ${user.role.toLowerCase()}`;

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
      // Every batch is whole: nothing to catch up on.
      resync: () => {},
    },
  );

  if (user.operator) {
    view.status.hidden = false;
    view.mine.hidden = false;
    view.conversation.hidden = false;
    buildStatusSwitch();
    showStatus(user.operator.status);
    streams.follow(
      'myDialogs',
      api.MY_DIALOGS_EVENTS,
      {},
      {
        /** @param {api.QueueEvent} event */
        next: (event) => applyMine(event.dialog),
        resync: () => act(loadMine),
      },
    );
    act(loadMine);
  }
  view.help.hidden = false;
  streams.follow(
    'queueChanged',
    api.QUEUE_EVENTS,
    { groupId: null },
    {
      /** @param {api.QueueEvent} event */
      next: (event) => {
        session?.stats.set(HELP, event.stats);
        renderQueues();
        act(loadHelp);
      },
      resync: () => act(loadHelp),
    },
  );
  act(loadHelp);
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
  for (const section of [view.mine, view.conversation, view.help, view.queues, view.status, view.account, view.connection]) {
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
