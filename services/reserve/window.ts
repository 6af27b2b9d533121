// Rolling windows of one-minute buckets per sensor, and the pure rate math on them.
// Buckets are keyed by the reading's own time (device time, the reading's `ts`), never by
// the receive time, so a replayed or buffered series gives the same rates as a live one.

export const BUCKET_MS = 60_000;

/** One minute of one sensor: running sums, so adding a reading is O(1) and allocation-free. */
export interface Bucket {
  /** bucket start, epoch ms, a multiple of BUCKET_MS */
  t: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  /** sum of tank levels (mm); NaN when the kind has no level */
  lsum: number;
  /** sum of (reading time − t): the mean reading time, so a half-filled minute is not misdated */
  tsum: number;
  /** queued for the next flush to SQLite (set by the owner, cleared when written) */
  dirty: boolean;
}

export const bucketMean = (b: Bucket): number => b.sum / b.n;
export const bucketLevel = (b: Bucket): number => b.lsum / b.n;
export const bucketTime = (b: Bucket): number => b.t + b.tsum / b.n;

/**
 * Buckets in ascending time. Times only move forward: a reading stamped before the newest one
 * (a device clock stepping back, a late duplicate) is clipped into the newest bucket, so no
 * window ever sees time run backwards and no rate is divided by ≤ 0 elapsed.
 */
export class MinuteWindow {
  buckets: Bucket[] = [];
  /** newest (clipped) reading time seen, epoch ms */
  newestTs = -Infinity;

  constructor(readonly keepMs: number) {}

  /** Add a reading; returns the bucket it went into. */
  add(ts: number, value: number, level: number): Bucket {
    if (ts > this.newestTs) this.newestTs = ts;
    const t = this.newestTs - (this.newestTs % BUCKET_MS);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.t === t) {
      last.n++;
      last.sum += value;
      if (value < last.min) last.min = value;
      if (value > last.max) last.max = value;
      last.lsum += level;
      last.tsum += this.newestTs - t;
      return last;
    }
    const b: Bucket = { t, n: 1, sum: value, min: value, max: value, lsum: level, tsum: this.newestTs - t, dirty: false };
    this.buckets.push(b);
    // prune about once a minute (when a new bucket opens), so add() stays O(1) amortised
    const cutoff = t - this.keepMs;
    let drop = 0;
    while (drop < this.buckets.length && this.buckets[drop]!.t < cutoff) drop++;
    if (drop) this.buckets.splice(0, drop);
    return b;
  }

  /** Put back a persisted bucket (at start); must be called in ascending order. */
  restore(b: Omit<Bucket, 'dirty'>): void {
    this.buckets.push({ ...b, dirty: false });
    if (b.t > this.newestTs) this.newestTs = b.t;
  }

  /** Buckets with start ≥ since. */
  since(since: number): Bucket[] {
    let i = this.buckets.length;
    while (i > 0 && this.buckets[i - 1]!.t >= since) i--;
    return this.buckets.slice(i);
  }
}

// ---- water draw ------------------------------------------------------------------------

/** window for draw_lph: the last hour of readings */
export const DRAW_WINDOW_MS = 60 * 60_000;
/** draw stays null until this much non-refill time is covered */
export const DRAW_MIN_SPAN_MS = 10 * 60_000;
/** a step across a gap longer than this (device silent) is left out rather than guessed */
export const DRAW_MAX_GAP_MS = 15 * 60_000;
/**
 * A step counts as refill when the level rises faster than this over the five minutes around it.
 * Ultrasonic sensors wobble a few mm; one-minute means wobble ~1–2 mm, and the five-minute slope
 * about 0.3 mm/min, so 1.5 mm/min is far above noise yet catches a pump or rain refill of a few
 * hundred L/h into a typical tank. Slower inflow shows as reduced net outflow (still "net").
 */
export const REFILL_MM_PER_MIN = 1.5;

/**
 * Net outflow in L/h over the last DRAW_WINDOW_MS of a tank's buckets, refills excluded.
 * The steps between one-minute means are split into refill steps and the rest; the runs of
 * non-refill steps form segments, and the draw is the least-squares slope of litres over time
 * pooled across those segments (each segment keeps its own offset, so a refill between two
 * segments neither counts as negative draw nor hides the draw before and after it).
 * A least-squares slope uses every minute, so sensor noise averages out instead of turning
 * into phantom draw (as summing only the drops would). Whether a step refills is judged from
 * the level slope over the buckets around it, not its own two ends, so that judgement does not
 * follow the step's own noise. Null until DRAW_MIN_SPAN_MS of non-refill time is covered;
 * never negative.
 */
export function drawLph(buckets: readonly Bucket[]): number | null {
  const n = buckets.length;
  if (n < 2) return null;
  const end = buckets[n - 1]!.t;
  let first = n - 1;
  while (first > 0 && buckets[first - 1]!.t >= end - DRAW_WINDOW_MS) first--;
  const t0 = bucketTime(buckets[n - 1]!);
  let sxx = 0;
  let sxy = 0;
  let span = 0;
  // running sums of the open segment (x in minutes before the newest bucket, y in litres)
  let k = 0,
    sx = 0,
    sy = 0,
    sxxSeg = 0,
    sxySeg = 0;
  const point = (b: Bucket) => {
    const x = (bucketTime(b) - t0) / 60_000;
    const y = bucketMean(b);
    k++;
    sx += x;
    sy += y;
    sxxSeg += x * x;
    sxySeg += x * y;
  };
  const close = () => {
    if (k >= 2) {
      sxx += sxxSeg - (sx * sx) / k;
      sxy += sxySeg - (sx * sy) / k;
    }
    k = 0;
    sx = 0;
    sy = 0;
    sxxSeg = 0;
    sxySeg = 0;
  };
  for (let i = first; i < n - 1; i++) {
    const a = buckets[i]!;
    const b = buckets[i + 1]!;
    const dt = bucketTime(b) - bucketTime(a);
    let keep = dt > 0 && dt <= DRAW_MAX_GAP_MS;
    if (keep) {
      // slope from the neighbours around the step (i−2 … i+3), clamped to what exists
      const lo = buckets[Math.max(0, i - 2)]!;
      const hi = buckets[Math.min(n - 1, i + 3)]!;
      const dtn = bucketTime(hi) - bucketTime(lo);
      keep = dtn > 0 && ((bucketLevel(hi) - bucketLevel(lo)) / dtn) * 60_000 <= REFILL_MM_PER_MIN;
    }
    if (!keep) {
      close();
      continue;
    }
    if (k === 0) point(a);
    point(b);
    span += dt;
  }
  close();
  if (span < DRAW_MIN_SPAN_MS || !(sxx > 0)) return null;
  // slope in litres per minute; outflow is its negative
  return Math.max(0, (-sxy / sxx) * 60);
}

// ---- weather --------------------------------------------------------------------------

export const TENDENCY_WINDOW_MS = 3 * 3_600_000;
export const TENDENCY_MIN_SPAN_MS = 3_600_000;

/**
 * Pressure change over the last 3 h (hPa, negative = falling), the meteorological "3-hour
 * pressure tendency" that storm rules compare with 3.6 and 6 hPa. With 1–3 h of history the
 * change so far is scaled to 3 h (a linear projection, so a storm front is seen within the
 * first hour after start); below 1 h it is null.
 */
export function pressureTendency3h(buckets: readonly Bucket[]): number | null {
  const n = buckets.length;
  if (n < 2) return null;
  const newest = buckets[n - 1]!;
  const target = newest.t - TENDENCY_WINDOW_MS;
  let i = 0;
  while (i < n - 1 && buckets[i]!.t < target) i++;
  const old = buckets[i]!;
  const span = bucketTime(newest) - bucketTime(old);
  if (span < TENDENCY_MIN_SPAN_MS) return null;
  return ((bucketMean(newest) - bucketMean(old)) * TENDENCY_WINDOW_MS) / span;
}

/** Highest single reading in the buckets from `since` on (e.g. the gust of the last 10 min). */
export function maxSince(buckets: readonly Bucket[], since: number): number | null {
  let m: number | null = null;
  for (let i = buckets.length - 1; i >= 0 && buckets[i]!.t >= since; i--) {
    const x = buckets[i]!.max;
    if (m === null || x > m) m = x;
  }
  return m;
}
