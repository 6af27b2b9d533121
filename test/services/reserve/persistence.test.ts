import { afterEach, describe, expect, it } from 'vitest';
import { Reserve } from '../../../services/reserve/reserve.ts';
import { Storage } from '../../../services/storage.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { rig, T0, type Rig } from './fixture.ts';

const MIN = 60_000;
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

function tracked(r: Rig): Rig {
  cleanup.push(() => {
    r.reserve.stop();
    r.storage.close();
  });
  return r;
}

describe('persistence', () => {
  it('a new Reserve on the same storage dir reports the same values, draw, tendency and device state', () => {
    const tmp = tempDir('tend-reserve-');
    cleanup.push(() => tmp.remove());
    const a = rig(tmp.dir);
    for (let t = 0; t <= 90 * MIN; t += 30_000) {
      a.clock.set(T0 + t);
      a.feed('east', 1500 - t / MIN); // 120 L/h
      a.feed('baro', 1012 - (2 * t) / 3_600_000); // −2 hPa/h
      a.feed('fridge', t >= 60 * MIN ? 9 : 3); // above safe from minute 60
      a.feed('soc', 64);
    }
    a.reserve.setDeviceOnline('shed', false, T0 + 90 * MIN);
    const before = a.reserve.status({ rejected_total: 0 });
    const historyBefore = a.reserve.history('east', T0);
    a.reserve.stop();
    a.storage.close();

    const b = tracked(rig(tmp.dir, T0 + 90 * MIN + 5_000));
    const after = b.reserve.status({ rejected_total: 0 });
    expect(after.water.tanks[0]).toEqual({ ...before.water.tanks[0] });
    expect(after.water.draw_lph).toBeCloseTo(120, 0);
    expect(after.water.draw_lph).toBe(before.water.draw_lph);
    expect(after.weather.pressure_tendency_hpa_3h).toBe(before.weather.pressure_tendency_hpa_3h);
    expect(after.weather.pressure_tendency_hpa_3h).toBeCloseTo(-6, 1); // 1.5 h of −2 hPa/h, scaled to 3 h
    expect(after.cold.units[0]).toMatchObject({ temp_c: 9, minutes_above_safe: 30, status: 'watch' });
    expect(after.power).toMatchObject({ soc_percent: 64, stale: true, status: 'unknown' }); // shed said offline
    expect(b.reserve.sensors().find((s) => s.id === 'soc')!.device_online).toBe(false);
    expect(b.reserve.history('east', T0)).toEqual(historyBefore);
    expect(historyBefore.length).toBe(19); // 0..90 min in 5-minute steps

    // and it goes on from there: the window continues across the restart
    for (let t = 90 * MIN + 30_000; t <= 100 * MIN; t += 30_000) {
      b.clock.set(T0 + t);
      b.feed('east', 1500 - t / MIN);
    }
    expect(b.reserve.status({ rejected_total: 0 }).water.draw_lph).toBeCloseTo(120, 0);
  });

  it('the hot path writes nothing itself: rows wait for one group commit', async () => {
    const r = tracked(rig());
    const commits = r.storage.commits;
    for (let i = 0; i < 20_000; i++) {
      r.clock.set(T0 + i * 100); // 10 readings a second for 2000 s
      r.feed('load', i % 500);
    }
    expect(r.storage.commits).toBe(commits); // nothing written inside the loop
    await waitFor(() => r.storage.commits > commits, 10_000, 'group commit');
    const rows = r.storage.db.prepare(`SELECT count(*) AS n, sum(n) AS readings FROM reserve_bucket WHERE sensor = 'load'`).get() as {
      n: number;
      readings: number;
    };
    expect(rows).toEqual({ n: Math.ceil(2_000_000 / MIN), readings: 20_000 });
    const latest = r.storage.db.prepare(`SELECT value, ts FROM reserve_latest WHERE sensor = 'load'`).get();
    expect(latest).toEqual({ value: 19_999 % 500, ts: T0 + 19_999 * 100 });
  });

  it('minute buckets older than 170 h (7 days and 2 h) are pruned, 169 h are kept', () => {
    const r = tracked(rig());
    for (let h = 0; h <= 175; h++) {
      r.clock.set(T0 + h * 3_600_000);
      r.feed('load', h);
      r.storage.commitNow();
    }
    const h = r.reserve.history('load', 0);
    expect(h[0]!.ts).toBeGreaterThanOrEqual(T0 + 5 * 3_600_000);
    expect(h[0]!.ts).toBeLessThanOrEqual(T0 + 6 * 3_600_000);
    expect(h.at(-1)).toEqual({ ts: T0 + 175 * 3_600_000, value: 175 });
  });

  it('readings for sensors not in the config are counted, not kept', () => {
    const r = tracked(rig());
    r.reserve.record({ sensor: 'ghost', device: 'tanks', kind: 'rain', raw: 1, value: 1, ts: T0, received: T0, source: 'mqtt' });
    expect(r.reserve.unknownReadings).toBe(1);
    expect(r.reserve.status({ rejected_total: 0 }).sensors.online).toBe(0);
  });

  it('a failed commit keeps the rows queued; the next commit writes them', () => {
    const r = tracked(rig());
    r.feed('east', 900);
    r.storage.db.exec('ALTER TABLE reserve_latest RENAME TO reserve_latest_away');
    r.storage.commitNow();
    expect(r.storage.lastError).toMatch(/reserve_latest/);
    expect(r.reserve.status({ rejected_total: 0 }).water.tanks[0]!.liters).toBe(1800); // memory goes on
    r.storage.db.exec('ALTER TABLE reserve_latest_away RENAME TO reserve_latest');
    r.storage.commitNow();
    expect(r.storage.lastError).toBeNull();
    expect(r.storage.db.prepare(`SELECT raw FROM reserve_latest WHERE sensor = 'east'`).get()).toEqual({ raw: 900 });
    expect(r.storage.db.prepare(`SELECT n FROM reserve_bucket WHERE sensor = 'east'`).get()).toEqual({ n: 1 });
  });

  it('a non-finite value is counted and kept out of the sums', () => {
    const r = tracked(rig());
    r.feed('load', 300);
    r.reserve.record({ sensor: 'load', device: 'shed', kind: 'load_power', raw: NaN, value: NaN, ts: T0, received: T0, source: 'serial' });
    expect(r.reserve.badReadings).toBe(1);
    expect(r.reserve.status({ rejected_total: 0 }).power.load_w).toBe(300);
    expect(r.reserve.history('load', T0)).toEqual([{ ts: T0, value: 300 }]);
  });

  it('stop() writes what is queued; a reserve on a fresh database starts empty', () => {
    const tmp = tempDir('tend-reserve-');
    cleanup.push(() => tmp.remove());
    const a = rig(tmp.dir);
    a.feed('east', 700);
    a.reserve.stop();
    const n = a.storage.db.prepare('SELECT count(*) AS n FROM reserve_latest').get() as { n: number };
    expect(n.n).toBe(1);
    a.storage.close();
    const other = tempDir('tend-reserve-');
    cleanup.push(() => other.remove());
    const storage = new Storage(other.dir);
    const fresh = new Reserve({ config: a.config, clock: a.clock, storage });
    fresh.start();
    cleanup.push(() => {
      fresh.stop();
      storage.close();
    });
    expect(fresh.status({ rejected_total: 0 }).water.liters).toBeNull();
  });
});
