/**
 * The operator panel in a real browser (Chromium through playwright-core) against the real
 * server and database: what an operator and a supervisor do in a shift, end to end. One
 * browser, one context per person; the steps run in order and share their dialogs.
 */
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { tableOutage } from './helpers/database.js';
import { BROWSER_REQUIRED, browserAvailable, CHROMIUM_PATH, NO_BROWSER, screenshot, textUntil } from './helpers/browser.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator, type GroupRef, type OperatorRef } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { parsePrometheus, sampleSum } from './helpers/prometheus.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Generous: the panel waits on the server and the browser, whatever their speed. */
const UI_TIMEOUT_MS = 15_000;
/** The browser-rendered colour of a breached timer (panel.css --breached). */
const BREACHED_RED = 'rgb(179, 38, 30)';

if (!browserAvailable && BROWSER_REQUIRED) {
  it('runs the panel in Chromium (REQUIRE_BROWSER=1)', () => {
    throw new Error(`REQUIRE_BROWSER=1 but ${NO_BROWSER}`);
  });
} else if (!browserAvailable) {
  console.warn(NO_BROWSER);
  it.skip(NO_BROWSER, () => {});
} else {
  describe('operator panel in Chromium', () => {
    let t: TestApp;
    let origin: string;
    let bot: GraphqlClient;
    let browser: Browser;
    let ada: OperatorRef;
    let grace: OperatorRef;
    let support: GroupRef;
    let urgent: GroupRef;
    const supervisor = { email: 'sam.supervisor@example.com', password: 'correct horse battery' };
    let adaPage: Page;
    let gracePage: Page;
    let gracePageContext: BrowserContext;
    let samPage: Page;
    /** While set, Grace's browser cannot open a WebSocket (her connection stays down). */
    let graceOffline = false;
    const dialogs: Record<string, string> = {};

    beforeAll(async () => {
      t = await startTestApp();
      origin = new URL(t.app.url).origin;
      bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
      support = await createGroup(t.admin, { name: 'Support', slFirstResponseSec: 300 });
      // A target short enough that an unanswered dialog is overdue within the test.
      urgent = await createGroup(t.admin, { name: 'Urgent', slFirstResponseSec: 2 });
      // Nobody in it: what is transferred here waits in Help.
      await createGroup(t.admin, { name: 'Escalations' });
      ada = await createOperator(t.admin, { groupIds: [support.id, urgent.id] });
      grace = await createOperator(t.admin, { groupIds: [support.id] });
      await t.admin.ok(
        `mutation($id: ID!) { updateOperator(id: $id, input: { firstName: "Grace", lastName: "Hopper" }) { id } }`,
        {
          id: grace.id,
        },
      );
      await t.admin.ok(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
        input: { ...supervisor, firstName: 'Sam', lastName: 'Supervisor', role: 'SUPERVISOR' },
      });
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH });
      const open = async (viewport: { width: number; height: number }): Promise<[BrowserContext, Page]> => {
        const context = await browser.newContext({ viewport });
        context.setDefaultTimeout(UI_TIMEOUT_MS);
        return [context, await context.newPage()];
      };
      [, adaPage] = await open(DESKTOP);
      [gracePageContext, gracePage] = await open(PHONE);
      [, samPage] = await open(DESKTOP);
      // Grace's WebSockets pass through here, so the test can keep her connection down for a while.
      await gracePageContext.routeWebSocket(/\/graphql$/, (ws) => {
        if (graceOffline) void ws.close({ code: 1013, reason: 'offline for the test' });
        else ws.connectToServer();
      });
    });

    afterAll(async () => {
      await browser?.close();
      await t?.stop();
    });

    /** Logs in with the keyboard only, as a screen-reader or keyboard user would. */
    async function logIn(page: Page, email: string, password: string): Promise<void> {
      await page.goto(`${origin}/panel`);
      await page.getByLabel('Email').focus();
      await page.keyboard.type(email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(password);
      await page.keyboard.press('Enter');
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    }

    /** Goes online with the keyboard: the status switch is a radio group (Space selects the focused one). */
    async function goOnline(page: Page, operator: OperatorRef): Promise<void> {
      await page.getByRole('radio', { name: 'Online' }).focus();
      await page.keyboard.press('Space');
      await eventually(async () => (await operatorStatus(operator)).status === 'ONLINE', UI_TIMEOUT_MS, 'operator online');
      expect(await page.getByRole('radio', { name: 'Online' }).isChecked()).toBe(true);
    }

    async function operatorStatus(operator: OperatorRef): Promise<{ status: string; awayReason: string | null }> {
      const data = await t.admin.ok(`query($id: ID!) { operator(id: $id) { status awayReason } }`, { id: operator.id });
      return data.operator;
    }

    async function messagesOf(dialogId: string): Promise<Array<{ author: string; text: string }>> {
      const data = await t.admin.ok(`query($id: ID!) { dialog(id: $id) { messages { author text } } }`, { id: dialogId });
      return data.dialog.messages;
    }

    /** A dialog the bot hands over to `to` (a group or an operator), with the client's name shown in lists. */
    async function handOver(clientName: string, to: { groupId?: string; operatorId?: string }): Promise<string> {
      const dialog = await startDialog(bot, { clientName });
      await transfer(bot, dialog.id, to);
      return dialog.id;
    }

    const section = (page: Page, name: string) => page.getByRole('region', { name });
    const row = (page: Page, listName: string, client: string) =>
      section(page, listName).getByRole('listitem').filter({ hasText: client });
    const timerOf = (page: Page, client: string) => row(page, 'My dialogs', client).getByRole('timer');

    it('an operator logs in and goes online', async () => {
      await adaPage.goto(`${origin}/panel`);
      await adaPage.getByRole('heading', { name: 'Log in' }).waitFor();
      await screenshot(adaPage, '01-login');
      await logIn(adaPage, ada.email, ada.password);
      await section(adaPage, 'My dialogs').getByText('No dialogs assigned to you.').waitFor();
      await goOnline(adaPage, ada);
    });

    it('a dialog the bot hands over appears live, with a ticking SL timer', async () => {
      dialogs.alice = await handOver('Alice', { groupId: support.id });
      const first = await textUntil(timerOf(adaPage, 'Alice'), (text) => /^\d+:\d\d$/.test(text), 'Alice’s timer shows');
      await textUntil(timerOf(adaPage, 'Alice'), (text) => /^\d+:\d\d$/.test(text) && text !== first, 'Alice’s timer ticks');
      await screenshot(adaPage, '02-my-dialogs');
    });

    it('the operator opens it, reads the client and replies; the answered dialog’s timer stops', async () => {
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "My order is late") { id } }`, {
        id: dialogs.alice,
      });
      await row(adaPage, 'My dialogs', 'Alice').getByRole('button', { name: 'Alice' }).click();
      const conversation = section(adaPage, 'Alice');
      await conversation.getByText('My order is late').waitFor();
      await conversation.getByLabel('Reply').fill('Let me check that for you.');
      await conversation.getByLabel('Reply').press('Enter');
      await conversation.getByText('Let me check that for you.').waitFor();
      await eventually(
        async () =>
          (await messagesOf(dialogs.alice)).some((m) => m.author === 'OPERATOR' && m.text === 'Let me check that for you.'),
        UI_TIMEOUT_MS,
        'the reply stored',
      );
      // The reply met the first-response SL: its clock stopped.
      await eventually(async () => (await timerOf(adaPage, 'Alice').count()) === 0, UI_TIMEOUT_MS, 'Alice’s timer stopped');
      // A client message while the dialog is open arrives live, and starts the next-reply clock.
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Thank you!") { id } }`, { id: dialogs.alice });
      await conversation.getByText('Thank you!').waitFor();
      await textUntil(timerOf(adaPage, 'Alice'), (text) => /^\d+:\d\d$/.test(text), 'the next-reply timer shows');
      await screenshot(adaPage, '03-conversation');
    });

    it('an unanswered dialog’s timer turns red at the SL breach', async () => {
      dialogs.bob = await handOver('Bob', { groupId: urgent.id });
      const timer = timerOf(adaPage, 'Bob');
      await textUntil(timer, (text) => text.length > 0, 'Bob’s timer shows');
      await eventually(async () => (await timer.getAttribute('data-breached')) === 'true', 30_000, 'Bob’s timer breached');
      expect(await timer.evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).backgroundColor)).toBe(BREACHED_RED);
      expect(await timer.textContent()).toMatch(/^−\d+:\d\d$/);
      // The other dialog's timer is not red.
      expect(await timerOf(adaPage, 'Alice').getAttribute('data-breached')).toBe('false');
      await screenshot(adaPage, '04-breached');
    }, 60_000);

    it('unread badges count the client’s messages in dialogs not open, and clear when the dialog is opened', async () => {
      const badge = row(adaPage, 'My dialogs', 'Bob').locator('.badge');
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Hello?") { id } }`, { id: dialogs.bob });
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Anyone there?") { id } }`, {
        id: dialogs.bob,
      });
      await textUntil(badge.and(adaPage.getByLabel('2 unread')), (text) => text === '2', 'Bob’s badge shows 2');
      // Alice is open: what the client writes there is read as it arrives.
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "One more thing") { id } }`, {
        id: dialogs.alice,
      });
      await section(adaPage, 'Alice').getByText('One more thing').waitFor();
      const aliceBadge = row(adaPage, 'My dialogs', 'Alice').locator('.badge');
      expect(await aliceBadge.isHidden()).toBe(true);
      await screenshot(adaPage, '05-unread');
      await row(adaPage, 'My dialogs', 'Bob').getByRole('button', { name: 'Bob' }).click();
      await section(adaPage, 'Bob').getByText('Anyone there?').waitFor();
      // Opening a dialog takes keyboard focus to its heading.
      const heading = section(adaPage, 'Bob').getByRole('heading', { name: 'Bob' });
      await eventually(
        async () => heading.evaluate((el) => el === el.ownerDocument.activeElement),
        UI_TIMEOUT_MS,
        'focus on Bob',
      );
      await eventually(async () => badge.isHidden(), UI_TIMEOUT_MS, 'Bob’s badge cleared');
      // Alice, left for Bob, has nothing unread (its read marker moved when it was left).
      await eventually(async () => aliceBadge.isHidden(), UI_TIMEOUT_MS, 'Alice’s badge hidden');
    });

    it('an operator goes away with a reason, keeps their dialogs, and comes back', async () => {
      // From Online, the arrow key selects the next status: Away.
      await adaPage.getByRole('radio', { name: 'Online' }).focus();
      await adaPage.keyboard.press('ArrowRight');
      await eventually(async () => (await operatorStatus(ada)).status === 'AWAY', UI_TIMEOUT_MS, 'Ada away');
      const reason = adaPage.getByRole('banner').getByLabel('Away reason');
      await reason.fill('Lunch');
      await reason.press('Enter');
      await eventually(async () => (await operatorStatus(ada)).awayReason === 'Lunch', UI_TIMEOUT_MS, 'the reason stored');
      expect(await adaPage.getByRole('radio', { name: 'Away' }).isChecked()).toBe(true);
      // Away keeps what they hold.
      await row(adaPage, 'My dialogs', 'Alice').waitFor();
      await row(adaPage, 'My dialogs', 'Bob').waitFor();
      await screenshot(adaPage, '05b-away');
      await adaPage.getByRole('radio', { name: 'Away' }).focus();
      await adaPage.keyboard.press('ArrowLeft');
      await eventually(async () => (await operatorStatus(ada)).status === 'ONLINE', UI_TIMEOUT_MS, 'Ada back online');
      await eventually(async () => reason.isHidden(), UI_TIMEOUT_MS, 'the reason field hidden once online');
    });

    it('a supervisor watches the queues live while a dialog waits in Help, and the operator takes it', async () => {
      // Escalations has nobody online (nobody at all); Grace is offline; Ada hands it on, so it waits in Help.
      await row(adaPage, 'My dialogs', 'Bob').getByRole('button', { name: 'Bob' }).click();
      const conversation = section(adaPage, 'Bob');
      await conversation.getByLabel('Transfer to').selectOption({ label: 'Escalations' });
      await conversation.getByRole('button', { name: 'Transfer' }).click();
      await row(adaPage, 'Help queue', 'Bob').waitFor();
      expect(await row(adaPage, 'My dialogs', 'Bob').count()).toBe(0);
      expect(await row(adaPage, 'Help queue', 'Bob').textContent()).toContain('#1 Bob');

      await logIn(samPage, supervisor.email, supervisor.password);
      const escalationsRow = section(samPage, 'Queues').getByRole('row', { name: /Escalations/ });
      await textUntil(escalationsRow.getByRole('cell').first(), (text) => text === '1', 'Escalations shows one waiting');
      await row(samPage, 'Help queue', 'Bob').waitFor();
      await screenshot(samPage, '06-supervisor');
      await screenshot(adaPage, '07-help-queue');

      await row(adaPage, 'Help queue', 'Bob').getByRole('button', { name: 'Take Bob' }).click();
      await row(adaPage, 'My dialogs', 'Bob').waitFor();
      await section(adaPage, 'Help queue').getByText('Nobody is waiting.').waitFor();
      // The supervisor's view follows without a reload.
      await textUntil(escalationsRow.getByRole('cell').first(), (text) => text === '0', 'Escalations empty again');

      // With a dialog taken from Help lately, the next one waiting shows the wait the API expects.
      dialogs.erin = await handOver('Erin', { operatorId: ada.id });
      await row(adaPage, 'My dialogs', 'Erin').getByRole('button', { name: 'Erin' }).click();
      await section(adaPage, 'Erin').getByLabel('Transfer to').selectOption({ label: 'Escalations' });
      await section(adaPage, 'Erin').getByRole('button', { name: 'Transfer' }).click();
      await row(adaPage, 'Help queue', 'Erin').waitFor();
      const queued = await t.admin.ok('{ helpQueue { id queuePosition estimatedWaitSec } }');
      expect(queued.helpQueue).toEqual([{ id: dialogs.erin, queuePosition: 1, estimatedWaitSec: expect.any(Number) }]);
      const minutes = Math.max(1, Math.round(queued.helpQueue[0].estimatedWaitSec / 60));
      await textUntil(
        row(adaPage, 'Help queue', 'Erin'),
        (text) => text.includes('#1 Erin') && text.includes(`≈ ${minutes} min wait`),
        'Erin’s place and expected wait',
      );
      await screenshot(adaPage, '07b-help-estimate');
      await row(adaPage, 'Help queue', 'Erin').getByRole('button', { name: 'Take Erin' }).click();
      await row(adaPage, 'My dialogs', 'Erin').waitFor();
    });

    it('an operator transfers a dialog to a colleague, who sees it arrive on their phone', async () => {
      await logIn(gracePage, grace.email, grace.password);
      await goOnline(gracePage, grace);
      await row(adaPage, 'My dialogs', 'Alice').getByRole('button', { name: 'Alice' }).click();
      const conversation = section(adaPage, 'Alice');
      await conversation.getByLabel('Transfer to').selectOption({ label: 'Grace Hopper (online)' });
      await conversation.getByRole('button', { name: 'Transfer' }).click();
      await row(gracePage, 'My dialogs', 'Alice').waitFor();
      await eventually(async () => (await row(adaPage, 'My dialogs', 'Alice').count()) === 0, UI_TIMEOUT_MS, 'Alice left Ada');
      await row(gracePage, 'My dialogs', 'Alice').getByRole('button', { name: 'Alice' }).click();
      await section(gracePage, 'Alice').getByText('Let me check that for you.').waitFor();
      await screenshot(gracePage, '08-phone');
    });

    it('after the server drops the socket, what was committed meanwhile still shows, without a reload', async () => {
      graceOffline = true;
      const closed = t.app.server.closeSockets((viewer) => viewer.operatorId === grace.id, 1012, 'restarting');
      expect(closed).toBeGreaterThan(0);
      await gracePage.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
      // Committed while Grace's panel has no connection: a message in her open dialog and a new dialog for her.
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Are you still there?") { id } }`, {
        id: dialogs.alice,
      });
      dialogs.carol = await handOver('Carol', { operatorId: grace.id });
      expect(await section(gracePage, 'Alice').getByText('Are you still there?').count()).toBe(0);
      graceOffline = false;
      await gracePage.getByRole('status').filter({ hasText: 'Live' }).waitFor();
      await row(gracePage, 'My dialogs', 'Carol').waitFor();
      await section(gracePage, 'Alice').getByText('Are you still there?').waitFor();
      // And live events flow again on the new connection.
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Hello again") { id } }`, { id: dialogs.alice });
      await section(gracePage, 'Alice').getByText('Hello again').waitFor();
    });

    it('when the events a panel missed are no longer kept (EVENTS_EXPIRED), it refetches and follows on', async () => {
      graceOffline = true;
      t.app.server.closeSockets((viewer) => viewer.operatorId === grace.id, 1012, 'restarting');
      await gracePage.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Still waiting") { id } }`, {
        id: dialogs.alice,
      });
      dialogs.dave = await handOver('Dave', { operatorId: grace.id });
      // Retention passes for everything so far: resuming from Grace's last sequence is refused.
      const pruned = await t.app.services.bus.log.prune(t.app.orm.em.fork(), new Date(Date.now() + 1000));
      expect(pruned).toBeGreaterThan(0);
      graceOffline = false;
      await gracePage.getByRole('status').filter({ hasText: 'Live' }).waitFor();
      await row(gracePage, 'My dialogs', 'Dave').waitFor();
      await section(gracePage, 'Alice').getByText('Still waiting').waitFor();
      // Followed again from what was refetched: live events flow.
      await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Back to live") { id } }`, { id: dialogs.alice });
      await section(gracePage, 'Alice').getByText('Back to live').waitFor();
      expect(await gracePage.getByRole('alert').textContent()).toBe('');
    });

    it('while the database cannot serve its streams, the panel sends them again by itself and follows on', async () => {
      const refusedAsUnavailable = async (): Promise<number> =>
        sampleSum(parsePrometheus(await t.app.services.metrics.registry.metrics()), 'handover_graphql_operations_total', {
          transport: 'ws',
          outcome: 'SERVICE_UNAVAILABLE',
        });
      const before = await refusedAsUnavailable();
      const db = new pg.Client({ connectionString: t.db.url });
      await db.connect();
      try {
        const outage = await tableOutage(db, 'event_topics');
        try {
          // Grace's panel reconnects and resumes its streams, whose sequences are in the table now away.
          t.app.server.closeSockets((viewer) => viewer.operatorId === grace.id, 1012, 'restarting');
          await outage.dropWaitingUntil(
            async () => (await refusedAsUnavailable()) > before,
            'a stream refused while the database is away',
            UI_TIMEOUT_MS,
          );
        } finally {
          await outage.end();
        }
        // Committed once the database is back: it reaches her open dialog live, and no error was shown.
        await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "Anyone there?") { id } }`, {
          id: dialogs.alice,
        });
        await section(gracePage, 'Alice').getByText('Anyone there?').waitFor();
        expect(await gracePage.getByRole('alert').textContent()).toBe('');
      } finally {
        await db.end();
      }
    });

    it('the operator closes a dialog', async () => {
      await section(gracePage, 'Alice').getByRole('button', { name: 'Close dialog' }).click();
      await eventually(async () => (await row(gracePage, 'My dialogs', 'Alice').count()) === 0, UI_TIMEOUT_MS, 'Alice closed');
      const data = await t.admin.ok(`query($id: ID!) { dialog(id: $id) { status } }`, { id: dialogs.alice });
      expect(data.dialog.status).toBe('CLOSED');
      await row(gracePage, 'My dialogs', 'Carol').waitFor();
    });
  });
}
