// How figures and times read for people: one number format and one time format, shared by the
// alert rules, the assembly prompts and every other text a villager reads.

// one formatter per precision: toLocaleString builds a new one each call, which is slow on the hot path
const formatters = new Map<number, Intl.NumberFormat>();
export const fmt = (n: number, digits = 0): string => {
  let f = formatters.get(digits);
  if (!f) formatters.set(digits, (f = new Intl.NumberFormat('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 })));
  return f.format(n);
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The wall-clock parts of an instant in a time zone (IANA name); one formatter per zone. */
type Parts = { year: number; month: number; day: number; hour: number; minute: number };
const partFormatters = new Map<string, Intl.DateTimeFormat>();
/**
 * Parts per zone and UTC minute: every zone's offset is a whole number of minutes, so all the
 * parts hold for the whole minute, and Intl is slow on the hot path (the rules ask per reading).
 */
const partsCache = new Map<string, Map<number, Parts>>();
const CACHE_MAX = 2048;
/** The parts are shared with later calls in the same minute: read them, do not change them. */
export function localParts(at: string | number, timeZone = 'UTC'): Parts {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  const minute = Math.floor(ms / 60_000);
  let cache = partsCache.get(timeZone);
  const hit = cache?.get(minute);
  if (hit) return hit;
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
    partFormatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const out = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
  if (!cache) partsCache.set(timeZone, (cache = new Map()));
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(minute, out);
  return out;
}

/**
 * The hour of the day (0–23) in a time zone: quiet night hours are local, not UTC. Cached per
 * quarter hour: every zone's offset is a whole number of quarter hours (Nepal's 5:45 included),
 * so the local hour holds for each whole UTC quarter hour.
 */
const hourCache = new Map<string, Map<number, number>>();
export function localHour(at: string | number, timeZone = 'UTC'): number {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  const quarter = Math.floor(ms / 900_000);
  let cache = hourCache.get(timeZone);
  const hit = cache?.get(quarter);
  if (hit !== undefined) return hit;
  const hour = localParts(ms, timeZone).hour;
  if (!cache) hourCache.set(timeZone, (cache = new Map()));
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(quarter, hour);
  return hour;
}

/**
 * An instant as an ISO 8601 UTC string ("2026-11-29T19:32:48.000Z"), cached per millisecond
 * value: the status names the same last-seen times again at every compute.
 */
const isoCache = new Map<number, string>();
export function isoTime(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (isoCache.size >= 4 * CACHE_MAX) isoCache.clear();
    isoCache.set(ms, s);
  }
  return s;
}

/** The zone's short name at an instant ("UTC", "CET", "GMT-5"), as people see it beside a time. */
const zoneNames = new Map<string, Intl.DateTimeFormat>();
const zoneNameCache = new Map<string, Map<number, string>>();
export function zoneName(at: string | number, timeZone = 'UTC'): string {
  if (timeZone === 'UTC') return 'UTC';
  // a zone changes its name (summer time) only on a whole quarter hour: one look-up per quarter
  const quarter = Math.floor((typeof at === 'number' ? at : Date.parse(at)) / 900_000);
  let cache = zoneNameCache.get(timeZone);
  const hit = cache?.get(quarter);
  if (hit !== undefined) return hit;
  let f = zoneNames.get(timeZone);
  if (!f) zoneNames.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'short' })));
  const name = f.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  if (!cache) zoneNameCache.set(timeZone, (cache = new Map()));
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(quarter, name);
  return name;
}

/** "26 Nov 03:27 UTC": a time as villagers read it, in the village's zone (UTC unless given). */
export function shortTime(iso: string | number, timeZone = 'UTC'): string {
  const d = localParts(iso, timeZone);
  return `${d.day} ${MONTHS[d.month - 1]} ${String(d.hour).padStart(2, '0')}:${String(d.minute).padStart(2, '0')} ${zoneName(iso, timeZone)}`;
}
