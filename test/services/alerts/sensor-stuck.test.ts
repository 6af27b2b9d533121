// sensor_stuck on the hand-driven world: a tank sensor that keeps one value while the village's
// other tank shows the day's use is called stuck (domain `sensors`), its value is left out of the
// water rules, and its catch-up to the true level raises no leak, no low water and no prompt. A
// tank that legitimately stays flat (held at its top by a float valve, or unused at those hours)
// is not stuck.
import { describe, expect, it } from 'vitest';
import type { RuleMemory } from '../../../services/alerts/rule-types.ts';
import { checkAlert } from '../../../services/assembly/language.ts';
import { harness, type Harness, HOUR, MIN } from './harness.ts';
import { T0 } from './world.ts';

const STEP = 10 * MIN;
/** hour of the day (UTC, the world's zone) */
const hod = (h: Harness) => ((((h.clock.now() - T0) / HOUR) % 24) + 24) % 24;
/** a few litres of sensor noise, deterministic */
const noise = (h: Harness, k: number) => (((((h.clock.now() / STEP) * 7919 + k * 104729) % 11) + 11) % 11) - 5;
/** a day's use of one tank (L/h): mornings and evenings, a trickle at night */
const use = (hour: number) => (hour >= 6 && hour < 20 ? 300 : 20);

/** the true litres in each tank of a harness's world, kept across calls: a stuck sensor does not change them */
const truths = new WeakMap<Harness, { north: number; school: number }>();

/**
 * Both tanks draw through the day and are pumped back to 16,000 L at 03:00; `north` is what the
 * north tank's sensor shows: the true level unless the test sticks it.
 */
function village(h: Harness, hours: number, north: (truth: number, hour: number) => number | null = () => null, step = STEP) {
  let truth = truths.get(h);
  if (!truth) truths.set(h, (truth = { north: h.world.liters.north!, school: h.world.liters.school! }));
  h.run(hours * HOUR, step, (w) => {
    const hour = hod(h);
    for (const id of ['north', 'school'] as const) truth![id] = hour >= 3 && hour < 3 + step / HOUR ? 16_000 : truth![id] - (use(hour) * step) / HOUR;
    w.liters.school = truth!.school + noise(h, 1);
    w.liters.north = north(truth!.north, hour) ?? truth!.north + noise(h, 2);
  });
  return truth;
}

const fired = (h: Harness, rule: string) => h.alerts.filter((a) => a.rule === rule && a.state === 'firing');

describe('sensor_stuck', () => {
  it('a tank sensor stuck from 08:00 while the other tank draws is called stuck within 4 h; the catch-up raises no leak, low water or prompt', () => {
    const h = harness();
    village(h, 24); // day 0: ordinary
    expect(h.alerts).toEqual([]);
    // day 1: the north sensor sends one value from 08:00 until 18:30, then the true (lower) level
    let stuck: number | null = null;
    village(h, 8);
    village(h, 10.5, () => (stuck ??= h.world.liters.north!));
    const a = fired(h, 'sensor_stuck');
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ subject: 'north', domain: 'sensors', severity: 'watch' });
    expect(Date.parse(a[0]!.fired_at!) - (T0 + 32 * HOUR)).toBeLessThanOrEqual(4 * HOUR);
    expect(a[0]!.title).toMatch(/^North tank sensor may be stuck: the same reading since 21 Nov 08:00 UTC$/);
    expect(a[0]!.detail).toMatch(/School tank \(about [\d,]+ L\) fell/);
    expect(a[0]!.detail).toMatch(/left out of the water alerts/);
    // it raised nothing about the school tank, whose sensor moves
    expect(h.ids('sensor_stuck')).toEqual(['sensor_stuck:north:1']);
    // the catch-up: some 3,000 L lower in one reading; then an ordinary evening and night
    const shown = h.world.liters.north!;
    village(h, 10 / 60);
    expect(shown - h.world.liters.north!).toBeGreaterThan(3000);
    village(h, 14);
    expect(h.ids('tank_drop')).toEqual([]);
    expect(h.ids('night_flow')).toEqual([]);
    expect(h.ids('water_low')).toEqual([]);
    expect(h.prompts).toEqual([]);
    // it moves again: the alert resolves
    expect(h.alerts.filter((x) => x.rule === 'sensor_stuck').at(-1)).toMatchObject({ state: 'resolved' });
    for (const x of h.alerts) expect(checkAlert(x)).toEqual([]);
  });

  it('a tank held at its top (a float valve, an overflow) stays flat while the other tank draws: not stuck', () => {
    const h = harness();
    village(h, 24);
    // day 1: a spring keeps the north tank at the float all day, exactly 16,000 L
    village(h, 24, (_truth, hour) => (hour >= 3 ? 16_000 : null));
    expect(h.ids('sensor_stuck')).toEqual([]);
  });

  it('a tank nobody draws from at these hours on other days is not stuck when it stays flat then', () => {
    const h = harness();
    // the north tank serves the school: drawn 06:00–09:00 only, otherwise flat to the litre
    let level = 16_000;
    const school = (_truth: number, hour: number) => {
      if (hour >= 3 && hour < 3 + STEP / HOUR) level = 16_000;
      else if (hour >= 6 && hour < 9) level -= (400 * STEP) / HOUR;
      return level;
    };
    village(h, 48, school);
    expect(h.ids('sensor_stuck')).toEqual([]);
  });

  it('a cold store probe that stops moving for 4 hours is called stuck, and resolves once it moves', () => {
    const h = harness();
    // the fridge cycles with its compressor
    h.run(24 * HOUR, STEP, (w, e) => {
      w.fridge = 3 + Math.round(10 * Math.sin(e / (40 * MIN))) / 10;
    });
    h.run(3.5 * HOUR, STEP, (w) => {
      w.fridge = 3.4;
    });
    expect(h.ids('sensor_stuck')).toEqual([]);
    h.run(HOUR, STEP);
    const a = fired(h, 'sensor_stuck');
    expect(a).toMatchObject([{ subject: 'fridge', domain: 'sensors', severity: 'watch' }]);
    expect(a[0]!.title).toMatch(/^Kitchen fridge sensor may be stuck/);
    expect(a[0]!.detail).toMatch(/3\.4 °C .*left out of the cold alerts/);
    h.run(HOUR, STEP, (w, e) => {
      w.fridge = 3 + e / HOUR;
    });
    expect(h.alerting.alerts().filter((x) => x.rule === 'sensor_stuck')).toEqual([]);
    for (const x of h.alerts) expect(checkAlert(x)).toEqual([]);
  });

  it('tanks read every few seconds are remembered a minute at a time: the stored memory stays small, and a stuck sensor is still found', () => {
    const h = harness({ rules: { sensor_stuck: { tank_s: 3600 } } });
    village(h, 24);
    village(h, 8);
    // from 08:00 both sensors report every 5 s; the north one holds one value for 1.5 h
    let v: number | null = null;
    village(h, 1.5, () => (v ??= h.world.liters.north!), 5_000);
    expect(fired(h, 'sensor_stuck')).toHaveLength(1);
    expect(fired(h, 'sensor_stuck')[0]).toMatchObject({ subject: 'north' });
    // what the rule keeps of each tank's recent litres, as stored: one sample a minute over
    // tank_s and the hour before it (1,080 readings a tank came in over the last 1.5 h)
    h.book.stop();
    const row = h.storage.db.prepare("SELECT value FROM alert_meta WHERE key = 'memory'").get() as { value: string };
    const stuck = (JSON.parse(row.value) as RuleMemory).stuck;
    for (const id of ['north', 'school']) {
      const recent = stuck[id]!.recent;
      expect(recent.length).toBeGreaterThan(60);
      expect(recent.length).toBeLessThanOrEqual(2 * 60 + 1);
      // each minute's mean time lies in its minute, in order
      for (let i = 1; i < recent.length; i++) expect(Math.floor(recent[i]!.t / MIN)).toBeGreaterThan(Math.floor(recent[i - 1]!.t / MIN));
    }
  });

  it('keys are overridable per village, and a disabled rule neither raises nor leaves anything out', () => {
    const quick = harness({ rules: { sensor_stuck: { tank_s: 3600 } } });
    village(quick, 24);
    village(quick, 8);
    let v: number | null = null;
    village(quick, 1.5, () => (v ??= quick.world.liters.north!));
    expect(fired(quick, 'sensor_stuck')).toHaveLength(1);

    const off = harness({ rules: { sensor_stuck: { enabled: false } } });
    village(off, 24);
    village(off, 8);
    let w: number | null = null;
    village(off, 10.5, () => (w ??= off.world.liters.north!));
    expect(off.ids('sensor_stuck')).toEqual([]);
  });
});
