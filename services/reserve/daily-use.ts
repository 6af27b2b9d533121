// Daily water use, for "days left at current use" (README.md, "How the figures are computed").
// Each tank keeps the litres it lost per hour (falls of its level only: a refill never counts,
// neither as use nor as negative use) and the time it was watched in that hour, for 8 days. The
// village's daily use is the sum of each tank's use per watched time over its last 24 h, scaled to
// a day; so the figure follows the last day, not the last minutes, and a day-one figure is what
// has been seen so far, scaled to a day.
import { type Bucket, bucketTime, DRAW_MAX_GAP_MS } from './window.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** hourly use is kept this long (in memory and SQLite): the last 7 days for the range, plus one */
export const USE_KEEP_MS = 8 * DAY_MS;
/**
 * A level must fall this far below the last counted level before the fall counts as use, and
 * rise this far above it to count as a refill. With the usual few mm of ultrasonic noise, smoothed
 * levels (below) of a still tank wobble about 1 mm, so noise does not turn into use; a fall is
 * counted a little late, never lost.
 */
export const USE_BAND_MM = 4;
/** levels are smoothed over the last 5 minutes, reaching back for at least 5 readings (at most 30 min) */
export const USE_SMOOTH_MS = 5 * 60_000;
export const USE_SMOOTH_READINGS = 5;
export const USE_SMOOTH_MAX_MS = 30 * 60_000;
/** days left at current use stay null until every tank holding water has been watched this long */
export const USE_MIN_SPAN_MS = 3 * HOUR_MS;
/**
 * A past day counts in the range when every tank's history covers all of it and each was watched
 * for this much of it (a part of a day would stand for the hours it has: a morning peak alone
 * would make a heavy "day").
 */
export const USE_DAY_KNOWN_MS = 18 * HOUR_MS;
/** under 24 L a day (1 L/h), "days left at current use" says nothing (and JSON has no Infinity) */
export const MIN_DAILY_USE_L = 24;
/** the range looks at this many days, the last 24 h included */
export const USE_RANGE_DAYS = 7;

/** One hour of one tank: litres lost (falls only) and ms watched (refill and silent time left out). */
export interface UseHour {
  /** hour start, epoch ms (reading time) */
  t: number;
  use: number;
  span: number;
  /** queued for the next flush to SQLite */
  dirty: boolean;
}

/**
 * Level and litres at minute bucket `i`, smoothed over the minutes before it (5 min, reaching
 * back up to 30 min for at least 5 readings, never across a silent gap). Null without a level,
 * and while fewer than 5 readings stand behind it and the data does not yet reach back 30 min (the
 * first minutes, or after a gap), so a lone noisy reading never becomes the level falls count from.
 */
export function smoothedAt(buckets: readonly Bucket[], i: number): { t: number; level: number; liters: number } | null {
  const b = buckets[i];
  if (!b) return null;
  let n = 0;
  let lsum = 0;
  let sum = 0;
  let reachesMax = false;
  for (let j = i; j >= 0; j--) {
    const c = buckets[j]!;
    if (j < i) {
      const age = b.t - c.t;
      if (age >= USE_SMOOTH_MAX_MS) {
        reachesMax = true;
        break;
      }
      if (age >= USE_SMOOTH_MS && n >= USE_SMOOTH_READINGS) break;
      if (bucketTime(buckets[j + 1]!) - bucketTime(c) > DRAW_MAX_GAP_MS) break;
    }
    n += c.n;
    lsum += c.lsum;
    sum += c.sum;
  }
  if (!Number.isFinite(lsum) || n === 0 || (n < USE_SMOOTH_READINGS && !reachesMax)) return null;
  return { t: bucketTime(b), level: lsum / n, liters: sum / n };
}

/** The hourly use of one tank, fed one smoothed point per completed minute. */
export class UseTracker {
  hours: UseHour[] = [];
  /** the level (and litres) the next fall is measured from */
  private ref: { level: number; liters: number } | null = null;
  private lastT = -Infinity;
  /** grows with every change: days() is worked out again only after one */
  rev = 0;
  private daysCache: { rev: number; count: number; days: { use: number; span: number }[] } | null = null;

  /** Feed one point; returns the hour it changed, or null when it changed none. */
  step(t: number, level: number, liters: number): UseHour | null {
    if (!(t > this.lastT)) return null;
    this.rev++;
    const dt = t - this.lastT;
    this.lastT = t;
    const ref = this.ref;
    // first point, or after a silent spell: start again from here (neither the fall nor the time
    // across the gap is counted, so the rate stays the one of the watched time)
    if (ref === null || dt > DRAW_MAX_GAP_MS) {
      this.ref = { level, liters };
      return null;
    }
    // rising: a refill; follow it up, and leave its time out (the use during it is not seen)
    if (level > ref.level + USE_BAND_MM) {
      this.ref = { level, liters };
      return null;
    }
    const h = this.hourAt(t);
    h.span += dt;
    if (level < ref.level - USE_BAND_MM) {
      h.use += Math.max(0, ref.liters - liters);
      this.ref = { level, liters };
    }
    return h;
  }

  /** After a restart: go on from this point without counting the step to it. */
  resume(t: number, level: number, liters: number): void {
    this.rev++;
    this.ref = { level, liters };
    this.lastT = t;
  }

  /** Put back a persisted hour (at start); ascending order. */
  restore(h: Omit<UseHour, 'dirty'>): void {
    this.rev++;
    this.hours.push({ ...h, dirty: false });
  }

  private hourAt(t: number): UseHour {
    const ht = t - (t % HOUR_MS);
    const last = this.hours[this.hours.length - 1];
    if (last && last.t >= ht) return last;
    const h: UseHour = { t: ht, use: 0, span: 0, dirty: false };
    this.hours.push(h);
    let drop = 0;
    while (drop < this.hours.length && this.hours[drop]!.t < ht - USE_KEEP_MS) drop++;
    if (drop) this.hours.splice(0, drop);
    return h;
  }

  /**
   * Use and watched time per day, counted back from the newest point: [0] the 24 hours ending
   * with it, [1] the 24 before, … A silent tank's days end where it was last heard. The newest
   * hour is under way, so the hour a whole day before it counts for the part of it not yet
   * repeated (and the rest in the day before): each day is 24 h long, and the figure does not
   * step each time an hour turns.
   */
  days(count = USE_RANGE_DAYS): { use: number; span: number }[] {
    const c = this.daysCache;
    if (c && c.rev === this.rev && c.count === count) return c.days;
    const days = this.countDays(count);
    this.daysCache = { rev: this.rev, count, days };
    return days;
  }

  private countDays(count: number): { use: number; span: number }[] {
    const out = Array.from({ length: count + 1 }, () => ({ use: 0, span: 0 }));
    const last = this.hours[this.hours.length - 1];
    if (!last) return out.slice(0, count);
    const done = Math.min(1, Math.max(0, (this.lastT - last.t) / HOUR_MS));
    const add = (k: number, h: UseHour, w: number) => {
      if (k < 0 || k > count) return;
      out[k]!.use += h.use * w;
      out[k]!.span += h.span * w;
    };
    for (const h of this.hours) {
      const d = last.t - h.t;
      const k = Math.floor(d / DAY_MS);
      if (d > 0 && d % DAY_MS === 0) {
        add(k - 1, h, 1 - done);
        add(k, h, done);
      } else add(k, h, 1);
    }
    return out.slice(0, count);
  }

  /** whether the history reaches back over the whole of day `k` (of days()) */
  covers(k: number): boolean {
    const n = this.hours.length;
    return n > 0 && this.hours[n - 1]!.t - this.hours[0]!.t >= (k + 1) * DAY_MS - HOUR_MS;
  }
}

export interface VillageUse {
  /** litres a day at the last 24 h of use (or the hours seen so far, scaled); null under USE_MIN_SPAN_MS */
  daily: number | null;
  /** the shortest watched time behind `daily`, over the tanks */
  spanMs: number;
  /** every tank's history covers the whole last 24 h */
  fullDay: boolean;
  /** the daily use of each known day of the last week, the last 24 h first */
  days: number[];
}

/** The village's daily use from the tanks that hold water: each tank's use per watched time, summed. */
export function villageUse(tanks: readonly UseTracker[]): VillageUse {
  if (!tanks.length) return { daily: null, spanMs: 0, fullDay: false, days: [] };
  const per = tanks.map((t) => t.days());
  const perDay = (p: { use: number; span: number }) => (p.span > 0 ? (p.use / p.span) * DAY_MS : 0);
  let spanMs = Infinity;
  let daily = 0;
  for (const p of per) {
    spanMs = Math.min(spanMs, p[0]!.span);
    daily += perDay(p[0]!);
  }
  // a tank not watched long enough would leave its use out: the village figure waits for it
  if (spanMs < USE_MIN_SPAN_MS) return { daily: null, spanMs, fullDay: false, days: [] };
  const days = [daily];
  for (let k = 1; k < USE_RANGE_DAYS; k++) {
    if (per.every((p, i) => p[k]!.span >= USE_DAY_KNOWN_MS && tanks[i]!.covers(k))) days.push(per.reduce((acc, p) => acc + perDay(p[k]!), 0));
  }
  return { daily, spanMs, fullDay: tanks.every((t) => t.covers(0)), days };
}
