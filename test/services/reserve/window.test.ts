import { describe, expect, it } from 'vitest';
import { BUCKET_MS, MinuteWindow, drawLph, maxSince, pressureTendency3h } from '../../../services/reserve/window.ts';

const T = Date.UTC(2026, 10, 26, 0, 0, 0);
const MIN = 60_000;

describe('MinuteWindow', () => {
  it('buckets by reading time and clips readings stamped before the newest into the newest bucket', () => {
    const w = new MinuteWindow(10 * MIN);
    w.add(T + 10_000, 1, NaN);
    w.add(T + 70_000, 3, NaN);
    w.add(T + 20_000, 5, NaN); // older than the newest: goes into minute 1, not back into minute 0
    expect(w.buckets.map((b) => [b.t - T, b.n, b.sum])).toEqual([
      [0, 1, 1],
      [BUCKET_MS, 2, 8],
    ]);
    expect(w.newestTs).toBe(T + 70_000);
  });

  it('keeps only keepMs of buckets', () => {
    const w = new MinuteWindow(5 * MIN);
    for (let m = 0; m < 20; m++) w.add(T + m * MIN, m, NaN);
    expect(w.buckets[0]!.t).toBe(T + 14 * MIN);
    expect(w.buckets).toHaveLength(6);
  });
});

describe('rates', () => {
  const series = (minutes: number, f: (m: number) => number) => {
    const w = new MinuteWindow(4 * 3_600_000);
    for (let m = 0; m <= minutes; m++) w.add(T + m * MIN, f(m), f(m));
    return w.buckets;
  };

  it('draw: null under 10 minutes, then the slope in L/h', () => {
    expect(drawLph(series(8, (m) => 1000 - m))).toBeNull();
    expect(drawLph(series(30, (m) => 1000 - m))).toBeCloseTo(60, 6); // 1 L/min
    expect(drawLph(series(30, (m) => 1000 + 0.5 * m))).toBe(0); // slow inflow: no negative draw
  });

  it('tendency: null under 1 h; change over 3 h; gust max since a time', () => {
    expect(pressureTendency3h(series(59, (m) => 1000 - m / 60))).toBeNull();
    expect(pressureTendency3h(series(300, (m) => 1000 - m / 60))).toBeCloseTo(-3, 6);
    const b = series(20, (m) => (m === 5 ? 30 : 10));
    expect(maxSince(b, T + 4 * MIN)).toBe(30);
    expect(maxSince(b, T + 6 * MIN)).toBe(10);
    expect(maxSince(b, T + 60 * MIN)).toBeNull();
  });
});
