// First contact: `tend demo --host 0.0.0.0` opens the page to the village network, prints where
// phones reach it and a QR code for it; `--help` prints help and starts nothing. The real CLI,
// on free ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../core/paths.ts';
import { isLoopback, lanAddresses, lanLines } from '../../services/lan.ts';
import { demoConfig } from '../helpers/village.ts';
import { tempDir, waitFor } from '../helpers/net.ts';

const CLI = ['--import', 'tsx', join(ROOT, 'services', 'cli.ts')];
const tmp = tempDir('tend-demo-host-');
let child: ChildProcess | null = null;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  tmp.remove();
});

/** a QR code printed with block characters: several lines made of █ ▀ ▄ and spaces only */
const QR_LINE = /^ *[█▀▄][█▀▄ ]{15,}$/gm;

describe('tend demo --host 0.0.0.0', () => {
  it('listens on the village network, prints the page address there and a QR code, and a phone can fetch the page', async () => {
    child = spawn(process.execPath, [...CLI, 'demo', '--host', '0.0.0.0', '--port', '0', '--mqtt-port', '0', '--storage', tmp.dir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const page = await waitFor(() => out.match(/page:\s+(http:\/\/\S+)/)?.[1], 30_000, `the page address (got: ${out})`);
    // listening on every address, not loopback
    expect(page).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const port = Number(page.split(':').at(-1));
    const lan = lanAddresses('0.0.0.0');
    if (lan.length) {
      await waitFor(() => (out.match(QR_LINE)?.length ?? 0) > 10 && out.includes('devices:'), 10_000, `the QR code (got: ${out})`);
      expect(out).toContain(`network: http://${lan[0]}:${port}`);
      expect(out.match(QR_LINE)!.length).toBeGreaterThan(10);
      // what a phone on the village network does: open the page at this machine's own address
      const html = await (await fetch(`http://${lan[0]}:${port}/`)).text();
      expect(html).toContain('<!doctype html>');
      const status = await (await fetch(`http://${lan[0]}:${port}/api/status`)).json();
      expect(status.village.id).toBe('ashgrove');
      // no write key in print unless asked
      expect(out).not.toContain('write key:');
    } else {
      expect(out).toMatch(/no address on a network yet/);
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child!.on('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});

describe('help', () => {
  for (const args of [['demo', '--help'], ['demo', '-h'], ['--help'], ['calibrate', '--help']]) {
    it(`tend ${args.join(' ')} prints the usage and exits 0 without starting a village`, () => {
      const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('usage:');
      expect(r.stdout).toContain('tend demo [--storage DIR] [--host ADDR]');
      expect(r.stdout).toContain('tend calibrate --tank ID --csv FILE');
      expect(r.stdout + r.stderr).not.toContain('is running');
    });
  }

  it('refuses a port that is not a number, with the usage (exit 2)', () => {
    const r = spawnSync(process.execPath, [...CLI, 'demo', '--port', 'eighty'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port needs a port number');
  });
});

describe('the village network addresses', () => {
  const cards = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    wlan0: [
      { address: '192.168.4.20', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: 'fd00::20', family: 'IPv6', internal: false },
    ],
    // biome-ignore lint/suspicious/noExplicitAny: only the fields lanAddresses reads
  } as any;

  it('lists the non-internal addresses for 0.0.0.0 (IPv4) and :: (with routable IPv6), none for loopback', () => {
    expect(lanAddresses('0.0.0.0', cards)).toEqual(['192.168.4.20']);
    expect(lanAddresses('::', cards)).toEqual(['192.168.4.20', 'fd00::20']);
    expect(lanAddresses('192.168.4.20', cards)).toEqual(['192.168.4.20']);
    expect(lanAddresses('127.0.0.1', cards)).toEqual([]);
    expect(isLoopback('localhost') && isLoopback('::1') && isLoopback('127.0.0.2')).toBe(true);
  });

  it('prints nothing for loopback, the default; the token code only when asked', async () => {
    expect(demoConfig().web.host).toBe('127.0.0.1');
    expect(await lanLines({ host: '127.0.0.1', port: 8080, token: 'secret-token' })).toBe('');
    const plain = await lanLines({ host: '0.0.0.0', port: 8080, token: 'secret-token', interfaces: cards });
    expect(plain).toContain('network: http://192.168.4.20:8080');
    expect(plain).not.toContain('write key');
    const withToken = await lanLines({ host: '0.0.0.0', port: 8080, token: 'secret-token', showTokenQr: true, interfaces: cards });
    expect(withToken).toContain('write key:');
    expect(withToken.match(QR_LINE)!.length).toBeGreaterThan(plain.match(QR_LINE)!.length);
  });

  it('this machine has the addresses os.networkInterfaces reports', () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    expect(lanAddresses('0.0.0.0')).toEqual([...new Set(external)]);
  });
});
