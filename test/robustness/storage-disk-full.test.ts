// Disk full must not be silent. On a real 4 MB tmpfs filled up: the storage logs the episode once
// (and once when it recovers), /healthz answers 503 with the reason, and /healthz, /metrics, the
// storage link and the page say how many accepted readings are held in memory, not yet on disk.
// QoS 1 readings are still acknowledged then (holding PUBACKs back would stall the devices and
// with them the monitoring): they are the readings counted as held. Stopping tend while the disk
// is still full logs how many could not be written.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Level } from '../../core/log.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/net.ts';
import { connectDevice, demoConfig, getJson } from '../helpers/village.ts';
import { startVillage, type Village } from '../../services/village.ts';
import { type Cleanups, fill, smallDisk } from './disk.ts';
import { metricValue, scrape } from './helpers.ts';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      /* keep cleaning */
    }
  }
  cleanups.length = 0;
});

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

type Logged = { line: string; level: Level };

async function start(dir: string): Promise<Village & { logs: Logged[] }> {
  const logs: Logged[] = [];
  const v = await startVillage({ config: demoConfig(), storageDir: dir, webPort: 0, brokerPort: 0, log: (line, level) => logs.push({ line, level }) });
  cleanups.push(() => v.stop());
  return Object.assign(v, { logs });
}

const north = (v: Village) => v.refresh().water.tanks.find((t) => t.id === 'north')!;
const storageLines = (v: { logs: Logged[] }, re: RegExp) => v.logs.filter((l) => l.line.startsWith('storage: ') && re.test(l.line));

async function health(v: Village): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${v.webUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Fill the disk and keep the tank reporting until a commit fails; returns the filler file. */
async function fillUntilFailing(v: Village, device: MqttClient, dir: string): Promise<string> {
  const filler = fill(dir);
  let d = 400;
  await waitFor(
    async () => {
      d += 1;
      await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: d }), { qos: 1 });
      return v.storage.lastError !== null;
    },
    30_000,
    'the disk-full failure noticed',
  );
  return filler;
}

describe('disk full', () => {
  it('is logged once per episode, answers 503 on /healthz, and counts the readings held in memory everywhere', async (ctx) => {
    const dir = smallDisk(cleanups);
    if (!dir) {
      ctx.skip(); // mounting a tmpfs was refused here (needs root or mount rights)
      return;
    }
    const v = await start(dir);
    const device = await connectDevice(v, 'tank-north');
    cleanups.push(() => device.endAsync(true));
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 300}', { qos: 1 });
    await waitFor(() => v.storage.lastError === null && v.storage.commits > 0 && north(v).level_mm === 1800, 10_000, 'healthy at first');
    expect((await health(v)).status).toBe(200);

    const filler = await fillUntilFailing(v, device, dir);
    // QoS 1 readings are still acknowledged (publishAsync resolves on PUBACK) and held in memory
    for (const dist of [1500, 1600, 1700]) await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: dist }), { qos: 1 });
    await waitFor(() => north(v).level_mm === 400, 10_000, 'the last level in the status');
    // the 1 s retry fails again and again: still one line for the episode
    const failedBefore = v.storage.failedCommits;
    await waitFor(() => v.storage.failedCommits >= failedBefore + 3, 20_000, 'three more failed retries');
    const full = storageLines(v, /full/i);
    expect(full, v.logs.map((l) => l.line).join('\n')).toHaveLength(1);
    expect(full[0]!.level).toBe('error');
    expect(full[0]!.line).toContain(dir);

    const held = v.storage.heldReadings;
    expect(held).toBeGreaterThanOrEqual(3);
    const h = await health(v);
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ ok: false, held_readings: held, storage_mode: 'file' });
    expect(String(h.body.reason)).toMatch(/full/i);
    expect(String(h.body.reason)).toContain(`${held} readings`);
    const metrics = await scrape(v);
    expect(metricValue(metrics, 'tend_storage_ok')).toBe(0);
    expect(metricValue(metrics, 'tend_storage_held_readings')).toBe(held);
    const links = (await getJson(`${v.webUrl}/api/sensors`)).links as { name: string; kind: string; last_error: string | null }[];
    expect(links.find((l) => l.kind === 'storage' && l.name === 'storage')!.last_error).toContain(`${held} readings`);
    const page = await browser.newPage({ width: 360, height: 740 });
    cleanups.push(() => page.close());
    await page.goto(v.webUrl);
    const mark = page.locator('#storage-mark');
    await mark.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await mark.textContent()).toMatch(new RegExp(`${held} readings? held in memory`));

    // space returns: written by the retry, one line saying so, the count back to 0, the mark gone
    rmSync(filler);
    await waitFor(() => v.storage.lastError === null, 15_000, 'writes work again');
    const back = storageLines(v, /work again/i);
    expect(back).toHaveLength(1);
    expect(back[0]!.line).toContain(`${held} readings`);
    expect(v.storage.heldReadings).toBe(0);
    const after = await health(v);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ ok: true, held_readings: 0, storage: 'ok' });
    await mark.waitFor({ state: 'hidden', timeout: 15_000 });

    // a second episode is a second line
    const filler2 = await fillUntilFailing(v, device, dir);
    expect(storageLines(v, /full/i)).toHaveLength(2);
    rmSync(filler2);
    await waitFor(() => v.storage.lastError === null, 15_000, 'writes work again (2)');
    expect(storageLines(v, /work again/i)).toHaveLength(2);
  }, 120_000);

  it('stopping while the disk is full logs how many readings could not be written', async (ctx) => {
    const dir = smallDisk(cleanups);
    if (!dir) {
      ctx.skip(); // mounting a tmpfs was refused here (needs root or mount rights)
      return;
    }
    const v = await start(dir);
    const device = await connectDevice(v, 'tank-north');
    cleanups.push(() => device.endAsync(true));
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 300}', { qos: 1 });
    await waitFor(() => v.storage.commits > 0 && north(v).level_mm === 1800, 10_000, 'healthy at first');
    await fillUntilFailing(v, device, dir);
    for (const dist of [1500, 1600]) await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: dist }), { qos: 1 });
    await waitFor(() => north(v).level_mm === 500, 10_000, 'the last level in the status');
    await device.endAsync(true);
    const held = v.storage.heldReadings;
    expect(held).toBeGreaterThanOrEqual(2);
    await v.stop();
    const lost = storageLines(v, /could not be written/i);
    expect(lost, v.logs.map((l) => l.line).join('\n')).toHaveLength(1);
    expect(lost[0]!.level).toBe('error');
    expect(lost[0]!.line).toContain(`${held} readings`);
  }, 120_000);
});
