#!/usr/bin/env node
// `tend` on the PATH (npm link / npx tend), `npm start` and the systemd unit. Runs the bundle that
// `npm install` builds (dist/tend.mjs, fast to start); without it, the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

// V8 sizes its heap for the machine it finds: on a desktop the young generation grows to 32 MB
// and the old one waits long before collecting. A gateway's heap is a few tens of MB, and its
// work is many small short-lived objects (a packet, a reading), so the young generation stays at
// its first size (1 MB semi-spaces; 2 MB with the unit's --min-semi-space-size=2, which only the
// command line can set) and the old one is collected when it has grown by a third: ~15 MB
// less at start and under load, for the same CPU (docs/benchmarks.md, memory). This must run
// before the bundle loads, or loading it has grown the young generation already.
// TEND_V8_HEAP=default leaves V8's own sizing.
if (process.env.TEND_V8_HEAP !== 'default') {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=30');
}

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
