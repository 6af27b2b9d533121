// Build the bundle that `npm start` and `tend` run, so tests that start it test today's sources.
import { execFileSync } from 'node:child_process';
import { ROOT } from '../core/paths.ts';

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}
