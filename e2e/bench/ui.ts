// Driving the demo app through its real UI, as a person would: opening it, clicking Authorize and
// going through the authorization server's login and consent pages (in the window, or in the popup
// in popup mode), starting an action and waiting for its result line in the output list. Used by
// the growth rounds, the burst, the reload, the restart and the popup side; nothing here measures.
import type { Page } from '@playwright/test';

import type { Side } from './world.ts';

/** Opens the app and waits until the client core has started. */
export async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByTestId('status-notes').filter({ hasNotText: 'Starting' }).waitFor();
}

/** Clicks Authorize for a server and goes through the authorization server (login, consent) when it shows a page. Returns the pages shown. */
export async function authorizeInUi(side: Side, serverId: string): Promise<number> {
  const { page, cfg } = side;
  const nextDocument = page.waitForEvent('load', { timeout: 30_000 });
  await page.getByTestId(`authorize-${serverId}`).click();
  await nextDocument;
  let pages = 0;
  if (new URL(page.url()).origin === cfg.issuer) {
    const login = page.locator('input[name="login"]');
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    await login.or(allow).first().waitFor();
    if (await login.isVisible()) {
      pages++;
      await login.fill('alice');
      await page.getByRole('button', { name: 'Sign in' }).click();
    }
    await allow.waitFor();
    pages++;
    await allow.click();
    await page.waitForURL((url) => url.origin === cfg.appOrigin && !url.pathname.startsWith('/oauth'), { timeout: 30_000 });
  }
  return pages;
}

/**
 * Clicks something that starts a demo action and returns the run's id: the demo tags each output
 * line with it (data-call), and the output list names the latest run (data-last-call). An action
 * retried after an authorization keeps its id, across the redirect.
 */
export async function startCall(page: Page, serverId: string, click: () => Promise<void>): Promise<string> {
  const list = page.getByTestId(`output-${serverId}`);
  const before = await list.getAttribute('data-last-call');
  await click();
  const handle = await page.waitForFunction(
    ({ serverId, before }) => {
      const call = document.querySelector(`[data-testid="output-${serverId}"]`)?.getAttribute('data-last-call');
      return call && call !== before ? call : undefined;
    },
    { serverId, before },
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as string;
}

export async function runTool(page: Page, serverId: string, tool: string, args: Record<string, string> = {}): Promise<string> {
  await page.getByTestId(`tool-${serverId}-${tool}`).waitFor();
  for (const [name, value] of Object.entries(args)) await page.getByTestId(`input-${serverId}-${tool}-${name}`).fill(value);
  return startCall(page, serverId, () => page.getByTestId(`run-${serverId}-${tool}`).click());
}

export interface OutputLine {
  call: string;
  text: string;
  ok: boolean;
}

/**
 * The result line of one run (not its "waiting for an authorization" line). Without a call id: the
 * result of the latest run, which must be `operation`.
 */
export async function resultLine(page: Page, serverId: string, operation: string, call?: string): Promise<OutputLine> {
  const handle = await page.waitForFunction(
    ({ serverId, operation, call }) => {
      const list = document.querySelector(`[data-testid="output-${serverId}"]`);
      const id = call ?? list?.getAttribute('data-last-call');
      if (!list || !id) return undefined;
      const line = [...list.querySelectorAll(':scope > li')].filter((li) => li.getAttribute('data-call') === id && !li.classList.contains('auth')).at(-1);
      if (!line || !(line.textContent ?? '').startsWith(operation)) return undefined;
      return { call: id, text: line.textContent ?? '', ok: line.classList.contains('ok') };
    },
    { serverId, operation, call },
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as OutputLine;
}

/**
 * In popup mode: clicks Authorize for a server (the popup opens within the click), signs in and
 * clicks Allow in the popup when the authorization server shows those pages, and waits for the
 * popup to close itself (the worker answers the callback there with a page that closes it).
 * Returns the authorization server's pages the popup showed.
 */
export async function authorizeInPopup(side: Side, serverId: string): Promise<number> {
  const { page } = side;
  const opened = page.waitForEvent('popup', { timeout: 15_000 });
  await page.getByTestId(`authorize-${serverId}`).click();
  const popup = await opened;
  const closed = popup.waitForEvent('close', { timeout: 30_000 });
  const login = popup.locator('input[name="login"]');
  const allow = popup.getByRole('button', { name: 'Allow', exact: true });
  // with nothing left to consent to, the authorization server sends the popup straight back: it closes without a page
  const shown = await Promise.race([
    login
      .or(allow)
      .first()
      .waitFor({ timeout: 30_000 })
      .then(() => true),
    closed.then(() => false),
  ]);
  let pages = 0;
  if (shown) {
    if (await login.isVisible()) {
      pages++;
      await login.fill('alice');
      await popup.getByRole('button', { name: 'Sign in' }).click();
    }
    await allow.waitFor();
    pages++;
    await allow.click();
  }
  await closed;
  return pages;
}
