// How figures and times read for people: one number format and one time format, shared by the
// alert rules, the assembly prompts and every other text a villager reads.

// one formatter per precision: toLocaleString builds a new one each call, which is slow on the hot path
const formatters = new Map<number, Intl.NumberFormat>();
export const fmt = (n: number, digits = 0): string => {
  let f = formatters.get(digits);
  if (!f) formatters.set(digits, (f = new Intl.NumberFormat('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 })));
  return f.format(n);
};

/** "26 Nov 03:27 UTC": times villagers read, always in UTC so every channel agrees. */
export function shortTime(iso: string | number): string {
  const d = new Date(iso);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${d.getUTCDate()} ${mon} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}
