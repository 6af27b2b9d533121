// The systemd unit an installer copies (deploy/systemd/tend.service): systemd itself checks it
// (`systemd-analyze verify`, skipped with a message where systemd is not installed), and its
// ExecStart command line, with this checkout in place of /opt/tend and a temp config in place
// of /etc/tend/village.yaml, starts tend: the page answers, a device's first reading arrives,
// and SIGTERM (what `systemctl stop` sends) stops it cleanly with exit 0.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../core/paths.ts';
import { tempDir, waitFor } from '../helpers/net.ts';
import { serviceNodeFlags } from '../bench/proc.ts';

const UNIT = join(ROOT, 'deploy', 'systemd', 'tend.service');
const unit = readFileSync(UNIT, 'utf8');

/** the values of one key of the unit, in order (`Key=value` lines; comments skipped) */
function values(key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

describe('deploy/systemd/tend.service', () => {
  it('asks for what running for years needs', () => {
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('After').join(' ')).toContain('network-online.target');
    expect(values('Wants').join(' ')).toContain('network-online.target');
    expect(values('User')).toEqual(['tend']);
    expect(values('StateDirectory')).toEqual(['tend']);
    expect(values('SupplementaryGroups')).toEqual(['dialout']);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['ReadWritePaths', '/var/lib/tend'],
    ]) {
      expect(values(key!), key).toEqual([value]);
    }
    // serial ports must stay visible, and Node's JIT needs writable code pages
    expect(values('PrivateDevices')).toEqual([]);
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
  });

  it('gives Node the same flags as `npm start`, so the demo and the bench run what a gateway runs', () => {
    const flags = serviceNodeFlags(ROOT);
    expect(flags).toContain('--no-concurrent-recompilation');
    expect(flags).toContain('--min-semi-space-size=2');
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(start).toBe(['node', ...flags, 'bin/tend.js', 'demo'].join(' '));
  });

  it.skipIf(!hasSystemdAnalyze)('passes systemd-analyze verify without a warning', () => {
    const tmp = tempDir('tend-unit-');
    try {
      // verify reads the unit by its name: a copy named tend.service
      const copy = join(tmp.dir, 'tend.service');
      copyFileSync(UNIT, copy);
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      // a misspelt key or value is only a warning on stderr, with exit 0: both must be clean
      const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('tend.service'));
      expect(lines).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      tmp.remove();
    }
  });
  if (!hasSystemdAnalyze) console.warn('systemd-analyze is not installed here: the unit is not verified by systemd (apt install systemd)');

  it("its ExecStart starts tend, which takes a device's first reading and stops cleanly on SIGTERM", async () => {
    const tmp = tempDir('tend-unit-run-');
    const config = join(tmp.dir, 'village.yaml');
    writeFileSync(
      config,
      `version: 1
village: { id: firstlight, name: First Light, population: 160, timezone: UTC }
broker: { embedded: { port: 0 } }
web: { port: 0 }
storage: { dir: ${JSON.stringify(join(tmp.dir, 'state'))} }
devices:
  - { id: tank-main, name: Main tank node, secret: first-light-7c21 }
sensors:
  - { id: main, name: Main tank, device: tank-main, metric: level_mm, kind: tank_level, tank: { shape: vertical_cylinder, diameter_mm: 2500, height_mm: 2000 } }
`,
    );
    const [execStart] = values('ExecStart');
    const argv = execStart!.replaceAll('/opt/tend', ROOT).replace('/etc/tend/village.yaml', config).split(/\s+/);
    // node, its flags (each one Node accepts: this run would fail on one it does not), the launcher
    expect(argv[0]).toBe('/usr/bin/node');
    expect(argv.indexOf(join(ROOT, 'bin', 'tend.js'))).toBe(1 + serviceNodeFlags(ROOT).length);
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    for (const line of values('Environment')) {
      for (const pair of line.split(/\s+/)) {
        const eq = pair.indexOf('=');
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    // the Node that runs this suite stands in for /usr/bin/node: CI also runs the suite on Node 24,
    // with the native modules built for it, where the machine's own node could not load them
    const child = spawn(process.execPath, argv.slice(1), { cwd: tmp.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /page:\s+http:\/\/\S+/.test(out) && /mqtt:\s+mqtt:\/\/\S+/.test(out), 30_000, `tend started (${out}${err})`);
      const web = /page:\s+(http:\/\/\S+)/.exec(out)![1]!.replace(/\/$/, '');
      const broker = /mqtt:\s+(mqtt:\/\/\S+)/.exec(out)![1]!;
      const health = await fetch(`${web}/healthz`);
      expect(health.status).toBe(200);

      const device = await mqtt.connectAsync(broker, { username: 'tank-main', password: 'first-light-7c21', clientId: 'tank-main-esp32', reconnectPeriod: 0 });
      await device.publishAsync('tend/firstlight/dev/tank-main/reading', JSON.stringify({ level_mm: 1000 }), { qos: 1 });
      await device.endAsync();
      await waitFor(
        async () => ((await (await fetch(`${web}/api/status`)).json()) as { water: { liters: number | null } }).water.liters !== null,
        10_000,
        'the first reading in the status',
      );
      const status = (await (await fetch(`${web}/api/status`)).json()) as { water: { liters: number } };
      expect(status.water.liters).toBeCloseTo(Math.PI * 1250 * 1250 * 1000 * 1e-6, 0);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('stopped cleanly');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      tmp.remove();
    }
  });
});
