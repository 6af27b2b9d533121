// The SQLite outbox: durable with the group commit, bounded, dropping raw readings first.
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../services/history/outbox.ts';
import { PointClass, readingPoint, statusPoints, alertPoint } from '../../../services/history/points.ts';
import { History } from '../../../services/history/index.ts';
import { Storage } from '../../../services/storage.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { tempDir } from '../../helpers/net.ts';
import { alert, historyConfig, reading, status } from './fixtures.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function dir(): string {
  const t = tempDir('tend-outbox-');
  cleanups.push(t.remove);
  return t.dir;
}

describe('Outbox', () => {
  it('writes queued points with the group commit, and the done callback runs after they are on disk', async () => {
    const d = dir();
    const storage = new Storage(d);
    const outbox = new Outbox(storage, 1024 ** 3);
    outbox.start();
    for (let i = 0; i < 10; i++) outbox.add(readingPoint('ashgrove', reading(i))!);
    expect(outbox.stats().rows).toBe(0);
    const err = await new Promise<Error | null>((resolve) => storage.commitSoon(resolve));
    expect(err).toBeNull();
    // a second connection (as after a crash) sees the rows
    storage.db.close();
    const again = new Storage(d);
    const o2 = new Outbox(again, 1024 ** 3);
    o2.start();
    expect(o2.stats().rows).toBe(10);
    const lines = o2.peek(5000, 1e6).flatMap((c) => c.lines.split('\n'));
    expect(lines).toHaveLength(10);
    expect(lines[3]).toBe(readingPoint('ashgrove', reading(3))!.line);
    again.close();
  });

  it('when full drops the oldest raw readings first and keeps reserve totals and alert events', () => {
    const d = dir();
    const storage = new Storage(d);
    const logs: string[] = [];
    const outbox = new Outbox(storage, 200_000, (m) => logs.push(m));
    outbox.start();
    // old keep-class points first, so "oldest first" alone would drop them
    for (let i = 0; i < 20; i++) {
      for (const p of statusPoints(status(i * 10_000), i * 10_000)) outbox.add(p);
      outbox.add(alertPoint('ashgrove', alert(i * 10_000, { id: `a${i}` }), 0)!);
    }
    storage.commitNow();
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 500; i++) outbox.add(readingPoint('ashgrove', reading(round * 500 + i))!);
      storage.commitNow();
      expect(outbox.stats().bytes).toBeLessThanOrEqual(200_000);
    }
    const s = outbox.stats();
    expect(s.dropped_by_class.raw).toBeGreaterThan(0);
    expect(s.dropped_by_class.derived).toBe(0);
    expect(s.dropped_by_class.keep).toBe(0);
    expect(s.dropped_total).toBe(s.dropped_by_class.raw);
    expect(logs.some((l) => l.includes('dropped'))).toBe(true);
    const left = outbox
      .peek(1e9, 1e9)
      .filter((c) => c.cls === PointClass.raw)
      .flatMap((c) => c.lines.split('\n'));
    // what is left is the newest readings, contiguous up to the last one
    const last = readingPoint('ashgrove', reading(40 * 500 - 1))!.line;
    expect(left[left.length - 1]).toBe(last);
    expect(left.length + s.dropped_by_class.raw).toBe(20_000);
    const keep = outbox
      .peek(1e9, 1e9)
      .filter((c) => c.cls === PointClass.keep)
      .reduce((n, c) => n + c.n, 0);
    expect(keep).toBe(40); // 20 reserve + 20 alert points all still there
    // the dropped count survives a restart (it is shown on /metrics and the page)
    storage.close();
    const again = new Storage(d);
    const o2 = new Outbox(again, 200_000);
    o2.start();
    expect(o2.stats().dropped_total).toBe(s.dropped_total);
    again.close();
  });

  it('History queues one reading point per accepted reading and counts drops in stats()', async () => {
    const d = dir();
    const storage = new Storage(d);
    const events = new VillageEventHub();
    // influx on a closed port: nothing drains, so the bound has to act
    const config = historyConfig(d, 'http://127.0.0.1:9', { storage: { outbox_max_bytes: 100_000 } });
    const h = new History({ config, clock: { now: () => 0 }, storage, events, writer: { minBackoffMs: 60_000 } });
    h.start();
    try {
      for (let i = 0; i < 3000; i++) events.emit('reading', reading(i));
      storage.commitNow();
      const s = h.stats();
      expect(s.dropped_total).toBeGreaterThan(0);
      expect(s.outbox_rows + s.dropped_total).toBe(3000);
      expect(s.outbox_bytes).toBeLessThanOrEqual(100_000);
    } finally {
      await h.stop();
      storage.close();
    }
  });
});
