// What `npm install` puts on a gateway: one serialport (13, the one tend talks to ports through),
// and native modules only where tend uses them. An old binding that johnny-five and firmata pin
// would otherwise be compiled on every install, and fail on a board without compilers.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** every version of a package in the installed tree, by path */
function versionsOf(name: string): string[] {
  let out: string;
  try {
    out = execFileSync('npm', ['ls', name, '--all', '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    // npm ls exits 1 when the package is nowhere in the tree; its JSON still says so
    out = (err as { stdout: string }).stdout;
  }
  const found: string[] = [];
  const walk = (deps: Record<string, { version?: string; dependencies?: Record<string, unknown> }> | undefined) => {
    for (const [n, d] of Object.entries(deps ?? {})) {
      if (n === name && d.version) found.push(d.version);
      walk(d.dependencies as never);
    }
  };
  walk(JSON.parse(out).dependencies);
  return found;
}

/** packages under node_modules that carry a native build (binding.gyp) */
function nativePackages(dir = join(ROOT, 'node_modules'), scope = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    if (entry.startsWith('@') && !scope) {
      out.push(...nativePackages(path, entry));
      continue;
    }
    const name = scope ? `${scope}/${entry}` : entry;
    if (existsSync(join(path, 'binding.gyp'))) out.push(name);
    if (existsSync(join(path, 'node_modules'))) out.push(...nativePackages(join(path, 'node_modules')));
  }
  return out;
}

describe('installed dependencies', () => {
  it('has one serialport, 13.x, and no serialport 8 bindings', () => {
    const versions = versionsOf('serialport');
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.every((v) => v.startsWith('13.'))).toBe(true);
    expect(versionsOf('@serialport/bindings')).toEqual([]);
  });

  it('builds native code only for the modules tend uses (SQLite and serial ports)', () => {
    expect(nativePackages().sort()).toEqual(['@serialport/bindings-cpp', 'better-sqlite3']);
  });
});
