// A rule's samples, kept in time order: finding a window of them, and keeping what a rule worked
// out from them beside them. The rules ask for a window at every judgement (several a second), so
// its ends are found by bisection, not by a walk, and a fit is made again only when the samples
// it came from changed.
import type { Sample } from './rule-types.ts';

/** The index of the first sample at or after `t` (the length when there is none). */
export const firstAtOrAfter = (s: readonly Sample[], t: number): number => bisect(s, t, false);

/** The index of the first sample after `t` (the length when there is none). */
export const firstAfter = (s: readonly Sample[], t: number): number => bisect(s, t, true);

function bisect(s: readonly Sample[], t: number, after: boolean): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = s[mid]!.t;
    if (at < t || (after && at === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Keep `value` on `on` under `key`, not enumerable: the rule memory is written to disk and
 * compared as JSON, and neither must see what was only worked out from it. Returns the value.
 */
export function keepBeside<T>(on: object, key: symbol, value: T): T {
  Object.defineProperty(on, key, { value, writable: true, configurable: true, enumerable: false });
  return value;
}
