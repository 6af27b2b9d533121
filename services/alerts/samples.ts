// Searching a rule's samples, which are kept in time order: the rules ask for a window of them
// at every judgement (several a second), so they find its ends by bisection, not by a walk.
import type { Sample } from './rule-types.ts';

/** The index of the first sample at or after `t` (the length when there is none). */
export function firstAtOrAfter(s: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the first sample after `t` (the length when there is none). */
export function firstAfter(s: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
