// The bisection the rules find their windows with: the same ends as a walk through the samples,
// with ties, empty lists and times outside the samples.
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../services/alerts/rule-types.ts';
import { firstAfter, firstAtOrAfter } from '../../../services/alerts/samples.ts';

const walkAtOrAfter = (s: Sample[], t: number) => {
  const i = s.findIndex((x) => x.t >= t);
  return i < 0 ? s.length : i;
};
const walkAfter = (s: Sample[], t: number) => {
  const i = s.findIndex((x) => x.t > t);
  return i < 0 ? s.length : i;
};

describe('sample windows', () => {
  it('find the same ends as a walk, for every time around the samples', () => {
    const lists: Sample[][] = [[], [{ t: 5, v: 0 }], [0, 60, 60, 120, 300, 301].map((t) => ({ t, v: t }))];
    for (const s of lists)
      for (let t = -2; t <= 305; t++) {
        expect(firstAtOrAfter(s, t)).toBe(walkAtOrAfter(s, t));
        expect(firstAfter(s, t)).toBe(walkAfter(s, t));
      }
  });
});
