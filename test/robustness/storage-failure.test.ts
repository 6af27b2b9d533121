// Disk full or read-only storage: tend keeps monitoring in memory, says so on /metrics
// (tend_storage_ok 0), /healthz and the links, and recovers by itself when space returns.
// Disk full is real: the storage dir is a 4 MB tmpfs filled up with a file (needs root / mount
// rights; skipped with a note otherwise). Read-only is SQLite's query_only switch on the open
// database, which fails every write the way a read-only remount does.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectDevice, demoConfig, getJson } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { startVillage, type Village } from '../../services/village.ts';
import { metricValue, scrape } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
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

/** a size-limited tmpfs in a fresh temp dir, or null when this process may not mount */
function smallDisk(): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'tend-smalldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmdirSync(dir);
    return null;
  }
  cleanups.push(() => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** fill the file system holding `dir` until ENOSPC; returns the filler file */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // the last few bytes too
    const small = Buffer.alloc(512, 1);
    try {
      for (;;) writeSync(fd, small);
    } catch {
      /* full */
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

async function start(dir: string): Promise<Village & { logs: string[] }> {
  const logs: string[] = [];
  const v = await startVillage({ config: demoConfig(), storageDir: dir, webPort: 0, brokerPort: 0, log: (m) => logs.push(m) });
  cleanups.push(() => v.stop());
  return Object.assign(v, { logs });
}

const north = (v: Village) => v.refresh().water.tanks.find((t) => t.id === 'north')!;

/** readings keep landing in memory while storage fails, and the failure shows everywhere */
async function monitorsThroughFailure(v: Village, device: MqttClient, breakIt: () => void, repair: () => void): Promise<number> {
  await device.publishAsync('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 300}', { qos: 1 });
  await waitFor(() => north(v).level_mm === 1800, 10_000, 'first reading');
  await waitFor(() => v.storage.lastError === null && v.storage.commits > 0, 10_000, 'storage healthy at first');
  expect(metricValue(await scrape(v), 'tend_storage_ok')).toBe(1);

  breakIt();
  // keep the tank reporting: each reading changes rows, so each commit needs to write
  let d = 400;
  await waitFor(
    async () => {
      d += 1;
      await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: d }), { qos: 1 });
      return v.storage.lastError !== null;
    },
    30_000,
    'the storage failure noticed',
  );
  // monitoring goes on in memory: the tank drains towards empty and the status follows
  const accepted0 = v.ingest.accepted.get('tank-north') ?? 0;
  for (const dist of [1500, 1800, 2000, 2080]) {
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: dist }), { qos: 1 });
  }
  await waitFor(() => north(v).level_mm === 20, 10_000, 'the nearly empty level in the status');
  expect(v.ingest.accepted.get('tank-north')).toBe(accepted0 + 4);
  expect(north(v).status).not.toBe('ok');
  expect(v.storage.lastError).not.toBeNull();
  // said loudly: /metrics, /healthz, the links on /api/sensors
  const metrics = await scrape(v);
  expect(metricValue(metrics, 'tend_storage_ok')).toBe(0);
  expect(metricValue(metrics, 'tend_link_up', { kind: 'storage', state: 'error' })).toBe(1);
  // a failing disk answers 503 (with the same body), so read it whatever the status
  const health = await (await fetch(`${v.webUrl}/healthz`)).json();
  expect(health.storage).not.toBe('ok');
  expect(String(health.storage)).toMatch(/full|readonly|read-only|disk|write/i);
  const links = (await getJson(`${v.webUrl}/api/sensors`)).links as { kind: string; state: string; last_error: string | null }[];
  expect(links.find((l) => l.kind === 'storage')).toMatchObject({ state: 'error' });

  repair();
  // recovers by itself (the 1 s tick retries the commit)
  await waitFor(async () => metricValue(await scrape(v), 'tend_storage_ok') === 1, 15_000, 'tend_storage_ok back to 1');
  expect((await getJson(`${v.webUrl}/healthz`)).storage).toBe('ok');
  // a reading after recovery is durable (checked by a restart below)
  await device.publishAsync('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 1234}', { qos: 1 });
  await waitFor(() => north(v).level_mm === 866, 10_000, 'reading after recovery');
  await waitFor(() => v.storage.lastError === null, 10_000);
  return 866;
}

describe('storage failure', () => {
  it('disk full (a 4 MB tmpfs filled up): monitoring goes on, /metrics and /healthz say so, recovers when space returns', async (ctx) => {
    const dir = smallDisk();
    if (!dir) {
      ctx.skip(); // no mount rights here: the read-only case below still runs
      return;
    }
    const v = await start(dir);
    const device = await connectDevice(v, 'tank-north');
    cleanups.push(() => {
      device.end(true);
    });
    let filler = '';
    const level = await monitorsThroughFailure(
      v,
      device,
      () => {
        filler = fill(dir);
      },
      () => rmSync(filler),
    );
    // nothing accepted after recovery is lost: a restart on the same dir has it
    device.end(true);
    await v.stop();
    const again = await start(dir);
    expect(north(again).level_mm).toBe(level);
  }, 120_000);

  it('read-only storage (every write refused): monitoring goes on, /metrics and /healthz say so, recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tend-readonly-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const v = await start(dir);
    const device = await connectDevice(v, 'tank-north');
    cleanups.push(() => {
      device.end(true);
    });
    const level = await monitorsThroughFailure(
      v,
      device,
      () => v.storage.db.pragma('query_only = 1'),
      () => v.storage.db.pragma('query_only = 0'),
    );
    device.end(true);
    await v.stop();
    const again = await start(dir);
    expect(north(again).level_mm).toBe(level);
  }, 120_000);
});
