// The bench's own worlds, each run as a child process of run.ts so that the servers' event loop does
// not share a thread with the harness: the authorization server, Notes and Calendar (with the bench
// routes on) and the app, served by `vite preview` from the bench's private build (not dist/, which
// the browser tests and the demo use). run.ts starts two: one issuing bearer tokens
// (MCP_SW_AUTH_DPOP=0; the direct side and the worker with bearer tokens) and one with DPoP on, as
// the demo ships (the worker with DPoP-bound tokens). The app server also serves the no-op service
// worker and its page under /noop/ (noop.ts), the floor the bench compares the worker with.
//
//   node e2e/bench/servers.ts <outDir> bearer|dpop      prints one JSON line {"ready":true,…} when listening
//
// Ports: MCP_SW_AUTH_BENCH_PORT (default 4390) = app, +1 authorization server, +2 notes, +3 calendar.
import { join } from 'node:path';

import { startAuthorizationServer } from '../../servers/authorization-server.ts';
import { startCalendarServer } from '../../servers/calendar.ts';
import { authorizationServerConfig, demoConfig } from '../../servers/config.ts';
import { startNotesServer } from '../../servers/notes.ts';
import { demoConfigPlugin } from '../../servers/vite-plugin.ts';
import { noopWorkerPlugin } from './noop.ts';

export const BENCH_BASE_PORT = Number(process.env.MCP_SW_AUTH_BENCH_PORT ?? 4390);

if (import.meta.main) {
  const [outDir, binding] = process.argv.slice(2);
  if (!outDir || (binding !== 'bearer' && binding !== 'dpop')) throw new Error('usage: node e2e/bench/servers.ts <outDir> bearer|dpop');
  process.env.MCP_SW_AUTH_BENCH = '1'; // bench routes on the MCP servers
  // bearer: the authorization server issues bearer tokens, to the worker and to the harness alike
  process.env.MCP_SW_AUTH_DPOP = binding === 'dpop' ? '1' : '0';
  const cfg = demoConfig(BENCH_BASE_PORT);
  const closers: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    const forced = setTimeout(() => process.exit(0), 2000);
    forced.unref();
    await Promise.allSettled(closers.reverse().map((close) => close()));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  // the harness died without stopping us (e.g. SIGKILL): do not keep the ports
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 1000).unref();

  const as = await startAuthorizationServer(authorizationServerConfig(cfg));
  closers.push(as.close);
  const notes = await startNotesServer(cfg);
  closers.push(notes.close);
  const calendar = await startCalendarServer(cfg);
  closers.push(calendar.close);
  const vite = await import('vite');
  const app = await vite.preview({
    configFile: join(import.meta.dirname, '..', '..', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    plugins: [noopWorkerPlugin(), demoConfigPlugin(cfg)],
    preview: { port: cfg.appPort, strictPort: true, host: 'localhost', open: false },
  });
  closers.push(() => app.close());
  console.log(JSON.stringify({ ready: true, pid: process.pid, binding, dpop: cfg.dpop, appOrigin: cfg.appOrigin }));
}
