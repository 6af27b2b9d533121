// Days left at current use, on a fake clock: the figure stands on the daily use of the last 24 h
// (falls only, refills never count), so a morning peak and a nightly pump refill do not swing it;
// on day one it is what has been seen so far, scaled to a day; its range comes from the last week.
import { afterEach, describe, expect, it } from 'vitest';
import type { WaterStatus } from '../../../core/types.ts';
import { tempDir } from '../../helpers/net.ts';
import { noise, rig, T0, type Rig } from './fixture.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
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
const water = (r: Rig): WaterStatus => r.reserve.status({ rejected_total: 0 }).water;
/** within ±fraction of `of` */
const near = (x: number, of: number, fraction: number) => Math.abs(x - of) <= fraction * of;

/**
 * The east tank (box, 2 L per mm) serves the village: 545 L a day with a morning peak, refilled by
 * a pump every night from 02:00 to 02:30 by a day's use. The north tank stands full and still.
 * Both sensors are noisy (±3 mm) and report every 30 s. Times are UTC; T0 is 06:00.
 */
const DAILY_USE = 545;
function useLph(hourOfDay: number): number {
  if (hourOfDay < 6) return 5;
  if (hourOfDay < 9) return 60; // morning peak
  if (hourOfDay < 18) return 20;
  if (hourOfDay < 22) return 35;
  return 7.5;
}
function village(r: Rig, fromMs: number, toMs: number, each?: (t: number) => void, level = { east: 1800 }): void {
  const n = noise(11);
  const step = 30_000;
  for (let t = fromMs; t <= toMs; t += step) {
    r.clock.set(T0 + t);
    const hod = new Date(T0 + t).getUTCHours() + new Date(T0 + t).getUTCMinutes() / 60;
    level.east -= (useLph(Math.floor(hod)) / 2) * (step / HOUR);
    if (hod >= 2 && hod < 2.5) level.east += DAILY_USE / 2 / 60; // the pump: a day's use in 30 min
    r.feed('east', level.east + n(3));
    r.feed('north', 600 + n(3)); // 1000 mm of water, still
    each?.(t);
  }
}

describe('days left at current use', () => {
  it('holds steady through a morning peak and a nightly pump refill, never null after the first 3 h', () => {
    const r = tracked(rig());
    const samples: { t: number; w: WaterStatus }[] = [];
    village(r, 0, 4 * DAY, (t) => {
      if (t % (5 * MIN) === 0) samples.push({ t, w: water(r) });
    });
    const at = (t: number) => samples.find((s) => s.t === t)!.w;

    // day one: null for the first 3 h, then what has been seen so far, scaled to a day
    expect(at(2 * HOUR).days_left_current).toBeNull();
    expect(at(2 * HOUR).days_left_basis).toBe('water use not measured yet: needs 3 h of readings');
    for (const s of samples.filter((x) => x.t >= 3 * HOUR + 5 * MIN)) expect(s.w.days_left_current, `at +${s.t / MIN} min`).not.toBeNull();
    expect(at(5 * HOUR).days_left_basis).toBe('at the 5 h of use seen so far');
    // 06:00–11:00 is the morning peak and a quiet late morning: 3 × 60 + 2 × 20 = 220 L in 5 h
    expect(near(at(5 * HOUR).daily_use_liters!, (220 / 5) * 24, 0.1)).toBe(true);
    expect(at(25 * HOUR).days_left_basis).toBe('at the last 24 h of use');

    // after day one: the daily use is the day's, whatever the hour; the figure follows the litres
    for (const s of samples.filter((x) => x.t >= DAY + HOUR)) {
      expect(near(s.w.daily_use_liters!, DAILY_USE, 0.1), `daily use ${s.w.daily_use_liters} at +${s.t / MIN} min`).toBe(true);
      expect(s.w.days_left_current!).toBeCloseTo(s.w.liters! / s.w.daily_use_liters!, 1);
    }
    // the range needs two whole days; then it holds the figure, and days alike make it narrow
    expect(at(46 * HOUR).days_left_current_range).toBeNull();
    for (const s of samples.filter((x) => x.t >= 48 * HOUR)) {
      const [low, high] = s.w.days_left_current_range!;
      expect(low).toBeLessThanOrEqual(s.w.days_left_current!);
      expect(high).toBeGreaterThanOrEqual(s.w.days_left_current!);
      expect(high / low).toBeLessThan(1.1);
    }
    // 01:00 to 07:00 of nights two and three (the refill at 02:00, the peak from 06:00): within ±20 %
    for (const night of [2, 3]) {
      const one = night * DAY - 5 * HOUR; // T0 is 06:00, so 01:00 is 5 h before a whole day
      const base = at(one).days_left_current!;
      const window = samples.filter((s) => s.t >= one && s.t <= one + 6 * HOUR);
      expect(window.length).toBe(73);
      for (const s of window) expect(near(s.w.days_left_current!, base, 0.2), `${s.w.days_left_current} vs ${base} at +${s.t / MIN} min`).toBe(true);
      // and the use it stands on hardly moves at all
      const uses = window.map((s) => s.w.daily_use_liters!);
      expect(Math.max(...uses) / Math.min(...uses)).toBeLessThan(1.05);
    }
  });

  it('a range from the last week: null until two days are known, then around the figure', () => {
    const r = tracked(rig());
    const n = noise(5);
    // a heavier day first (2 mm/min ≈ 5760 L/day), then lighter days (1 mm/min ≈ 2880 L/day); no refill
    let level = 2000;
    for (let t = 0; t <= 3 * DAY; t += 60_000) {
      r.clock.set(T0 + t);
      level -= t < DAY ? 2 : 1;
      if (level < 200) level += 1500; // a refill now and then (never counted)
      r.feed('east', level + n(2));
      if (t === 30 * HOUR) expect(water(r).days_left_current_range).toBeNull(); // one day known, and 6 h
    }
    const w = water(r);
    expect(w.days_left_basis).toBe('at the last 24 h of use');
    expect(near(w.daily_use_liters!, 2880, 0.05)).toBe(true);
    const [low, high] = w.days_left_current_range!;
    expect(low).toBeLessThanOrEqual(w.days_left_current!);
    expect(high).toBeGreaterThanOrEqual(w.days_left_current!);
    // low: litres ÷ the heavy day's 5760 L; high: litres ÷ a light day's 2880 L
    expect(low).toBeCloseTo(w.liters! / 5760, 1);
    expect(high).toBeCloseTo(w.liters! / 2880, 1);
  });

  it('a refill never counts as negative use, and a filling or still tank shows no use', () => {
    const r = tracked(rig());
    const n = noise(3);
    let level = 1500;
    let before: WaterStatus | null = null;
    for (let t = 0; t <= 8 * HOUR; t += 30_000) {
      r.clock.set(T0 + t);
      if (t >= 4 * HOUR && t < 4 * HOUR + 20 * MIN)
        level += 10; // pump: 20 mm/min for 20 min
      else level -= 0.5; // 1 mm/min = 120 L/h
      r.feed('east', level + n(3));
      if (t === 4 * HOUR) before = water(r);
    }
    const after = water(r);
    expect(near(before!.daily_use_liters!, 2880, 0.05)).toBe(true);
    // the 800 L the pump put in are not subtracted from the use: the rate stays 120 L/h
    expect(near(after.daily_use_liters!, 2880, 0.05)).toBe(true);
    expect(after.days_left_current!).toBeCloseTo(after.liters! / after.daily_use_liters!, 2);

    // a tank that only fills, and one that stands still with a noisy sensor: no use, no figure
    const f = tracked(rig());
    const m = noise(9);
    for (let t = 0; t <= 6 * HOUR; t += 30_000) {
      f.clock.set(T0 + t);
      f.feed('east', 500 + t / MIN + m(4)); // filling 1 mm/min
      f.feed('north', 600 + m(4)); // still
    }
    const w = water(f);
    expect(w.daily_use_liters!).toBeGreaterThanOrEqual(0);
    expect(w.daily_use_liters!).toBeLessThan(24);
    expect(w.days_left_current).toBeNull();
    // (the time the east tank rose is not time its use could be seen)
    expect(w.days_left_basis).toMatch(/^almost no use in the [4-6] h seen so far$/);
  });

  it('survives a restart: the hourly history is in SQLite, compact, and pruned after 8 days', () => {
    const tmp = tempDir('tend-use-');
    cleanup.push(() => tmp.remove());
    const a = rig(tmp.dir);
    const level = { east: 1800 };
    village(a, 0, 30 * HOUR, undefined, level);
    a.storage.commitNow();
    const before = water(a);
    a.reserve.stop();
    a.storage.close();

    const b = tracked(rig(tmp.dir, T0 + 30 * HOUR + 10_000));
    const after = water(b);
    for (const k of ['days_left_current', 'daily_use_liters', 'days_left_basis'] as const) expect(after[k]).toEqual(before[k]);
    expect(after.days_left_basis).toBe('at the last 24 h of use');
    const rows = () =>
      b.storage.db.prepare(`SELECT sensor, count(*) AS n FROM reserve_use GROUP BY sensor ORDER BY sensor`).all() as { sensor: string; n: number }[];
    expect(rows().map((x) => x.sensor)).toEqual(['east', 'north']);
    expect(rows().every((x) => x.n >= 30 && x.n <= 32)).toBe(true); // one row an hour
    // and it goes on from there as if nothing had happened
    village(b, 30 * HOUR + 30_000, 36 * HOUR, undefined, level);
    expect(near(water(b).daily_use_liters!, DAILY_USE, 0.1)).toBe(true);

    // ten days on (a reading every 10 min is enough to count), at most 8 days of hours are kept
    for (let t = 30 * HOUR + 10 * MIN; t <= 10 * DAY; t += 10 * MIN) {
      b.clock.set(T0 + t);
      b.feed('east', 1500 - (t % DAY) / (4 * MIN)); // 1 mm per 4 min, refilled daily
      b.feed('north', 600);
    }
    b.storage.commitNow();
    b.reserve.stop(); // writes and prunes
    for (const x of rows()) expect(x.n).toBeLessThanOrEqual(8 * 24 + 2);
    expect(water(b).days_left_current_range).not.toBeNull();
  });
});
