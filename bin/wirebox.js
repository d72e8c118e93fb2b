#!/usr/bin/env node
// The published entry point: the compiled CLI (npm install runs `prepare`, which builds dist/).
// `wirebox --version` alone loads only the version module, not the CLI (bench/world/load.ts times it).
const args = process.argv.slice(2);
const versionOnly = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
import(versionOnly ? '../dist/cli/version.js' : '../dist/cli/main.js')
  .then((m) => {
    if (versionOnly) process.stdout.write(`${m.VERSION}\n`);
  })
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/')) {
      process.stderr.write('wirebox: not built yet; run `npm install` (or `npm run build`) in the wirebox folder\n');
      process.exit(1);
    }
    throw err;
  });
