// Runs one of the package's npm scripts under Node 22 or newer, whatever Node the machine has:
// on an older Node it fetches Node 24 from the npm registry (the `node` package) into .cache/node24
// once, says so in one line, and runs the script under it. On Node 22 or newer it just runs it.
// Plain CommonJS, so that it runs (and explains itself) on any Node.
//
//   "test": "node servers/with-node24.cjs test:run"     (package.json; extra arguments pass through)
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const root = join(__dirname, '..');
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node servers/with-node24.cjs <npm script> [arguments]');
  process.exit(2);
}
const shell = process.platform === 'win32';
let env = process.env;
if (Number(process.versions.node.split('.')[0]) < 22) {
  const bin = join(root, '.cache', 'node24', 'node_modules', 'node', 'bin');
  if (existsSync(join(bin, shell ? 'node.exe' : 'node'))) {
    console.error(`mcp-sw-auth: Node ${process.version} is older than 22; running under Node 24 from .cache/node24.`);
  } else {
    console.error(`mcp-sw-auth: Node ${process.version} is older than 22; fetching Node 24 from the npm registry into .cache/node24 (once)…`);
    const install = spawnSync('npm', ['install', '--prefix', join('.cache', 'node24'), '--no-audit', '--no-fund', '--no-save', 'node@24'], { cwd: root, encoding: 'utf8', shell });
    if (install.status !== 0 || !existsSync(join(bin, shell ? 'node.exe' : 'node'))) {
      console.error(`${install.stderr ?? ''}Could not install Node 24 from the npm registry. Install Node 22 or newer yourself (https://nodejs.org), then run the command again.`);
      process.exit(1);
    }
  }
  env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
}
const run = spawnSync('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], { cwd: root, stdio: 'inherit', env, shell });
process.exit(run.status ?? 1);
