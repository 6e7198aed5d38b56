// `npm run conformance`: the official MCP conformance suite's client auth scenarios against our
// browser client (service worker + app/core), one scenario at a time, then a results table.
//
//   npm run conformance                      every scenario below; writes e2e/conformance/RESULTS.md
//   npm run conformance -- step-up iss-      only scenarios whose name contains one of the words (no file written)
//
// What runs: every `auth/` client scenario the suite lists for spec versions 2025-11-25 and
// 2026-07-28 (= `--suite auth` at both, plus the auth scenarios of `--suite draft`), the 2025-03-26
// back-compat pair (`--suite backcompat`), and the DPoP extensions (`--suite extensions`, at the
// suite's default version). Client credentials, enterprise-managed authorization and workload
// identity are not for a browser app and are left out. Each run's `--command` is client.ts.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const CLIENT = join(ROOT, 'e2e/conformance/client.ts');
const RESULTS = join(ROOT, 'e2e/conformance/RESULTS.md');
const SUITE_VERSION = (JSON.parse(await readFile(join(ROOT, 'node_modules/@modelcontextprotocol/conformance/package.json'), 'utf8')) as { version: string }).version;
const SUITE_TIMEOUT_MS = 30_000;
const SPEC_VERSIONS = ['2025-03-26', '2025-11-25', '2026-07-28'];
const EXTENSIONS = ['auth/dpop', 'auth/dpop-nonce'];
/** The column for extension scenarios, which sit outside the spec timeline. */
const EXTENSION_COLUMN = 'extension';

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  description: string;
  errorMessage?: string;
}

interface Run {
  scenario: string;
  version: string;
  exitCode: number;
  seconds: number;
  checks: Check[];
  /** client.ts's last line: "PASS: …" or "FAIL: …". */
  client: string;
}

function exec(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', (error) => resolve({ code: 1, out: error.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function scenariosAt(version: string): Promise<string[]> {
  const { out } = await exec(process.execPath, [CLI, 'list', '--client', '--spec-version', version]);
  return [...out.matchAll(/^\s+- (auth\/\S+) \[/gm)].map((m) => m[1]!).filter((s) => !EXTENSIONS.includes(s));
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

async function runOne(scenario: string, version: string): Promise<Run> {
  const outputDir = await mkdtemp(join(tmpdir(), 'mcp-sw-auth-suite-'));
  const args = [CLI, 'client', '--command', `${process.execPath} ${CLIENT}`, '--scenario', scenario, '--timeout', String(SUITE_TIMEOUT_MS), '-o', outputDir];
  if (version !== EXTENSION_COLUMN) args.push('--spec-version', version);
  const started = performance.now();
  const { code, out } = await exec(process.execPath, args, { ...process.env, MCP_SW_AUTH_CONFORMANCE_DEADLINE_MS: String(SUITE_TIMEOUT_MS - 5_000) });
  const seconds = (performance.now() - started) / 1000;
  try {
    const checksFile = await findFile(outputDir, 'checks.json');
    const stdoutFile = await findFile(outputDir, 'stdout.txt');
    const checks = checksFile ? (JSON.parse(await readFile(checksFile, 'utf8')) as Check[]) : [];
    const client = stdoutFile ? ((await readFile(stdoutFile, 'utf8')).trim().split('\n').at(-1) ?? '') : '';
    if (!checksFile) checks.push({ id: 'runner', status: 'FAILURE', description: `the suite wrote no checks.json: ${out.trim().split('\n').slice(-5).join(' / ')}` });
    return { scenario, version, exitCode: code, seconds, checks, client };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/** Which worker was measured: the commit, and whether sw/ or app/core had uncommitted changes. */
async function revision(): Promise<string> {
  const commit = await exec('git', ['rev-parse', '--short', 'HEAD']);
  if (commit.code !== 0) return 'an unknown revision (no git)';
  const dirty = await exec('git', ['status', '--porcelain', '--', 'sw', 'app/core']);
  return `commit ${commit.out.trim()}${dirty.out.trim() ? ' with uncommitted changes in sw/ or app/core' : ''}`;
}

const count = (run: Run, status: Check['status']) => run.checks.filter((c) => c.status === status).length;

function cell(run: Run | undefined): string {
  if (!run) return '';
  const passed = count(run, 'SUCCESS');
  const total = passed + count(run, 'FAILURE');
  const warnings = count(run, 'WARNING');
  return `${run.exitCode === 0 ? '✅' : '❌'} ${passed}/${total}${warnings ? ` (${warnings} warn)` : ''}`;
}

function report(runs: Run[], columns: string[], seconds: number, measured: string): string {
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  const find = (scenario: string, version: string) => runs.find((r) => r.scenario === scenario && r.version === version);
  const failing = runs.filter((r) => r.exitCode !== 0);
  const lines = [
    '# MCP conformance: client auth scenarios',
    '',
    `Generated by \`npm run conformance\` (e2e/conformance/run.ts) against ${measured}, with @modelcontextprotocol/conformance ${SUITE_VERSION}, one scenario at a time, ` +
      `${runs.length} runs in ${seconds.toFixed(0)} s. client.ts starts headless Chromium with --disable-web-security and a fresh profile: ` +
      `the suite's servers send no CORS headers, so web security is off for this runner only.`,
    '',
    'A cell is the scenario\'s verdict (the suite\'s exit code: a warning fails it too; scenarios where the client must refuse accept a non-zero client exit), ' +
      'then passed checks / checks that pass or fail (INFO checks are not counted).',
    '',
    `**${runs.length - failing.length} of ${runs.length} runs pass.**`,
    '',
    `| scenario | ${columns.join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
    ...scenarios.map((s) => `| ${s} | ${columns.map((v) => cell(find(s, v))).join(' | ')} |`),
    '',
    '## Failures',
    '',
  ];
  for (const run of failing) {
    lines.push(`### ${run.scenario} @ ${run.version}`, '', `- client: ${run.client || '(no output)'}`);
    for (const check of run.checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')) {
      const message = check.errorMessage && check.errorMessage !== check.description ? ` (${check.errorMessage})` : '';
      lines.push(`- ${check.status} \`${check.id}\`: ${check.description}${message}`);
    }
    lines.push('');
  }
  if (failing.length === 0) lines.push('None.', '');
  return lines.join('\n');
}

/** The README shows the latest full run: the summary line and the table, between two markers. */
async function updateReadme(markdown: string): Promise<void> {
  const readme = join(ROOT, 'README.md');
  const text = await readFile(readme, 'utf8');
  const start = '<!-- conformance-table:start -->';
  const end = '<!-- conformance-table:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) return;
  const lines = markdown.split('\n');
  const summary = lines.filter((line) => line.startsWith('**'));
  const table = lines.filter((line) => line.startsWith('|'));
  await writeFile(readme, `${text.slice(0, from + start.length)}\n${[...summary, '', ...table].join('\n')}\n${text.slice(to)}`);
}

const filters = process.argv.slice(2);
const plan: Array<{ scenario: string; version: string }> = [];
for (const version of SPEC_VERSIONS) {
  for (const scenario of await scenariosAt(version)) plan.push({ scenario, version });
}
for (const scenario of EXTENSIONS) plan.push({ scenario, version: EXTENSION_COLUMN });
const selected = filters.length ? plan.filter((p) => filters.some((f) => p.scenario.includes(f))) : plan;
if (selected.length === 0) {
  console.error(`No scenario matches ${filters.join(', ')}.`);
  process.exit(1);
}

const started = performance.now();
const runs: Run[] = [];
for (const [i, { scenario, version }] of selected.entries()) {
  const run = await runOne(scenario, version);
  runs.push(run);
  console.error(`[${i + 1}/${selected.length}] ${cell(run)} ${scenario} @ ${version} (${run.seconds.toFixed(1)} s) ${run.client}`);
}
const columns = [...SPEC_VERSIONS, EXTENSION_COLUMN].filter((v) => runs.some((r) => r.version === v));
const markdown = report(runs, columns, (performance.now() - started) / 1000, await revision());
console.log(`\n${markdown}`);
if (filters.length === 0) {
  await writeFile(RESULTS, markdown);
  await updateReadme(markdown);
  console.error(`Written to ${RESULTS} and the table in README.md`);
}
process.exit(runs.every((r) => r.exitCode === 0) ? 0 : 1);
