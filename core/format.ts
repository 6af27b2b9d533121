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
const partFormatters = new Map<string, Intl.DateTimeFormat>();
export function localParts(at: string | number, timeZone = 'UTC'): { year: number; month: number; day: number; hour: number; minute: number } {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
    partFormatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(at))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
}

/** The hour of the day (0–23) in a time zone: quiet night hours are local, not UTC. */
export function localHour(at: string | number, timeZone = 'UTC'): number {
  return localParts(at, timeZone).hour;
}

/** The zone's short name at an instant ("UTC", "CET", "GMT-5"), as people see it beside a time. */
const zoneNames = new Map<string, Intl.DateTimeFormat>();
export function zoneName(at: string | number, timeZone = 'UTC'): string {
  if (timeZone === 'UTC') return 'UTC';
  let f = zoneNames.get(timeZone);
  if (!f) zoneNames.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'short' })));
  return f.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

/** "26 Nov 03:27 UTC": a time as villagers read it, in the village's zone (UTC unless given). */
export function shortTime(iso: string | number, timeZone = 'UTC'): string {
  const d = localParts(iso, timeZone);
  return `${d.day} ${MONTHS[d.month - 1]} ${String(d.hour).padStart(2, '0')}:${String(d.minute).padStart(2, '0')} ${zoneName(iso, timeZone)}`;
}
