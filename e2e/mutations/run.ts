// `npm run test:mutations`: shows that each test fails when the promise it guards is broken. For
// every mutation in list.ts it copies the working tree to a temporary directory, applies the
// mutation there, builds when the test runs in the browser, runs that one test, and reports
// caught (the test failed) or missed (it passed). Each test is first run once unmutated: a test
// that fails without the mutation proves nothing. Not part of `npm test`; about 15 minutes.
//
//   npm run test:mutations                   every mutation
//   npm run test:mutations -- 7.6 settled    only mutations whose id or finding contains a word
//
// The browser tests use the same ports as `npm test`: do not run both at once.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutations, type Mutation } from './list.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'e2e/mutations/RESULTS.md');

function exec(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; out: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CI: '', NO_COLOR: '1', FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', (error) => resolve({ code: 1, out: error.message, seconds: 0 }));
    child.on('close', (code) => resolve({ code: code ?? 1, out: out.replace(/\x1b\[[0-9;]*m/g, ''), seconds: (Date.now() - started) / 1000 }));
  });
}

/** The working tree as git sees it (tracked and untracked, not ignored), node_modules and .cache linked. */
async function copyTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-sw-auth-mutations-'));
  const { out } = await exec('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  for (const file of out.split('\0').filter(Boolean)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file)).catch(() => undefined); // deleted but still in the index
  }
  for (const link of ['node_modules', '.cache']) await symlink(join(ROOT, link), join(dir, link)).catch(() => undefined);
  return dir;
}

function regex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function runTest(dir: string, test: Mutation['test']): Promise<{ passed: boolean; seconds: number; out: string }> {
  const npx = join(dir, 'node_modules/.bin');
  if (test.kind === 'unit') {
    const r = await exec(join(npx, 'vitest'), ['run', test.file, '-t', test.name], dir);
    return { passed: r.code === 0 && !/no tests? (found|run)/i.test(r.out) && /\b\d+ passed/.test(r.out), seconds: r.seconds, out: r.out };
  }
  const build = await exec(join(npx, 'vite'), ['build', '--logLevel', 'warn'], dir);
  if (build.code !== 0) return { passed: false, seconds: build.seconds, out: build.out };
  if (test.worker === 'packed') {
    // the test runs the prebuilt worker (lib/sw.js) as the no-bundler fixture serves it (e2e/update.spec.ts)
    const lib = await exec(join(npx, 'vite'), ['build', '-c', 'vite.lib.config.ts', '--mode', 'sw', '--logLevel', 'warn'], dir);
    if (lib.code !== 0) return { passed: false, seconds: build.seconds + lib.seconds, out: lib.out };
    await copyFile(join(dir, 'lib/sw.js'), join(dir, 'e2e/fixtures/no-bundler/sw.js'));
    await symlink(join(ROOT, 'e2e/fixtures/no-bundler/node_modules'), join(dir, 'e2e/fixtures/no-bundler/node_modules')).catch(() => undefined);
  }
  const r = await exec(join(npx, 'playwright'), ['test', test.file, '-g', regex(test.grep), '--reporter=line'], dir, test.env ?? {});
  return { passed: r.code === 0 && /\b\d+ passed/.test(r.out), seconds: build.seconds + r.seconds, out: r.out };
}

async function apply(dir: string, mutation: Mutation): Promise<Map<string, string>> {
  const originals = new Map<string, string>();
  for (const edit of mutation.edits) {
    const path = join(dir, edit.file);
    const text = await readFile(path, 'utf8');
    if (!originals.has(path)) originals.set(path, text);
    const count = text.split(edit.find).length - 1;
    if (count !== 1) throw new Error(`${mutation.id}: ${edit.file} holds the text to replace ${count} times, not once: ${JSON.stringify(edit.find.slice(0, 80))}`);
    await writeFile(path, text.replace(edit.find, () => edit.replace));
  }
  return originals;
}

async function restore(originals: Map<string, string>): Promise<void> {
  for (const [path, text] of originals) await writeFile(path, text);
}

interface Row {
  mutation: Mutation;
  baseline: 'pass' | 'FAIL';
  verdict: 'caught' | 'MISSED' | 'not run';
  seconds: number;
}

function testName(test: Mutation['test']): string {
  return test.kind === 'unit' ? `${test.file} › ${test.name}` : `${test.file} › ${test.grep}`;
}

async function main(): Promise<number> {
  const words = process.argv.slice(2);
  const chosen = words.length ? mutations.filter((m) => words.some((w) => m.id.includes(w) || m.finding.includes(w))) : mutations;
  if (chosen.length === 0) {
    console.error(`No mutation matches ${words.join(' ')}.`);
    return 2;
  }
  // Every edit must apply before anything runs: a stale text found after twenty minutes wastes them.
  const stale: string[] = [];
  for (const mutation of chosen) {
    for (const edit of mutation.edits) {
      const count = (await readFile(join(ROOT, edit.file), 'utf8')).split(edit.find).length - 1;
      if (count !== 1) stale.push(`${mutation.id}: ${edit.file} holds the text to replace ${count} times, not once: ${JSON.stringify(edit.find.slice(0, 80))}`);
    }
  }
  if (stale.length > 0) {
    console.error(`Update these mutations in e2e/mutations/list.ts to the code as it is now:\n${stale.join('\n')}`);
    return 2;
  }
  const dir = await copyTree();
  console.log(`Working copy: ${dir}; ${chosen.length} mutation(s).`);
  const baselines = new Map<string, boolean>();
  const rows: Row[] = [];
  try {
    for (const mutation of chosen) {
      const name = testName(mutation.test);
      if (!baselines.has(name)) {
        const base = await runTest(dir, mutation.test);
        baselines.set(name, base.passed);
        if (!base.passed) console.log(`  baseline FAILED for ${name}:\n${base.out.split('\n').slice(-25).join('\n')}`);
      }
      if (!baselines.get(name)) {
        rows.push({ mutation, baseline: 'FAIL', verdict: 'not run', seconds: 0 });
        console.log(`[${rows.length}/${chosen.length}] ${mutation.id}: not run (the test fails without the mutation)`);
        continue;
      }
      const originals = await apply(dir, mutation);
      try {
        const result = await runTest(dir, mutation.test);
        rows.push({ mutation, baseline: 'pass', verdict: result.passed ? 'MISSED' : 'caught', seconds: result.seconds });
        console.log(`[${rows.length}/${chosen.length}] ${result.passed ? 'MISSED' : 'caught'} ${mutation.id} (${mutation.finding}) by ${name} (${result.seconds.toFixed(0)} s)`);
      } finally {
        await restore(originals);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const caught = rows.filter((r) => r.verdict === 'caught').length;
  const table = [
    '| finding | mutation | test | without | with |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.mutation.finding} | ${r.mutation.what} (\`${r.mutation.id}\`) | \`${testName(r.mutation.test)}\` | ${r.baseline} | ${r.verdict} |`),
  ].join('\n');
  console.log(`\n${table}\n\n${caught} of ${rows.length} mutations caught.`);
  if (words.length === 0) {
    const commit = (await exec('git', ['rev-parse', '--short', 'HEAD'], ROOT)).out.trim();
    await writeFile(RESULTS, `# Mutation results\n\n\`npm run test:mutations\` at ${commit}, ${new Date().toISOString().slice(0, 10)}: **${caught} of ${rows.length} caught.**\n\n${table}\n`);
    console.log(`Written to ${RESULTS}`);
  }
  return caught === rows.length ? 0 : 1;
}

process.exitCode = await main();
