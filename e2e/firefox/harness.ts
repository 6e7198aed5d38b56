// The Firefox suite's test wrapper and page helpers: the same steps as e2e/world.ts's (same testids
// of the demo, same waits), written for puppeteer-core over WebDriver BiDi, with polling assertions
// in place of Playwright's auto-retrying `expect`.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { WorkerReply, WorkerRequest } from '../../sw/messages.ts';
import { askWorkerInPage, readDatabaseInPage } from '../page-scripts.ts';
import { resetLogs, type World } from '../world.ts';
import { fulfill, launchFirefox, type LaunchOptions } from './browser.ts';
import { world } from './worlds.ts';

export { asLog, authorizationScopes, mcpLog, PAST_REFRESH_MARGIN_MS, resetLogs, type World } from '../world.ts';
export { bearerWorld, openWorld, shortLivedWorld, world } from './worlds.ts';

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/firefox/', import.meta.url));
/** How long an assertion waits for the page to agree (Playwright's expect timeout in playwright.config.ts). */
export const EXPECT_TIMEOUT_MS = 15_000;
/** A test's own limit (Playwright's timeout in playwright.config.ts). */
const TEST_TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// One Firefox per test file, a fresh browser context (profile: service worker, IndexedDB) per test

let launchOptions: LaunchOptions = {};
let shared: Promise<Browser> | undefined;

/** Preferences for this file's Firefox (call at the top of a test file, before its tests run). */
export function useFirefox(options: LaunchOptions): void {
  launchOptions = options;
}

export function firefox(): Promise<Browser> {
  shared ??= launchFirefox(launchOptions);
  return shared;
}

after(async () => {
  if (shared) await (await shared).close();
});

export interface Session {
  browser: Browser;
  context: BrowserContext;
  /** The test's first tab. */
  page: Page;
  /** Runs when the test ends, pass or fail. */
  onClose(cleanup: () => Promise<void> | void): void;
}

/**
 * A test with a fresh browser context. On failure each open tab is saved as a screenshot under
 * test-results/firefox/. `todo` (node:test's): the test runs and its failure is reported, with this
 * reason, without failing the run: for a known defect the test describes the fixed behaviour of.
 */
export function firefoxTest(name: string, body: (session: Session) => Promise<void>, options: { timeout?: number; todo?: string } = {}): void {
  test(name, { timeout: options.timeout ?? TEST_TIMEOUT_MS, ...(options.todo ? { todo: options.todo } : {}) }, async () => {
    const browser = await firefox();
    const context = await browser.createBrowserContext();
    const cleanups: Array<() => Promise<void> | void> = [];
    try {
      const page = await context.newPage();
      await body({ browser, context, page, onClose: (cleanup) => cleanups.push(cleanup) });
    } catch (error) {
      await screenshots(context, name).catch(() => undefined);
      throw error;
    } finally {
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
      await context.close().catch(() => undefined);
    }
  });
}

async function screenshots(context: BrowserContext, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const slug = name.replace(/[^\w-]+/g, '-').slice(0, 80);
  const pages = await context.pages();
  for (const [i, page] of pages.entries()) {
    await page.screenshot({ path: join(SCREENSHOTS, `${slug}-${i}.png`) as `${string}.png` }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Waiting and asserting

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `accept` takes its value (Playwright's expect.poll); fails with the last value seen. */
export async function poll<T>(read: () => Promise<T>, accept: (value: T) => boolean, message: string, timeout = EXPECT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (error) {
      lastError = error; // e.g. the page is between two documents
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `error: ${(lastError as Error).message}` : JSON.stringify(last);
      assert.fail(`${message} (waited ${timeout / 1000} s; last seen: ${seen})`);
    }
    await sleep(100);
  }
}

interface ElementState {
  count: number;
  texts: string[];
  text: string | null;
  className: string;
  visible: boolean;
  enabled: boolean;
  checked: boolean;
}

const matches = (text: string | null, expected: string | RegExp) => text !== null && (typeof expected === 'string' ? text === expected : expected.test(text));

/**
 * Elements by CSS selector, read afresh at each check (a Playwright locator, for what the tests
 * assert). `pick` says which of several matches the single-element checks read.
 */
export class Probe {
  readonly page: Page;
  readonly selector: string;
  readonly pick: 'first' | 'last';

  constructor(page: Page, selector: string, pick: 'first' | 'last' = 'first') {
    this.page = page;
    this.selector = selector;
    this.pick = pick;
  }

  state(): Promise<ElementState> {
    return this.page.evaluate(
      (selector, pick) => {
        const all = Array.from(document.querySelectorAll(selector));
        const element = pick === 'last' ? all.at(-1) : all[0];
        const normalize = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
        return {
          count: all.length,
          texts: all.map((e) => normalize(e.textContent)),
          text: element ? normalize(element.textContent) : null,
          className: element?.getAttribute('class') ?? '',
          visible: !!element && element.checkVisibility(),
          enabled: !!element && !(element as HTMLButtonElement).disabled,
          checked: !!element && (element as HTMLInputElement).checked === true,
        };
      },
      this.selector,
      this.pick,
    );
  }

  private async until(accept: (s: ElementState) => boolean, what: string, timeout?: number): Promise<ElementState> {
    return poll(() => this.state(), accept, `${this.selector} ${what}`, timeout);
  }

  /** Whole text (whitespace normalized) equal to a string or matching a RegExp; an array checks every match in order. */
  toHaveText(expected: string | RegExp | string[], timeout?: number): Promise<ElementState> {
    if (Array.isArray(expected)) return this.until((s) => JSON.stringify(s.texts) === JSON.stringify(expected), `has the texts ${JSON.stringify(expected)}`, timeout);
    return this.until((s) => matches(s.text, expected), `has the text ${String(expected)}`, timeout);
  }

  toContainText(expected: string | RegExp, timeout?: number): Promise<ElementState> {
    return this.until((s) => s.text !== null && (typeof expected === 'string' ? s.text.includes(expected) : expected.test(s.text)), `contains ${String(expected)}`, timeout);
  }

  toBeVisible(timeout?: number): Promise<ElementState> {
    return this.until((s) => s.visible, 'is visible', timeout);
  }

  /** Absent, or present and not rendered (Playwright's toBeHidden). */
  toBeHidden(timeout?: number): Promise<ElementState> {
    return this.until((s) => !s.visible, 'is hidden', timeout);
  }

  toHaveCount(count: number, timeout?: number): Promise<ElementState> {
    return this.until((s) => s.count === count, `matches ${count} element(s)`, timeout);
  }

  toHaveClass(expected: RegExp, timeout?: number): Promise<ElementState> {
    return this.until((s) => s.count > 0 && expected.test(s.className), `has a class matching ${String(expected)}`, timeout);
  }

  toBeEnabled(timeout?: number): Promise<ElementState> {
    return this.until((s) => s.count > 0 && s.enabled, 'is enabled', timeout);
  }

  toBeChecked(timeout?: number): Promise<ElementState> {
    return this.until((s) => s.checked, 'is checked', timeout);
  }

  async text(): Promise<string> {
    return (await this.state()).text ?? '';
  }

  async isVisible(): Promise<boolean> {
    return (await this.state()).visible;
  }

  /** Clicks it once it is visible and enabled (puppeteer's locator waits for that, as Playwright's click does). */
  async click(): Promise<void> {
    await this.toBeVisible();
    await this.page.locator(this.selector).setTimeout(EXPECT_TIMEOUT_MS).click();
  }

  /**
   * Clicks it once it is visible, for a click after which its page goes away (the consent in a
   * popup, which then closes itself): the click is dispatched in the page, and an error from the
   * page being gone already is ignored. (puppeteer's own click can fail after it has clicked, once
   * the popup is discarded, outside the test's await.)
   */
  async clickAndLeave(): Promise<void> {
    await this.toBeVisible();
    const element = await this.page.$(this.selector);
    if (!element) throw new Error(`${this.selector} is gone`);
    await element.evaluate((e) => (e as HTMLElement).click()).catch((error: Error) => {
      if (!/no such frame|BrowsingContext does no longer exist|Target closed|detached|closed/i.test(error.message)) throw error;
    });
  }

  /** Replaces an input's value (Playwright's fill). */
  async fill(value: string): Promise<void> {
    await this.page.locator(this.selector).setTimeout(EXPECT_TIMEOUT_MS).fill(value);
  }
}

export const byTestId = (page: Page, id: string, inner = '') => new Probe(page, `[data-testid="${id}"]${inner ? ` ${inner}` : ''}`);
export const loginField = (page: Page) => new Probe(page, 'input[name="login"]');

/** A button found by XPath, which querySelectorAll cannot take: read through puppeteer's handles. */
class ButtonProbe extends Probe {
  override async state(): Promise<ElementState> {
    const handles = await this.page.$$(this.selector);
    const element = handles[0];
    if (!element) return { count: 0, texts: [], text: null, className: '', visible: false, enabled: false, checked: false };
    const state = await element.evaluate((e) => ({ visible: e.checkVisibility(), enabled: !(e as HTMLButtonElement).disabled, text: (e.textContent ?? '').trim() }));
    return { count: handles.length, texts: [state.text], text: state.text, className: '', visible: state.visible, enabled: state.enabled, checked: false };
  }
}
/** A button by its exact text (Playwright's getByRole('button', { name, exact: true })). */
export const buttonNamed = (page: Page, name: string) => new ButtonProbe(page, `::-p-xpath(//button[normalize-space(.)=${JSON.stringify(name)}])`);

/** Waits until the page's URL passes (Playwright's waitForURL). */
export async function waitForUrl(page: Page, accept: (url: URL) => boolean, message = 'the page reaches the expected URL', timeout = EXPECT_TIMEOUT_MS): Promise<void> {
  await poll(async () => page.url(), (url) => accept(new URL(url)), message, timeout);
  await page.waitForFunction(() => document.readyState === 'complete', { timeout }).catch(() => undefined);
}

/** Runs `action` and waits for the next document of the page to load (Playwright's waitForEvent('load')). */
export async function nextDocument(page: Page, action: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: EXPECT_TIMEOUT_MS }), action()]);
}

// ---------------------------------------------------------------------------------------------
// The demo

/** Opens the demo (or one of its pages) and waits until the worker controls it and has answered. */
export async function openDemo(page: Page, w: World, path = '/'): Promise<void> {
  await page.goto(`${w.appOrigin}${path}`);
  await poll(() => byTestId(page, 'status-notes').text(), (t) => t !== '' && t !== 'Starting…', 'the demo started');
}

/**
 * At the authorization server: sign in when asked, read the scopes the consent lists, and decide.
 * Returns the scopes listed, or [] when the server needed no consent and sent the browser back.
 */
export async function approveAtAuthorizationServer(page: Page, w: World, user = 'alice', decision: 'Allow' | 'Deny' = 'Allow'): Promise<string[]> {
  const backInApp = (url: URL) => url.origin === w.appOrigin && !url.pathname.startsWith('/oauth');
  if (backInApp(new URL(page.url()))) return [];
  const decide = buttonNamed(page, decision);
  const login = loginField(page);
  await poll(async () => (await login.isVisible()) || (await decide.isVisible()), Boolean, 'the login or the consent page shows');
  if (await login.isVisible()) {
    await login.fill(user);
    await nextDocument(page, () => buttonNamed(page, 'Sign in').click());
  }
  await decide.toBeVisible();
  const scopes = await page.$$eval('li.scope', (items) => items.map((li) => (li.textContent ?? '').trim()));
  await decide.click();
  await waitForUrl(page, backInApp, 'back in the app');
  return scopes;
}

/** Clicks a server's Authorize button and consents (or not) at the authorization server. */
export async function authorize(page: Page, w: World, serverId: string, user = 'alice', decision: 'Allow' | 'Deny' = 'Allow'): Promise<string[]> {
  // the next document is the authorization server's page or, when it needs no consent, the app again
  await nextDocument(page, () => byTestId(page, `authorize-${serverId}`).click());
  return approveAtAuthorizationServer(page, w, user, decision);
}

/** In a popup or a page at the authorization server: signs in when asked and allows; returns the scopes the consent listed. */
export async function signInAndAllow(popupOrPage: Page, user: string): Promise<string[]> {
  const login = loginField(popupOrPage);
  const allow = buttonNamed(popupOrPage, 'Allow');
  await poll(async () => (await login.isVisible()) || (await allow.isVisible()), Boolean, 'the login or the consent page shows');
  if (await login.isVisible()) {
    await login.fill(user);
    await nextDocument(popupOrPage, () => buttonNamed(popupOrPage, 'Sign in').click());
  }
  await allow.toBeVisible();
  const scopes = await popupOrPage.$$eval('li.scope', (items) => items.map((li) => (li.textContent ?? '').trim()));
  await allow.clickAndLeave();
  return scopes;
}

/** Clicks what opens the popup and resolves with the popup. */
export async function openPopup(page: Page, click: () => Promise<void>): Promise<Page> {
  const opened = new Promise<Page>((resolve) => page.once('popup', (popup) => resolve(popup!)));
  await click();
  return withTimeout(opened, 'a popup opens');
}

/** Clicks what opens the popup, signs in and allows there, and waits for the popup to close itself. */
export async function allowInPopup(page: Page, click: () => Promise<void>, user = 'pia'): Promise<string[]> {
  const popup = await openPopup(page, click);
  const closed = new Promise<void>((resolve) => popup.once('close', () => resolve()));
  const scopes = await signInAndAllow(popup, user);
  await withTimeout(closed, 'the popup closes itself');
  return scopes;
}

/**
 * Two tabs waiting for the same scope: tab `a` opens its popup (left at the login page), then tab
 * `b` asks to authorize and waits for it ("in flight"). Resolves with `a`'s popup.
 */
export async function popupWaitedOnByOtherTab(a: Page, b: Page): Promise<Page> {
  await a.bringToFront();
  const popup = await openPopup(a, () => byTestId(a, 'authorize-notes').click());
  await loginField(popup).toBeVisible();
  await b.bringToFront();
  await byTestId(b, 'authorize-notes').click();
  await byTestId(b, 'in-flight-notes').toBeVisible();
  return popup;
}

export async function withTimeout<T>(promise: Promise<T>, what: string, timeout = EXPECT_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out (${timeout / 1000} s): ${what}`)), timeout)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The output line of one run of a demo action (the demo tags each line with the run's id). */
export function callOutput(page: Page, serverId: string, call: string): Probe {
  return new Probe(page, `[data-testid="output-${serverId}"] li[data-call="${call}"]`, 'last');
}

async function startCall(page: Page, serverId: string, click: () => Promise<void>): Promise<Probe> {
  const lastCall = () => page.$eval(`[data-testid="output-${serverId}"]`, (list) => list.getAttribute('data-last-call'));
  const before = await lastCall();
  await click();
  const call = await poll(lastCall, (id) => id !== before && id !== null, `a new call on ${serverId}`);
  return callOutput(page, serverId, call!);
}

/** Runs a tool from its form; returns that call's own output line. */
export async function runTool(page: Page, serverId: string, tool: string, args: Record<string, string> = {}): Promise<Probe> {
  for (const [name, value] of Object.entries(args)) await byTestId(page, `input-${serverId}-${tool}-${name}`).fill(value);
  return startCall(page, serverId, () => byTestId(page, `run-${serverId}-${tool}`).click());
}

/** Clicks Connect (connect + tools/list); returns that call's own output line. */
export function connect(page: Page, serverId: string): Promise<Probe> {
  return startCall(page, serverId, () => byTestId(page, `connect-${serverId}`).click());
}

/**
 * Firefox's own request for a favicon, refused by the authorization server's pages' CSP
 * (`default-src 'none'`) while the tab is there. Firefox reports it as a page error; it is the
 * browser's request, not the app's nor the authorization server's script.
 */
const FOREIGN_FAVICON = /^(?:uncaught: )?Content-Security-Policy: .*\(img-src\) at (https?:\/\/[^/\s]+)\/favicon\.ico /;

/**
 * Collects what would alarm a developer in the console: uncaught errors and console.error calls.
 * (Firefox logs nothing of its own for the servers' 401/403 challenges; the worker's console does
 * not reach the driver at all.)
 */
export function watchConsole(page: Page, w: World = world): string[] {
  const problems: string[] = [];
  const record = (text: string) => {
    const favicon = FOREIGN_FAVICON.exec(text);
    if (favicon && favicon[1] !== w.appOrigin) return;
    problems.push(text);
  };
  page.on('pageerror', (error) => record(`uncaught: ${(error as Error).message ?? String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error') record(message.text());
  });
  return problems;
}

/** Makes the demo page register one more MCP server (e2e/world.ts's withExtraServer): call before opening the demo. */
export async function withExtraServer(session: Session, page: Page, w: World, server: { id: string; name: string; url: string }): Promise<void> {
  const url = `${w.appOrigin}/demo-config.json`;
  const remove = await fulfill(page, url, async () => {
    const config = (await (await fetch(url)).json()) as { servers: unknown[] };
    return { contentType: 'application/json', text: JSON.stringify({ ...config, servers: [...config.servers, server] }) };
  });
  session.onClose(remove);
}

/** Sends one request to the worker from the page, as any script of the origin can. */
export function askWorker(page: Page, request: WorkerRequest): Promise<WorkerReply> {
  return page.evaluate(askWorkerInPage, request);
}

/** The id of the running worker instance: a new one after the browser stopped and restarted it. */
export async function workerInstance(page: Page): Promise<string> {
  const reply = await askWorker(page, { type: 'ping' });
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.instance;
}

/** Every record of every store of the worker's database, read by page script. */
export function readDatabase(page: Page): Promise<Record<string, unknown[]>> {
  return page.evaluate(readDatabaseInPage);
}

/** The worker's IndexedDB record for one server. */
export async function ledger(page: Page, serverId: string): Promise<{ requested: string[]; granted: string[] } | undefined> {
  const stores = await readDatabase(page);
  return (stores['servers'] as Array<{ id: string; requested: string[]; granted: string[] }> | undefined)?.find((s) => s.id === serverId);
}

/** Opens the demo and authorizes notes:read through the UI (one authorization). */
export async function authorizeRead(page: Page, w: World, user: string): Promise<void> {
  await openDemo(page, w);
  await connect(page, 'notes');
  await authorize(page, w, 'notes', user);
  await byTestId(page, 'tool-notes-list-notes').toBeVisible();
}

/** A fresh page authorized for notes:read, then notes:write (two authorizations). */
export async function authorizeReadWrite(page: Page, w: World, user: string): Promise<void> {
  await resetLogs(w);
  await openDemo(page, w);
  await byTestId(page, 'connect-notes').click();
  await authorize(page, w, 'notes', user);
  await byTestId(page, 'tool-notes-add-note').toBeVisible();
  const added = await runTool(page, 'notes', 'add-note', { text: 'two scopes' });
  await authorize(page, w, 'notes', user);
  await added.toContainText('Added note');
  // the retried call also fetches the tool list again; let it finish before the test goes on
  await byTestId(page, 'tool-notes-list-notes').toBeVisible();
  await byTestId(page, 'connect-notes').toBeEnabled();
}
