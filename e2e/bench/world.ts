// The bench's worlds and its sides: the two worlds (bearer and DPoP, each a child process running
// servers.ts), the browser contexts the bench opens on them (one per world with the demo app and
// its worker, the direct side without any worker, the no-op worker side of noop.ts), and what the
// authorization servers logged. Nothing here measures; the figure modules use these.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, BrowserContext, Page, Request } from '@playwright/test';

import { demoConfig, type DemoConfig } from '../../servers/config.ts';
import { installPageProbe } from './probes.ts';

/** The bearer world on PORT…PORT+3, the DPoP world on PORT+4…PORT+7. */
export const PORT = Number(process.env.MCP_SW_AUTH_BENCH_PORT ?? 4390);

export type Binding = 'bearer' | 'dpop';
export const BINDINGS: readonly Binding[] = ['bearer', 'dpop'];
export const LABEL: Record<Binding, string> = { bearer: 'bearer', dpop: 'DPoP' };
export const WORLDS: Record<Binding, DemoConfig> = {
  bearer: { ...demoConfig(PORT), dpop: false },
  dpop: { ...demoConfig(PORT + 4), dpop: true },
};
/** The direct side (and the no-op worker side) talk to the bearer world: the same server code, a token without a proof. */
export const DIRECT_WORLD = WORLDS.bearer;

export const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
export const MCP_HEADERS: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };

export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Starts one world (servers.ts in a child process, serving the build in outDir) and resolves once it listens. */
export async function startWorld(binding: Binding, outDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'servers.ts'), outDir, binding], {
    env: { ...process.env, MCP_SW_AUTH_BENCH_PORT: String(WORLDS[binding].basePort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.BENCH_VERBOSE) process.stderr.write(chunk);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${binding} world did not start within 60 s\n${stderr}`)), 60_000);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${binding} world exited (${code}) before it was ready\n${stderr}`));
    });
  });
  return child;
}

export interface AsAuthorization {
  at: string;
  scope?: string;
  resource?: string;
  outcome?: string;
}

/** The authorization requests a world's authorization server has seen for one resource, in order. */
export async function authorizations(cfg: DemoConfig, resource: string): Promise<AsAuthorization[]> {
  const response = await fetch(`${cfg.issuer}/__log`);
  const body = (await response.json()) as { authorizations: AsAuthorization[] };
  return body.authorizations.filter((a) => a.resource === resource);
}

/** One worker side: a browser context on one world's app. */
export interface Side {
  binding: Binding;
  cfg: DemoConfig;
  context: BrowserContext;
  page: Page;
  /** every request for the app's /oauth/callback, in order */
  callbacks: Request[];
}

/** A context on one world's app, with the page probe installed and the callback requests recorded (the app is not opened yet). */
export async function openSide(browser: Browser, binding: Binding): Promise<Side> {
  const cfg = WORLDS[binding];
  const context = await browser.newContext({ baseURL: cfg.appOrigin, viewport: { width: 1280, height: 900 } });
  await installPageProbe(context, cfg.appOrigin);
  const callbacks: Request[] = [];
  context.on('request', (r) => {
    if (r.url().startsWith(`${cfg.appOrigin}/oauth/callback`)) callbacks.push(r);
  });
  return { binding, cfg, context, page: await context.newPage(), callbacks };
}

/** A page that sends a request itself, with the headers it is given: the direct side and the no-op worker side. */
export interface PlainSide {
  context: BrowserContext;
  page: Page;
  /** `Bearer <token from Node>` */
  authorization: string;
  scope: string;
}

/** The direct side: a context where no worker ever runs, on a plain page of the bearer world's app origin. */
export async function openDirectSide(browser: Browser, token: { accessToken: string; scope: string }): Promise<PlainSide> {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  await page.goto(`${DIRECT_WORLD.appOrigin}/favicon.svg`);
  return { context, page, authorization: `Bearer ${token.accessToken}`, scope: token.scope };
}

/** The sides that take turns in the interleaved figures: the worker in each world, the direct side, the no-op worker. */
export type SideKey = Binding | 'direct' | 'noop';

/** What a figure needs of a side to send its request: the page, the MCP server's URL, the headers to send. */
export interface Target {
  page: Page;
  url: string;
  /** MCP_HEADERS, with the side's own Authorization header when the page sends it itself */
  headers: Record<string, string>;
  /** just the Authorization header (empty for the worker sides: their worker adds it) */
  auth: Record<string, string>;
}

export type Targets = Partial<Record<SideKey, Target>>;

/** The Notes server of each side: the worker sides send no Authorization header, direct and no-op send the bearer token from Node. */
export function targetsOf(sides: Record<Binding, Side>, direct: PlainSide | undefined, noop: { page: Page } | undefined): Targets {
  const targets: Targets = {};
  for (const binding of BINDINGS) targets[binding] = { page: sides[binding].page, url: sides[binding].cfg.notesUrl, headers: MCP_HEADERS, auth: {} };
  if (direct) {
    const auth = { authorization: direct.authorization };
    targets.direct = { page: direct.page, url: DIRECT_WORLD.notesUrl, headers: { ...MCP_HEADERS, ...auth }, auth };
    // the same request as the direct side's, through the no-op worker (which adds nothing)
    if (noop) targets.noop = { page: noop.page, url: DIRECT_WORLD.notesUrl, headers: { ...MCP_HEADERS, ...auth }, auth };
  }
  return targets;
}
