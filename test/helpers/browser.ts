import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Locator, Page } from 'playwright-core';
import { eventually } from './eventually.js';

/** The browser the panel tests drive: Debian's Chromium unless CHROMIUM_PATH names another. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Set by CI: without a browser the panel tests fail instead of skipping. */
export const BROWSER_REQUIRED = process.env.REQUIRE_BROWSER === '1';
export const browserAvailable = existsSync(CHROMIUM_PATH);
/** Why the panel tests cannot run, shown as the skipped (or, in CI, failed) test's name. */
export const NO_BROWSER = `no Chromium at ${CHROMIUM_PATH}: the panel's browser tests need it (apt-get install chromium, or set CHROMIUM_PATH)`;

/** Screenshots of the panel, rewritten on every run (gitignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/panel/', import.meta.url));

/** Saves a screenshot of `page` as `<name>.png` under SCREENSHOT_DIR. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Waits until the text of `locator` satisfies `check`; the panel updates live, so no fixed waits. */
export async function textUntil(
  locator: Locator,
  check: (text: string) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<string> {
  let last = '';
  await eventually(
    async () => {
      last = ((await locator.count()) > 0 ? await locator.first().textContent() : null) ?? '';
      return check(last);
    },
    timeoutMs,
    `${what} (last text: "${last}")`,
  );
  return last;
}
