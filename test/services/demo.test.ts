// What `npm start` runs: `tend demo` starts the simulated village, serves the page, shows values
// that change as the simulated devices publish, and stops cleanly on Ctrl-C (SIGINT).
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../core/paths.ts';
import type { ReserveStatus } from '../../core/types.ts';
import { tempDir, waitFor } from '../helpers/net.ts';

const tmp = tempDir('tend-demo-');
let child: ChildProcess | null = null;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  tmp.remove();
});

describe('tend demo', () => {
  it('starts, serves the page, shows changing values and stops cleanly on Ctrl-C', async () => {
    // as `npm start` runs it: bin/tend.js, the bundle npm install builds (the sources when it is not built)
    child = spawn(process.execPath, [join(ROOT, 'bin', 'tend.js'), 'demo', '--storage', tmp.dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const page = await waitFor(() => out.match(/page:\s+(http:\/\/\S+)/)?.[1], 30_000, `the page address (got: ${out})`);
    const html = await (await fetch(page)).text();
    expect(html).toContain('<!doctype html>');
    const first = await waitFor(
      async () => {
        const s = await (await fetch(`${page}/api/status`)).json();
        return s.water.tanks.every((t: { liters: number | null }) => t.liters !== null) && s.power.soc_percent !== null ? s : null;
      },
      15_000,
      'the simulated devices to report',
    );
    // the village's time zone came with this round (times people read are local): any IANA name here
    expect(first.village).toEqual({ id: 'ashgrove', name: 'Ashgrove', population: 180, timezone: expect.any(String), language: 'en', minimum_water_lpd: 15 });
    expect(first.water.tanks).toHaveLength(3);
    expect(first.cold.units).toHaveLength(3);
    expect(first.sensors.total).toBe(15);
    // the devices publish every 5 s; their next reading changes the figures
    const seen = (s: ReserveStatus) => JSON.stringify([s.water.tanks.map((t) => t.level_mm), s.power.load_w, s.cold.units.map((u) => u.temp_c)]);
    await waitFor(
      async () => {
        const s = await (await fetch(`${page}/api/status`)).json();
        return seen(s) !== seen(first) ? s : null;
      },
      20_000,
      'the figures to change',
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child!.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(out).toContain('stopped cleanly');
  });
});
