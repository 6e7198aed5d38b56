// Plain CommonJS so that it runs, and explains itself, on any Node version.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `mcp-sw-auth needs Node.js 22 or newer (this is ${process.version}): the demo servers run TypeScript directly and oidc-provider 9 requires it.\n` +
      'Install Node 24 next to the project and put it first on PATH:\n' +
      '  npm install --prefix .cache/node24 node@24\n' +
      '  export PATH="$PWD/.cache/node24/node_modules/node/bin:$PATH"\n' +
      '(or run `source .ci/toolchain.sh`, which does both).',
  );
  process.exit(1);
}
