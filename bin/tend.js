#!/usr/bin/env node
// `tend` on the PATH (npm link / npx tend): runs the TypeScript CLI through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli.ts');
process.exitCode = await main(process.argv.slice(2));
