// The foundation end to end: a device publishes over real MQTT to the embedded broker and the
// reserve status changes on the API, on the retained reserve topic and on the SSE stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectDevice, demoConfig, getJson, startTestVillage } from '../helpers/village.ts';
import { tempDir, waitFor } from '../helpers/net.ts';
import { PortInUseError, startVillage } from '../../services/village.ts';
import { calibrate } from '../../services/ingest/calibrate.ts';
import type { ReserveStatus } from '../../core/types.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

describe('a reading reaches the reserve status', () => {
  it('changes litres, percent and the village totals within a second, on the API, the retained topic and SSE', async () => {
    const sseEvents: string[] = [];
    const controller = new AbortController();
    const sse = fetch(`${village.webUrl}/api/stream`, { signal: controller.signal })
      .then(async (res) => {
        const reader = res.body!.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          sseEvents.push(dec.decode(value));
        }
      })
      .catch(() => {});
    const device = await connectDevice(village, 'tank-north');
    const t0 = Date.now();
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: 812 }), { qos: 1 });
    const expected = calibrate(village.config.sensors.find((s) => s.id === 'north')!, 812);
    const status = await waitFor(
      async () => {
        const s = await getJson(`${village.webUrl}/api/status`);
        return s.water.tanks.find((t: { id: string }) => t.id === 'north').liters !== null ? s : null;
      },
      5000,
      'north tank litres',
    );
    expect(Date.now() - t0).toBeLessThan(1500);
    const north = status.water.tanks.find((t: { id: string }) => t.id === 'north');
    expect(north.level_mm).toBeCloseTo(2100 - 812, 6);
    expect(Math.abs(north.liters - expected.value)).toBeLessThan(0.1);
    expect(Math.abs(north.percent - (100 * expected.value) / north.capacity_liters)).toBeLessThan(0.1);
    expect(north.stale).toBe(false);
    expect(status.water.liters).toBeGreaterThanOrEqual(north.liters);
    expect(Math.abs(status.water.days_left_minimum - status.water.liters / (180 * 15))).toBeLessThan(0.01);
    // the retained reserve topic holds the same figure for a late subscriber
    const sub = await connectDevice(village, 'tank-school');
    const retained = await new Promise<ReserveStatus>((resolve) => {
      sub.on('message', (_t, p) => {
        const s = JSON.parse(p.toString());
        const n = s.water.tanks.find((t: { id: string }) => t.id === 'north');
        if (n.liters !== null) resolve(s);
      });
      sub.subscribe('tend/ashgrove/reserve');
    });
    expect(retained.water.tanks.find((t) => t.id === 'north')!.liters).toBe(north.liters);
    // and the SSE stream carried it
    await waitFor(() => sseEvents.join('').includes(`"level_mm":${2100 - 812}`), 3000, 'SSE status with the reading');
    controller.abort();
    await sse;
    device.end(true);
    sub.end(true);
  });

  it('marks a tank stale when its device says offline, keeping the last value visible', async () => {
    const device = await connectDevice(village, 'tank-school');
    await device.publishAsync('tend/ashgrove/dev/tank-school/reading', JSON.stringify({ pressure_kpa: 9.807 }), { qos: 1 });
    await waitFor(async () => (await getJson(`${village.webUrl}/api/status`)).water.tanks.find((t: { id: string }) => t.id === 'school').liters !== null, 5000);
    await device.publishAsync('tend/ashgrove/dev/tank-school/status', 'offline', { qos: 1, retain: true });
    const s = await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        return st.water.tanks.find((t: { id: string }) => t.id === 'school').stale ? st : null;
      },
      5000,
      'school tank stale',
    );
    const school = s.water.tanks.find((t: { id: string }) => t.id === 'school');
    expect(school.liters).toBeGreaterThan(0);
    expect(school.status).toBe('unknown');
    expect(s.sensors.stale).toContain('school');
    device.end(true);
  });

  it('serves /metrics, /healthz and refuses writes without the token', async () => {
    const metrics = await (await fetch(`${village.webUrl}/metrics`)).text();
    expect(metrics).toMatch(/tend_readings_accepted_total\{device="tank-north",village="ashgrove"\} [1-9]/);
    expect((await fetch(`${village.webUrl}/healthz`)).status).toBe(200);
    const denied = await fetch(`${village.webUrl}/api/drill`, { method: 'POST' });
    expect(denied.status).toBe(401);
    const wrong = await fetch(`${village.webUrl}/api/drill`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const page = await fetch(`${village.webUrl}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
  });
});

describe('ports and restarts', () => {
  it('says which port is taken; the demo takes a free one instead', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const tmp = tempDir();
    await expect(startVillage({ config: demoConfig(), storageDir: tmp.dir, brokerPort: 0, webPort: taken, log: () => {} })).rejects.toThrow(PortInUseError);
    const v = await startVillage({ config: demoConfig(), storageDir: tmp.dir, brokerPort: taken, webPort: taken, portFallback: true, log: () => {} });
    expect(v.webPort).not.toBe(taken);
    expect(v.brokerPort).not.toBe(taken);
    await v.stop();
    blocker.close();
    tmp.remove();
  });

  it('`tend run` with a taken port prints which and exits 2', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const tmp = tempDir();
    const file = join(tmp.dir, 'v.yaml');
    writeFileSync(
      file,
      `version: 1
village: { id: testvale, name: Testvale, population: 50 }
broker: { embedded: { host: 127.0.0.1, port: ${taken} } }
web: { host: 127.0.0.1, port: 0 }
storage: { dir: ${tmp.dir} }
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain(`port ${taken} on 127.0.0.1 is already in use`);
    blocker.close();
    tmp.remove();
  });

  it('keeps the latest values across a restart', async () => {
    const tmp = tempDir();
    const a = await startVillage({ config: demoConfig(), storageDir: tmp.dir, brokerPort: 0, webPort: 0, log: () => {} });
    const d = await connectDevice(a, 'tank-hill');
    await d.publishAsync('tend/ashgrove/dev/tank-hill/reading', JSON.stringify({ level_mm: 1600 }), { qos: 1 });
    d.end(true);
    await waitFor(() => a.refresh().water.tanks.find((t) => t.id === 'hill')!.liters === 14200, 5000, 'hill at 14200 L');
    await a.stop();
    const b = await startVillage({ config: demoConfig(), storageDir: tmp.dir, brokerPort: 0, webPort: 0, log: () => {} });
    const hill = b.refresh().water.tanks.find((t) => t.id === 'hill')!;
    expect(hill.liters).toBe(14200);
    expect(hill.last_seen).not.toBeNull();
    await b.stop();
    tmp.remove();
  });
});
