// tank_drop and night_flow on villages of different sizes and uses (water-village.ts: peaks at
// breakfast and in the evening, each neighbourhood a little earlier or later, pumps, a bucket
// filled now and then, sensor noise of tens of litres), on the alert-book harness's fake clock.
// Ordinary days raise nothing; a tank losing ten times its use is named on the first day; a
// failed valve of 18 L/h is found in the quiet hours after two nights.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import type { Alert } from '../../../core/types.ts';
import { checkAlert } from '../../../services/assembly/language.ts';
import { tempDir } from '../../helpers/net.ts';
import { harness, MIN } from './harness.ts';
import { DAY, HOUR, WaterVillage, type WaterVillageOptions } from './water-village.ts';

type Village = Pick<WaterVillageOptions, 'population' | 'lpd' | 'tanks'>;
const name = (v: Village) => `${v.population} people at ${v.lpd} L, ${v.tanks} tank${v.tanks > 1 ? 's' : ''}`;

/** 100 or 300 people, 15 or 80 L a person a day, 1 to 4 tanks */
const VILLAGES: Village[] = [
  { population: 100, lpd: 15, tanks: 1 },
  { population: 100, lpd: 15, tanks: 2 },
  { population: 100, lpd: 80, tanks: 2 },
  { population: 100, lpd: 80, tanks: 4 },
  { population: 300, lpd: 15, tanks: 2 },
  { population: 300, lpd: 15, tanks: 3 },
  { population: 300, lpd: 80, tanks: 1 },
  { population: 300, lpd: 80, tanks: 4 },
];
const SEVERAL = VILLAGES.filter((v) => v.tanks > 1);

/** the harness with a village's water: start at local midnight, readings every `every` */
function village(o: WaterVillageOptions) {
  const water = new WaterVillage(o);
  const h = harness(undefined, { village: water.village });
  const T0 = h.clock.now();
  return { water, h, T0, at: (day: number, hour: number) => T0 + day * DAY + hour * HOUR };
}
const raised = (alerts: Alert[], rule: string) => [...new Set(alerts.filter((a) => a.rule === rule && a.state === 'firing').map((a) => a.subject))];

describe('ordinary days raise nothing', () => {
  it.each(VILLAGES.map((v) => [name(v), v] as const))(
    '%s: morning peaks, nightly refills, a week',
    (_, v) => {
      const { water, h } = village({ ...v, pump: 'night', seed: 11 });
      water.drive(h, 7 * DAY, 2 * MIN);
      expect(raised(h.alerts, 'tank_drop')).toEqual([]);
      expect(raised(h.alerts, 'night_flow')).toEqual([]);
    },
    120_000,
  );

  it.each(VILLAGES.map((v) => [name(v), v] as const))(
    '%s: pumps switched by the level, at any hour',
    (_, v) => {
      const { water, h } = village({ ...v, pump: 'float', seed: 12 });
      water.drive(h, 4 * DAY, 2 * MIN);
      expect(raised(h.alerts, 'tank_drop')).toEqual([]);
      expect(raised(h.alerts, 'night_flow')).toEqual([]);
    },
    120_000,
  );
});

describe('tank_drop: a tank losing water fast', () => {
  it("the issue's village: 100 people at 20 L, twin tanks, one losing 600 L an hour for three hours on the first day", () => {
    const { water, h, at } = village({ population: 100, lpd: 20, tanks: 2, capacities: [10_000, 10_000], pump: 'night', seed: 3 });
    water.leak = (i, t) => (i === 0 && t >= at(0, 10) && t < at(0, 13) ? 600 : 0);
    water.drive(h, 10.5 * HOUR, 2 * MIN);
    const a = h.alerting.alerts().find((x) => x.rule === 'tank_drop');
    expect(a).toMatchObject({ subject: 't0', state: 'firing', domain: 'water' });
    expect(a!.title).toMatch(/^North tank is losing water fast: about \d+ L an hour$/);
    expect(a!.detail).toMatch(/times what it would draw now at the rate the village's other tanks are drawing/);
    expect(checkAlert(a!)).toEqual([]);
    // repaired at 13:00: resolved after the window and the clear hold
    water.drive(h, 5 * HOUR, 2 * MIN);
    expect(h.alerting.alerts().filter((x) => x.rule === 'tank_drop')).toEqual([]);
    expect(h.ids('tank_drop')).toEqual(['tank_drop:t0:1']);
  }, 60_000);

  it.each(SEVERAL.flatMap((v) => [2, 10, 18].map((hour) => [name(v), hour, v] as const)))(
    '%s: ten times its use from %i:00 on the first day, the other tanks drawing as usual',
    (_, hour, v) => {
      const { water, h, at } = village({ ...v, pump: 'night', seed: 5 });
      const leak = Math.max(600, 10 * water.meanLph(0));
      water.leak = (i, t) => (i === 0 && t >= at(0, hour) && t < at(0, hour + 3) ? leak : 0);
      water.drive(h, (hour + 6) * HOUR, 2 * MIN);
      const first = h.alerts.find((a) => a.rule === 'tank_drop' && a.state === 'firing');
      expect(first).toMatchObject({ subject: 't0' });
      expect(Date.parse(first!.fired_at!) - at(0, hour)).toBeLessThan(75 * MIN);
      expect(raised(h.alerts, 'tank_drop')).toEqual(['t0']);
    },
    60_000,
  );

  it.each(
    [
      { population: 100, lpd: 15, tanks: 1 },
      { population: 300, lpd: 80, tanks: 1 },
    ].flatMap((v) => [3, 10, 14].map((hour) => [name(v), hour, v] as const)),
  )(
    '%s: a burst from %i:00 on day 3, against its own history at that hour',
    (_, hour, v) => {
      const { water, h, at } = village({ ...v, pump: 'night', seed: 6 });
      const leak = Math.max(600, 10 * water.meanLph(0));
      water.leak = (_, t) => (t >= at(2, hour) && t < at(2, hour + 3) ? leak : 0);
      water.drive(h, 2 * DAY + (hour + 4) * HOUR, 2 * MIN);
      const fired = h.alerts.filter((a) => a.rule === 'tank_drop' && a.state === 'firing');
      expect(fired.length).toBeGreaterThan(0);
      expect(Date.parse(fired[0]!.fired_at!)).toBeGreaterThanOrEqual(at(2, hour));
      expect(Date.parse(fired[0]!.fired_at!) - at(2, hour)).toBeLessThan(75 * MIN);
    },
    60_000,
  );
});

describe('night_flow: minimum night flow', () => {
  /** villages whose nights are quiet: little legitimate draw in the small hours */
  const QUIET: Village[] = [
    { population: 100, lpd: 15, tanks: 1 },
    { population: 100, lpd: 15, tanks: 2 },
    { population: 100, lpd: 80, tanks: 2 },
    { population: 300, lpd: 15, tanks: 3 },
  ];

  it.each(QUIET.map((v) => [name(v), v] as const))(
    '%s: a failed valve of 18 L/h from day 4 is named after two nights',
    (_, v) => {
      const { water, h, at } = village({ ...v, pump: 'night', pumpHours: [23, 0.5], noise: 20, seed: 1 });
      water.leak = (i, t) => (i === 0 && t >= at(3, 12) ? 18 : 0);
      // the leak's first night (day 3 to 4, 23:00–04:00): one night is not enough
      water.drive(h, 4 * DAY + 6 * HOUR, MIN);
      expect(raised(h.alerts, 'night_flow')).toEqual([]);
      // by day 4 the pump's nightly refill has hidden it by day, and tank_drop never saw it
      water.drive(h, DAY, MIN);
      const a = h.alerting.alerts().find((x) => x.rule === 'night_flow');
      expect(a).toMatchObject({ subject: 't0', severity: 'watch', state: 'firing', domain: 'water' });
      expect(a!.title).toMatch(/^North tank may have a slow leak: about \d+ L an hour more at night than before$/);
      expect(a!.value!).toBeGreaterThan(10);
      expect(a!.value!).toBeLessThan(30);
      expect(a!.detail).toMatch(/In the quiet hours \(23:00–04:00 village time\)/);
      expect(checkAlert(a!)).toEqual([]);
      expect(raised(h.alerts, 'night_flow')).toEqual(['t0']);
      expect(raised(h.alerts, 'tank_drop')).toEqual([]);
    },
    120_000,
  );

  it('becomes a warning after four nights, and clears the morning after it is repaired', () => {
    const { water, h, at } = village({ population: 100, lpd: 15, tanks: 2, pump: 'night', pumpHours: [23, 0.5], noise: 20, seed: 1 });
    water.leak = (i, t) => (i === 0 && t >= at(3, 12) && t < at(7, 12) ? 18 : 0);
    water.drive(h, 7 * DAY + 6 * HOUR, MIN);
    expect(h.alerting.alerts().find((x) => x.rule === 'night_flow')).toMatchObject({ subject: 't0', severity: 'warning' });
    water.drive(h, DAY, MIN);
    expect(h.alerting.alerts().filter((x) => x.rule === 'night_flow')).toEqual([]);
    expect(h.ids('night_flow')).toEqual(['night_flow:t0:1']);
  }, 120_000);

  it('a pump refill in the quiet hours neither hides the valve nor raises anything by itself', () => {
    const top = { from: 2, to: 2.25, lph: 1200 };
    const calm = village({ population: 100, lpd: 15, tanks: 2, pump: 'night', pumpHours: [23, 0.5], topUp: top, noise: 20, seed: 2 });
    calm.water.drive(calm.h, 7 * DAY, MIN);
    expect(raised(calm.h.alerts, 'night_flow')).toEqual([]);
    const { water, h, at } = village({ population: 100, lpd: 15, tanks: 2, pump: 'night', pumpHours: [23, 0.5], topUp: top, noise: 20, seed: 2 });
    water.leak = (i, t) => (i === 0 && t >= at(3, 12) ? 25 : 0);
    water.drive(h, 7 * DAY, MIN);
    expect(raised(h.alerts, 'night_flow')).toEqual(['t0']);
  }, 120_000);

  it("the quiet hours are the village's own (village.timezone)", () => {
    // Lima is UTC−5: its 23:00–04:00 is 04:00–09:00 UTC, when a UTC reading would see breakfast
    const { water, h, at } = village({ population: 100, lpd: 15, tanks: 2, pump: 'night', pumpHours: [23, 0.5], noise: 20, seed: 1, timezone: 'America/Lima' });
    water.leak = (i, t) => (i === 0 && t >= at(3, 12) ? 18 : 0);
    water.drive(h, 6 * DAY, MIN);
    expect(raised(h.alerts, 'night_flow')).toEqual(['t0']);
    const nights = (h.book as unknown as { mem: { tanks: Record<string, { nights: { night: string }[] }> } }).mem.tanks.t0!.nights;
    expect(nights[0]!.night).toBe('2026-11-19');
  }, 120_000);

  it('what it learned survives a restart', () => {
    const tmp = tempDir();
    try {
      const water = new WaterVillage({ population: 100, lpd: 15, tanks: 2, pump: 'night', pumpHours: [23, 0.5], noise: 20, seed: 1 });
      const h = harness(undefined, { village: water.village, dir: tmp.dir });
      const T0 = h.clock.now();
      water.leak = (i, t) => (i === 0 && t >= T0 + 3 * DAY + 12 * HOUR ? 18 : 0);
      water.drive(h, 3 * DAY + 12 * HOUR, MIN);
      const h2 = h.restart();
      water.drive(h2, 2 * DAY + 6 * HOUR, MIN);
      expect(raised(h2.alerts, 'night_flow')).toEqual(['t0']);
    } finally {
      tmp.remove();
    }
  }, 120_000);

  it('a big tank with much legitimate night use needs a bigger rise (a quarter of its usual night draw)', () => {
    const v = { population: 300, lpd: 80, tanks: 1, pump: 'night' as const, pumpHours: [23, 0.5] as [number, number], noise: 20, seed: 1 };
    const small = village(v);
    small.water.leak = (_, t) => (t >= small.at(3, 12) ? 18 : 0);
    small.water.drive(small.h, 7 * DAY, MIN);
    expect(raised(small.h.alerts, 'night_flow')).toEqual([]);
    const big = village(v);
    big.water.leak = (_, t) => (t >= big.at(3, 12) ? 60 : 0);
    big.water.drive(big.h, 7 * DAY, MIN);
    expect(raised(big.h.alerts, 'night_flow')).toEqual(['t0']);
  }, 120_000);
});

describe('config', () => {
  it('quiet hours are whole hours of the day, checked with their path', () => {
    const base = { version: 1, village: { id: 'a', name: 'A', population: 10 } };
    expect(() => parseConfig({ ...base, alerts: { rules: { night_flow: { quiet_from_hour: 24 } } } })).toThrow(
      /alerts\.rules\.night_flow\.quiet_from_hour: expected an hour of the day, 0–23/,
    );
    expect(() => parseConfig({ ...base, alerts: { rules: { night_flow: { quiet_to_hour: 2.5 } } } })).toThrow(/quiet_to_hour: expected an hour of the day/);
    expect(parseConfig({ ...base, alerts: { rules: { night_flow: { quiet_from_hour: 0, quiet_to_hour: 5 } } } }).alerts.rules).toEqual({
      night_flow: { quiet_from_hour: 0, quiet_to_hour: 5 },
    });
  });
});
