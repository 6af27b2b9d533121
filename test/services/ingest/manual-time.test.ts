// A reading entered by hand is stamped once: the time shown for who entered it and the reading's
// own time are the same instant, so the page marks it as read by hand. Found by a page test that
// failed under load: two reads of a real clock a millisecond apart made the village show the
// dipstick's value as the device's.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { getJson, SCHOOL_DIPSTICK_TANK, startTestVillage } from '../../helpers/village.ts';

// a clock that moves on at every read, as a real one can between two reads
let t = Date.parse('2026-11-30T07:00:00Z');
const clock = { now: () => t++ };

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  const config = parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180, timezone: 'UTC' },
    devices: [],
    sensors: [SCHOOL_DIPSTICK_TANK],
  });
  village = await startTestVillage({ config, clock });
});
afterAll(() => village?.cleanup());

it('shows a dipstick reading as read by hand, at the time it was taken, on a clock that ticks between reads', async () => {
  const res = await fetch(`${village.webUrl}/api/readings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${village.token}` },
    body: JSON.stringify({ sensor: 'school', value: 750, by: 'Ana' }),
  });
  expect(res.status).toBe(201);
  const entered = (await res.json()) as { at: string };
  const { sensors } = await getJson<{ sensors: { id: string; source: string; last_seen: string; last_manual: { at: string } }[] }>(
    `${village.webUrl}/api/sensors`,
  );
  const school = sensors.find((s) => s.id === 'school')!;
  expect(school.source).toBe('manual');
  expect(school.last_manual.at).toBe(school.last_seen);
  expect(entered.at).toBe(school.last_seen);
});
