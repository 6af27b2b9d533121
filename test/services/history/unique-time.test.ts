// Every accepted reading is its own point in InfluxDB. InfluxDB keeps one point per series and
// time, so readings of one sensor stamped in the same millisecond (no device time: the receive
// time) used to overwrite each other. Against a real influxd: 6,000 readings in 3 ms, all 6,000
// counted back; and rows a previous version left in the outbox (times in ms) still land at their
// own time.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { History } from '../../../services/history/index.ts';
import { readingPoint } from '../../../services/history/points.ts';
import { Storage } from '../../../services/storage.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { historyConfig, reading } from './fixtures.ts';

let influx: Influxd;
beforeAll(async () => {
  influx = await startInfluxd();
});
afterAll(async () => {
  await influx?.close();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function history(database: string, dir = tempDir('tend-unique-')) {
  const config = historyConfig(dir.dir, influx.url, { influx: { database } });
  const storage = new Storage(dir.dir);
  const events = new VillageEventHub();
  const h = new History({ config, clock: { now: () => 1_700_000_000_000 }, storage, events, writer: { minBackoffMs: 50, maxBackoffMs: 500 } });
  cleanups.push(() => dir.remove());
  cleanups.push(() => storage.close());
  cleanups.push(() => h.stop());
  return { history: h, storage, events };
}

const count = async (db: string, where = '') =>
  ((await influx.rows(`SELECT count("value") AS n FROM "reading" ${where}`, db))[0]?.n as number | undefined) ?? 0;

describe('one point per accepted reading', () => {
  it('6,000 readings of one sensor in 3 ms are 6,000 points', async () => {
    await influx.query('CREATE DATABASE same_ms');
    const { history: h, events, storage } = history('same_ms');
    h.start();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 6000; i++) {
      // one sensor, the receive time in ms as ingest stamps it; a few readings of a second sensor between
      events.emit('reading', reading(0, { ts: t0 + Math.floor(i / 2000), received: t0 + Math.floor(i / 2000), value: i, seq: undefined }));
      if (i % 1000 === 0) events.emit('reading', reading(1, { ts: t0 + Math.floor(i / 2000), value: i }));
      if (i % 1500 === 0) storage.commitNow();
    }
    storage.commitNow();
    await waitFor(async () => h.stats().outbox_rows === 0, 60_000, 'outbox drained');
    expect(await count('same_ms', `WHERE "sensor" = 'north'`)).toBe(6000);
    expect(await count('same_ms', `WHERE "sensor" = 'battery'`)).toBe(6);
    // each stays in its own millisecond, in the order it was accepted
    const rows = await influx.rows(`SELECT "value" FROM "reading" WHERE "sensor" = 'north'`, 'same_ms');
    expect(rows.map((r) => r.value)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    expect(new Set(rows.map((r) => r.time))).toEqual(new Set([t0, t0 + 1, t0 + 2]));
    expect(h.stats()).toMatchObject({ written_total: 6006, rejected_total: 0 });
  }, 120_000);

  it('rows an earlier version left in the outbox (times in ms) are sent at their own time', async () => {
    await influx.query('CREATE DATABASE legacy_rows');
    // the outbox table as the previous version created it, with one waiting chunk
    const dir = tempDir('tend-unique-');
    const old = new Database(join(dir.dir, 'tend.db'));
    old.exec(
      'CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, cls INTEGER NOT NULL, n INTEGER NOT NULL, size INTEGER NOT NULL, lines TEXT NOT NULL)',
    );
    const lines = [readingPoint('ashgrove', reading(0))!.line, readingPoint('ashgrove', reading(3))!.line].join('\n');
    old.prepare('INSERT INTO outbox (cls, n, size, lines) VALUES (0, 2, ?, ?)').run(Buffer.byteLength(lines), lines);
    old.close();
    const { history: h, events, storage } = history('legacy_rows', dir);
    h.start();
    // and new readings of that sensor, three in one millisecond
    for (let i = 0; i < 3; i++) events.emit('reading', reading(0, { ts: 1_700_000_000_005, value: 100 + i }));
    storage.commitNow();
    await waitFor(async () => h.stats().outbox_rows === 0, 60_000, 'outbox drained');
    const rows = await influx.rows(`SELECT "value" FROM "reading"`, 'legacy_rows');
    expect(rows.map((r) => [r.time, r.value])).toEqual([
      [1_700_000_000_000, 5000],
      [1_700_000_000_005, 100],
      [1_700_000_000_005, 101],
      [1_700_000_000_005, 102],
      [1_700_000_000_030, 5001.5],
    ]);
  }, 120_000);
});
