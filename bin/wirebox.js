#!/usr/bin/env node
// The published entry point: the compiled CLI (npm install runs `prepare`, which builds dist/).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('wirebox: not built yet; run `npm install` (or `npm run build`) in the wirebox folder\n');
    process.exit(1);
  }
  throw err;
});
