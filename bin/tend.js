#!/usr/bin/env node
// `tend` on the PATH (npm link / npx tend). Runs the bundle that `npm install` builds
// (dist/tend.mjs, fast to start); without it, the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/tend.mjs', import.meta.url);
let main;
let gatewayHeap;
if (existsSync(bundle)) {
  ({ main, gatewayHeap } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main, gatewayHeap } = await import('../services/cli.ts'));
}
gatewayHeap();
process.exit(await main(process.argv.slice(2)));
