// The sparkline span: the shortest of 1 h, 6 h, 24 h and 7 days that holds all the history a
// sensor has, with points spaced to suit it. Pure logic on a fake clock and a fake source.
import { describe, expect, it } from 'vitest';
import { autoHistory, chooseSpan, type HistoryPoint, stepFor } from '../../../services/web/history-span.ts';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 29, 12, 0);

/** A sensor read once a minute from `sinceMs` to NOW, answering like Reserve.history. */
function source(sinceMs: number | null) {
  const asked: { hours: number; step: number }[] = [];
  return {
    asked,
    now: () => NOW,
    history(id: string, hours: number, step = 5 * 60_000): HistoryPoint[] | null {
      if (id !== 'north') return null;
      asked.push({ hours, step });
      const out = new Map<number, number>();
      if (sinceMs === null) return [];
      for (let t = Math.max(sinceMs, NOW - hours * H); t <= NOW; t += 60_000) out.set(t - (t % step), 1000 + (t - sinceMs) / 60_000);
      return [...out].map(([ts, value]) => ({ ts, value }));
    },
  };
}

describe('sparkline span', () => {
  it('is the shortest span that holds all the history', () => {
    expect(chooseSpan(null, NOW)).toBe(1);
    expect(chooseSpan(NOW - 20 * 60_000, NOW)).toBe(1);
    expect(chooseSpan(NOW - H, NOW)).toBe(1);
    expect(chooseSpan(NOW - H - 60_000, NOW)).toBe(6);
    expect(chooseSpan(NOW - 3 * H, NOW)).toBe(6);
    expect(chooseSpan(NOW - 10 * H, NOW)).toBe(24);
    expect(chooseSpan(NOW - 30 * H, NOW)).toBe(168);
    expect(chooseSpan(NOW - 400 * H, NOW)).toBe(168);
  });

  it('spaces points for a line about 300 px wide', () => {
    for (const h of [1, 6, 24, 168]) {
      const n = (h * H) / stepFor(h);
      expect(n, `${h} h`).toBeGreaterThanOrEqual(60);
      expect(n, `${h} h`).toBeLessThanOrEqual(340);
    }
  });

  it('answers 20 minutes of history as 1 h of minute points', () => {
    const r = autoHistory(source(NOW - 20 * 60_000), 'north')!;
    expect(r.hours).toBe(1);
    expect(r.step_s).toBe(60);
    expect(r.points).toHaveLength(21);
    expect(r.points[0]!.ts).toBe(NOW - 20 * 60_000);
  });

  it('answers 3 hours of history as 6 h of 5-minute points, oldest first', () => {
    const src = source(NOW - 3 * H);
    const r = autoHistory(src, 'north')!;
    expect(r.hours).toBe(6);
    expect(r.step_s).toBe(300);
    expect(r.points.length).toBe(37);
    expect(r.points[0]!.ts).toBe(NOW - 3 * H);
    expect(src.asked.at(-1)).toEqual({ hours: 6, step: 300_000 });
  });

  it('answers 3 days of history as 7 days of half-hour points', () => {
    const r = autoHistory(source(NOW - 72 * H), 'north')!;
    expect(r.hours).toBe(168);
    expect(r.step_s).toBe(1800);
    expect(r.points.length).toBe(145);
  });

  it('a sensor with no readings yet gets 1 h and no points; an unknown one null', () => {
    expect(autoHistory(source(null), 'north')).toEqual({ hours: 1, step_s: 60, points: [] });
    expect(autoHistory(source(null), 'nowhere')).toBeNull();
  });
});
