// `tend secret hash` and `tend --version` through the real command line (bin/tend.js), and the
// hash it prints logging a device in to a real village's embedded broker.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { ROOT } from '../../../core/paths.ts';
import { startTestVillage } from '../../helpers/village.ts';

const TEND = join(ROOT, 'bin', 'tend.js');

function tend(args: string[], input = ''): { code: number; out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, [TEND, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { code: 0, out, err: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout, err: x.stderr };
  }
}

describe('tend --version', () => {
  it("prints the package's version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(tend(['--version'])).toMatchObject({ code: 0, out: `tend ${version}\n` });
  });
});

describe('tend secret hash', () => {
  it('reads the secret from stdin and prints a secret_hash the broker takes', async () => {
    const secret = 'well-water-7f3a';
    const r = tend(['secret', 'hash', '--stdin'], `${secret}\n`);
    expect(r.code).toBe(0);
    const hash = r.out.trim();
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    // the secret itself is printed nowhere
    expect(r.out).not.toContain(secret);
    // a new salt each time
    expect(tend(['secret', 'hash'], `${secret}\n`).out.trim()).not.toBe(hash);

    const village = await startTestVillage({
      config: parseConfig({
        version: 1,
        village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
        devices: [{ id: 'well', secret_hash: hash }],
        sensors: [
          { id: 'well-tank', device: 'well', metric: 'level_mm', kind: 'tank_level', tank: { shape: 'box', length_mm: 2000, width_mm: 2000, height_mm: 2000 } },
        ],
      }),
    });
    try {
      const login = (password: string) =>
        new Promise<number>((resolve) => {
          const c = mqtt.connect(village.brokerUrl, { username: 'well', password, clientId: 'well-1', reconnectPeriod: 0, connectTimeout: 10_000 });
          c.once('connect', () => {
            c.end(true);
            resolve(0);
          });
          c.once('error', (err) => {
            c.end(true);
            resolve((err as { code?: number }).code ?? -1);
          });
        });
      expect(await login(secret)).toBe(0);
      expect(await login('well-water-7f3b')).toBe(4);
    } finally {
      await village.cleanup();
    }
  });

  it('refuses a secret under 8 characters (exit 2) and an argument together with --stdin', () => {
    const short = tend(['secret', 'hash', '--stdin'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.err).toContain('at least 8');
    expect(tend(['secret', 'hash', 'long-enough-1', '--stdin']).code).toBe(2);
  });

  it('takes the secret as an argument too, and says it is in the shell history', () => {
    const r = tend(['secret', 'hash', 'long-enough-1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^scrypt\$/);
  });
});
