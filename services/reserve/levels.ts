// Status levels per domain: the thresholds the reserve summary uses (the alert rules keep their
// own, configurable thresholds with hysteresis; these only colour the summary).
import type { Level } from '../../core/types.ts';

const RANK: Record<Level, number> = { unknown: -1, ok: 0, watch: 1, strained: 2, critical: 3 };

/** The worse of known levels; 'unknown' only when nothing is known. */
export function worst(...levels: Level[]): Level {
  let w: Level = 'unknown';
  for (const l of levels) if (RANK[l] > RANK[w]) w = l;
  return w;
}

/** Level for a value where lower is worse: below critical → critical, and so on. */
function below(x: number | null, t: { watch: number; strained: number; critical: number }): Level {
  if (x === null || !Number.isFinite(x)) return 'unknown';
  if (x < t.critical) return 'critical';
  if (x < t.strained) return 'strained';
  if (x < t.watch) return 'watch';
  return 'ok';
}

/** tank or village water, percent full */
export const WATER_PERCENT = { watch: 40, strained: 20, critical: 10 };
/** days the water lasts at the Sphere minimum (15 L/person/day by default) */
export const WATER_DAYS_MINIMUM = { watch: 3, strained: 2, critical: 1 };
/** days at the current draw: less than a day left is worth a look (leaks show here first) */
export const WATER_DAYS_CURRENT = { watch: 1, strained: 0, critical: 0 };

export const tankLevel = (percent: number | null): Level => below(percent, WATER_PERCENT);

export function waterLevel(percent: number | null, daysMinimum: number | null, daysCurrent: number | null): Level {
  return worst(
    below(percent, WATER_PERCENT),
    below(daysMinimum, WATER_DAYS_MINIMUM),
    daysCurrent === null ? 'unknown' : below(daysCurrent, WATER_DAYS_CURRENT),
  );
}

export const POWER_SOC_PERCENT = { watch: 40, strained: 25, critical: 15 };
/** hours of usable energy at the present load, solar ignored */
export const POWER_HOURS_LEFT = { watch: 12, strained: 6, critical: 2 };

export function powerLevel(soc: number | null, usableKwh: number | null, hoursLeft: number | null): Level {
  return worst(below(soc, POWER_SOC_PERCENT), below(hoursLeft, POWER_HOURS_LEFT), usableKwh !== null && usableKwh <= 0 ? 'critical' : 'unknown');
}

/**
 * Cold storage, time-weighted: perishable food above its safe temperature is watched after
 * 15 min and critical after 2 h — the food-safety "2-hour rule" (USDA FSIS / FDA Food Code:
 * perishables in the danger zone above 4–5 °C for more than 2 hours are no longer safe).
 */
export const COLD_MINUTES_ABOVE = { watch: 15, critical: 120 };

export function coldLevel(minutesAboveSafe: number): Level {
  if (minutesAboveSafe >= COLD_MINUTES_ABOVE.critical) return 'critical';
  if (minutesAboveSafe >= COLD_MINUTES_ABOVE.watch) return 'watch';
  return 'ok';
}

/**
 * Weather: 3-hour pressure fall of 3.6 hPa ("falling quickly") and 6 hPa ("very quickly", WMO
 * tendency wording) and gusts of gale (17.2 m/s, Beaufort 8), storm (24.5 m/s, Beaufort 10) and
 * hurricane force (32.7 m/s, Beaufort 12).
 */
export const WEATHER = { fall_watch: 3.6, fall_strained: 6, gale: 17.2, storm: 24.5, hurricane: 32.7 };

export function weatherLevel(tendency: number | null, gust: number | null): Level {
  const p: Level = tendency === null ? 'unknown' : tendency <= -WEATHER.fall_strained ? 'strained' : tendency <= -WEATHER.fall_watch ? 'watch' : 'ok';
  const g: Level =
    gust === null ? 'unknown' : gust >= WEATHER.hurricane ? 'critical' : gust >= WEATHER.storm ? 'strained' : gust >= WEATHER.gale ? 'watch' : 'ok';
  return worst(p, g);
}
