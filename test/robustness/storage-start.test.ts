// A damaged, unreadable or read-only database must not stop tend from starting: the village
// needs its monitoring most when the card is failing. A damaged tend.db (garbage over its header,
// or over its pages) is moved aside with a timestamp, never deleted, with its -wal and -shm, and
// tend starts on a fresh file; a read-only storage dir runs in memory (from a copy of the file
// as it was). Both say so loudly: a log line with the path and what to do, /healthz, /metrics, the
// storage link and a mark on the page.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Level } from '../../core/log.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { waitFor } from '../helpers/net.ts';
import { connectDevice, demoConfig, getJson } from '../helpers/village.ts';
import { startVillage, type Village } from '../../services/village.ts';
import { type Cleanups, readOnlyView, scribble } from './disk.ts';
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
type TestVillage = Village & { logs: Logged[] };

function tempStorage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tend-storage-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dir: string, config = demoConfig()): Promise<TestVillage> {
  const logs: Logged[] = [];
  const v = await startVillage({ config, storageDir: dir, webPort: 0, brokerPort: 0, log: (line, level) => logs.push({ line, level }) });
  cleanups.push(() => v.stop());
  return Object.assign(v, { logs });
}

const north = (v: Village) => v.refresh().water.tanks.find((t) => t.id === 'north')!;

/** Publish a tank-north reading at QoS 1 and wait until the status shows it. */
async function publishNorth(v: Village, distance: number): Promise<void> {
  const device = await connectDevice(v, 'tank-north');
  try {
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: distance }), { qos: 1 });
    await waitFor(() => north(v).level_mm === 2100 - distance, 10_000, `level after distance ${distance}`);
  } finally {
    await device.endAsync(true);
  }
}

/** A storage dir holding a real tend.db with one tank reading in it, closed cleanly. */
async function usedStorage(): Promise<string> {
  const dir = tempStorage();
  const v = await start(dir);
  await publishNorth(v, 300);
  await v.stop();
  return dir;
}

/** /healthz whatever its HTTP status. */
async function health(v: Village): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${v.webUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type StorageLink = { name: string; kind: string; state: string; last_error: string | null; notice?: string | null };
async function storageLink(v: Village): Promise<StorageLink> {
  const links = (await getJson(`${v.webUrl}/api/sensors`)).links as StorageLink[];
  return links.find((l) => l.kind === 'storage' && l.name === 'storage')!;
}

/** The storage mark on the page, as a phone shows it. */
async function pageMark(v: Village): Promise<string> {
  const page = await browser.newPage({ width: 360, height: 740 });
  try {
    await page.goto(v.webUrl);
    const mark = page.locator('#storage-mark');
    await mark.waitFor({ state: 'visible', timeout: 15_000 });
    return (await mark.textContent()) ?? '';
  } finally {
    await page.close();
  }
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function movedAsideAndFresh(dir: string, damage: (file: string) => void): Promise<void> {
  const file = join(dir, 'tend.db');
  damage(file);
  // what an unclean shutdown leaves beside it: these belong to the damaged file and move with it
  writeFileSync(`${file}-wal`, Buffer.alloc(4096, 7));
  writeFileSync(`${file}-shm`, Buffer.alloc(32768, 0));
  const damagedHash = sha(file);
  const walHash = sha(`${file}-wal`);

  const v = await start(dir);

  // nothing deleted: the damaged file and its -wal/-shm are beside the fresh one, byte for byte
  const aside = readdirSync(dir).filter((f) => /^tend\.db\.damaged-/.test(f));
  const main = aside.find((f) => !f.endsWith('-wal') && !f.endsWith('-shm'))!;
  expect(main, `moved-aside file in ${readdirSync(dir).join(', ')}`).toBeTruthy();
  expect(aside.sort()).toEqual([main, `${main}-shm`, `${main}-wal`].sort());
  expect(sha(join(dir, main))).toBe(damagedHash);
  expect(sha(join(dir, `${main}-wal`))).toBe(walHash);
  expect(existsSync(file)).toBe(true);

  // said loudly: an error line with both paths and what to do
  const said = v.logs.filter((l) => l.level === 'error' && l.line.startsWith('storage: ') && l.line.includes(join(dir, main)));
  expect(said, v.logs.map((l) => l.line).join('\n')).toHaveLength(1);
  expect(said[0]!.line).toContain(file);
  expect(said[0]!.line).toMatch(/fresh/i);
  expect(said[0]!.line).toMatch(/recover/i);

  // /healthz: degraded (the new file works, the old state is not there); metrics and the link say so
  const h = await health(v);
  expect(h.status).toBe(200);
  expect(h.body).toMatchObject({ ok: true, degraded: true, storage: 'ok', moved_aside: join(dir, main) });
  expect(String(h.body.reason)).toContain(join(dir, main));
  const metrics = await scrape(v);
  expect(metricValue(metrics, 'tend_storage_moved_aside')).toBe(1);
  expect(metricValue(metrics, 'tend_storage_ok')).toBe(1);
  expect((await storageLink(v)).notice).toContain(join(dir, main));
  expect(await pageMark(v)).toMatch(/moved aside/i);

  // monitoring works on the fresh file, and what it stores is durable again
  expect(north(v).level_mm).toBeNull();
  await publishNorth(v, 700);
  await v.stop();
  const again = await start(dir);
  expect(north(again).level_mm).toBe(1400);
  // a healthy file is not moved again
  expect(readdirSync(dir).filter((f) => /^tend\.db\.damaged-/.test(f))).toHaveLength(3);
  expect((await health(again)).body).toMatchObject({ ok: true, degraded: false });
}

describe('storage at start', () => {
  it('a tend.db with garbage over its header is moved aside (with -wal/-shm) and tend starts on a fresh one', async () => {
    const dir = await usedStorage();
    await movedAsideAndFresh(dir, (file) => scribble(file, 0, 100));
  }, 120_000);

  it('a tend.db with garbage over its pages (header intact) is moved aside too', async () => {
    const dir = await usedStorage();
    await movedAsideAndFresh(dir, (file) => {
      const size = statSync(file).size;
      expect(size).toBeGreaterThan(8192);
      scribble(file, 4096, size - 4096);
    });
  }, 120_000);

  it('a read-only storage dir runs in memory from a copy of the file, says so, and leaves the file as it was', async (ctx) => {
    const src = await usedStorage();
    const file = join(src, 'tend.db');
    const before = sha(file);
    const dir = readOnlyView(cleanups, src);
    if (!dir) {
      ctx.skip(); // no mount rights here: a read-only bind mount needs root
      return;
    }

    const v = await start(dir);
    // the state the file held is there (a copy taken at start)
    expect(north(v).level_mm).toBe(1800);
    const said = v.logs.filter((l) => l.level === 'error' && l.line.startsWith('storage: ') && l.line.includes(join(dir, 'tend.db')));
    expect(said, v.logs.map((l) => l.line).join('\n')).toHaveLength(1);
    expect(said[0]!.line).toMatch(/in memory/i);
    expect(said[0]!.line).toMatch(/read-only/i);

    // every accepted reading is counted as held in memory: /healthz (503), /metrics, the link, the page
    await publishNorth(v, 500);
    await publishNorth(v, 600);
    await publishNorth(v, 650);
    const h = await health(v);
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ ok: false, degraded: true, storage_mode: 'memory', held_readings: 3 });
    expect(String(h.body.storage)).toMatch(/memory/i);
    expect(String(h.body.reason)).toMatch(/read-only/i);
    const metrics = await scrape(v);
    expect(metricValue(metrics, 'tend_storage_ok')).toBe(0);
    expect(metricValue(metrics, 'tend_storage_memory')).toBe(1);
    expect(metricValue(metrics, 'tend_storage_held_readings')).toBe(3);
    const link = await storageLink(v);
    expect(link.state).toBe('error');
    expect(link.last_error).toMatch(/3 readings/);
    expect(await pageMark(v)).toMatch(/in memory/i);

    // stopping says what is not kept; the file on the read-only dir is untouched
    await v.stop();
    expect(v.logs.some((l) => l.level === 'error' && /3 readings/.test(l.line) && /not (kept|written)|lost/i.test(l.line))).toBe(true);
    expect(sha(file)).toBe(before);
  }, 120_000);

  it('a storage dir that cannot be created (its parent is read-only) runs in memory with nothing to copy', async (ctx) => {
    const src = tempStorage();
    const parent = readOnlyView(cleanups, src);
    if (!parent) {
      ctx.skip(); // no mount rights here: a read-only bind mount needs root
      return;
    }
    // the write token is created beside the state by default: it cannot be written either, and the
    // village still starts, with the token kept in memory and named in the log
    const v = await start(join(parent, 'data'), demoConfig());
    expect(v.logs.some((l) => l.level === 'error' && /cannot write the write token/.test(l.line) && l.line.includes(v.token))).toBe(true);
    const drill = await fetch(`${v.webUrl}/api/drill`, { method: 'POST', headers: { authorization: `Bearer ${v.token}` } });
    expect(drill.status).toBe(202);
    expect(north(v).level_mm).toBeNull();
    await publishNorth(v, 400);
    const h = await health(v);
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ ok: false, storage_mode: 'memory', held_readings: 1 });
  }, 120_000);
});
