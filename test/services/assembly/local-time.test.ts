// Every time a person reads is in the village's zone: an exercise prompt in America/Lima (its end,
// a neighbour's old offer), its CAP description (while CAP `sent` stays ISO with its offset), and
// the words spoken on the loudspeaker.
import { describe, expect, it } from 'vitest';
import { shortTime } from '../../../core/format.ts';
import type { NeighbourOffer } from '../../../core/types.ts';
import { speechText } from '../../../services/assembly/speech.ts';
import { FakeClock } from '../alerts/world.ts';
import { harness } from '../alerts/harness.ts';

const TZ = 'America/Lima';
const T0 = Date.parse('2026-11-26T15:00:00Z');

describe('times in the village’s zone', () => {
  const h = harness(undefined, { clock: new FakeClock(T0), village: { timezone: TZ } });
  // a neighbour heard an hour ago, its news now out of date
  h.offers.push({ village: 'elmstead', offer: '2,000 L of water', heard_at: new Date(T0 - 3600_000).toISOString(), stale: true } as NeighbourOffer);
  h.step(60_000);
  const until = h.alerting.startDrill();
  const [p] = h.alerting.prompts();

  it('the prompt: the exercise’s end and a neighbour’s old offer, in Lima time', () => {
    expect(until).toBe(T0 + 60_000 + 900_000);
    expect(p!.exercise_ends_at).toBe(new Date(until!).toISOString());
    expect(shortTime(until!, TZ)).toBe('26 Nov 10:16 GMT-5');
    expect(p!.situation[0]!.text).toContain('the exercise ends by itself at 26 Nov 10:16 GMT-5');
    expect(p!.neighbours[0]!.offer).toBe('2,000 L of water (heard 26 Nov 09:00 GMT-5; may be out of date)');
    expect(JSON.stringify(p)).not.toMatch(/ UTC\b/);
  });

  it('CAP: the description in Lima time, `sent` ISO with its offset', () => {
    const xml = h.alerting.cap(p!.id);
    expect(xml).toContain('<sent>2026-11-26T15:01:00+00:00</sent>');
    expect(xml).toContain('- 26 Nov 10:01 GMT-5: Exercise: Storm warning');
    expect(xml).not.toMatch(/- 2026-11-26T/);
  });

  it('speech: when the exercise ends, and the village’s own times without a zone name', () => {
    const words = speechText(p!, TZ);
    expect(words).toContain('The exercise ends at 26 Nov 10:16.');
    expect(words).toContain('since about 26 Nov 09:31');
    expect(words).not.toMatch(/GMT|UTC/);
  });
});
