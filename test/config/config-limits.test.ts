// Configs that would exhaust memory: a YAML alias bomb ("billion laughs") and a 50 MB file. Both
// are config errors through the real command line (`tend config check FILE`, `tend run --config
// FILE`): one `path: message` line, exit 2, no stack trace.
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES } from '../../core/limits.ts';
import { tempDir } from '../helpers/net.ts';

const ROOT = join(import.meta.dirname, '../..');

function tend(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

let tmp: { dir: string; remove(): void };
let laughs: string;
let huge: string;

beforeAll(() => {
  tmp = tempDir('tend-config-limits-');
  // nine levels of nine aliases: 9^9 (387 million) strings once expanded
  const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  laughs = join(tmp.dir, 'laughs.yaml');
  writeFileSync(
    laughs,
    [
      'version: 1',
      'village: { id: ashgrove, name: Ashgrove, population: 180 }',
      `a: &a [${Array(9).fill('"lol"').join(', ')}]`,
      ...levels.slice(1).map((l, i) => `${l}: &${l} [${Array(9).fill(`*${levels[i]}`).join(', ')}]`),
      '',
    ].join('\n'),
  );
  // 50 MB of a valid-looking list: read whole, it took minutes and ended out of memory
  huge = join(tmp.dir, 'huge.yaml');
  const fd = openSync(huge, 'w');
  writeSync(fd, 'version: 1\nvillage: { id: ashgrove, name: Ashgrove, population: 180 }\nx:\n');
  const block = Buffer.from('  - 1\n'.repeat((1024 * 1024) / 8));
  for (let written = 0; written < 50 * 1024 * 1024; written += block.length) writeSync(fd, block);
  closeSync(fd);
});
afterAll(() => tmp?.remove());

function expectOneCleanLine(r: { code: number | null; err: string }, line: string): void {
  expect(r.code).toBe(2);
  expect(r.err).toBe(`${line}\n`);
  // no stack frames, no error class names
  expect(r.err).not.toMatch(/\n\s+at |Error/);
}

describe('configs that would exhaust memory', () => {
  it('an alias bomb is a config error, exit 2, for config check and run', async () => {
    const line = '(top): YAML aliases (*name) expand too far (more than 100 uses); write the values out instead';
    expectOneCleanLine(await tend('config', 'check', laughs), line);
    expectOneCleanLine(await tend('run', '--config', laughs), line);
  }, 60_000);

  it('a 50 MB file is refused unread with the limit in the message, exit 2, for config check and run', async () => {
    const { size } = statSync(huge);
    expect(size).toBeGreaterThan(50 * 1024 * 1024);
    const line = `${huge}: too large (${size} bytes); a config is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (a village's is a few KB)`;
    expectOneCleanLine(await tend('config', 'check', huge), line);
    expectOneCleanLine(await tend('run', '--config', huge), line);
  }, 60_000);

  it('a device that never ends is refused after the limit, not read forever', async () => {
    expectOneCleanLine(
      await tend('config', 'check', '/dev/zero'),
      `/dev/zero: too large (more than ${MAX_CONFIG_BYTES} bytes); a config is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (a village's is a few KB)`,
    );
  }, 60_000);

  it('a config just under the limit is still read and checked', async () => {
    const file = join(tmp.dir, 'padded.yaml');
    const head = 'version: 1\nvillage: { id: ashgrove, name: Ashgrove, population: 180 }\n';
    writeFileSync(file, `${head}${'#'.repeat(MAX_CONFIG_BYTES - head.length - 1)}\n`);
    const r = await tend('config', 'check', file);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('ok — village ashgrove');
  }, 60_000);
});
