#!/usr/bin/env node
// `tend` on the PATH (npm link / npx tend), `npm start` and the systemd unit. Runs the bundle that
// `npm install` builds (dist/tend.mjs, fast to start); without it, the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { sizeHeapForGateway } from './gateway-heap.js';

// before the bundle loads (bin/gateway-heap.js says why)
sizeHeapForGateway();

const bundle = new URL('../dist/tend.mjs', import.meta.url);
let main;
if (existsSync(bundle)) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../services/cli.ts'));
}
process.exit(await main(process.argv.slice(2)));
