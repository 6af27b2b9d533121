// The power rules on the hand-driven world, with a monitor reporting every 5 minutes:
// - power_out: the village load at 0 W for minutes, where its own history says it never is,
//   is a power alert within 20 minutes (not battery_low); a glitch, a load that does go to zero
//   every night, or too little history raise nothing.
// - power_unstable: a swing has to persist over several readings; one sag as a pump starts, or
//   sensor noise, is not an unstable supply.
import { describe, expect, it } from 'vitest';
import { checkAlert, checkPrompt } from '../../../services/assembly/language.ts';
import { harness, type Harness, HOUR, MIN } from './harness.ts';
import { T0 } from './world.ts';

const STEP = 5 * MIN;
const hod = (h: Harness) => ((((h.clock.now() - T0) / HOUR) % 24) + 24) % 24;
/** a village's load over the day: 400 W at night, a morning and an evening peak, some noise */
const load = (h: Harness, e: number) => {
  const x = hod(h);
  return Math.round(400 + 900 * Math.exp(-((x - 7) ** 2) / 2) + 1600 * Math.exp(-((x - 19.5) ** 2) / 4) + 30 * Math.sin(e / (17 * MIN)));
};
/** a day of ordinary power: a full bank, voltage with a little noise */
const ordinary = (h: Harness, hours: number) =>
  h.run(hours * HOUR, STEP, (w, e) => {
    w.load = load(h, e);
    w.soc = 98;
    w.voltage = 52 + 0.05 * Math.sin(e / (7 * MIN));
  });
const fired = (h: Harness, rule: string) => h.alerts.filter((a) => a.rule === rule && a.state === 'firing');

describe('power_out', () => {
  it('the load at 0 W with the battery full is a power alert within 20 minutes; it resolves when power is back', () => {
    const h = harness();
    ordinary(h, 38); // day 0, and day 1 until 14:00
    expect(h.alerts).toEqual([]);
    const from = h.clock.now();
    h.run(HOUR, STEP, (w) => {
      w.load = 0;
    });
    const a = fired(h, 'power_out');
    expect(a).toMatchObject([{ subject: 'load', domain: 'power', severity: 'warning' }]);
    expect(Date.parse(a[0]!.fired_at!) - from).toBeLessThanOrEqual(20 * MIN);
    expect(a[0]!.title).toMatch(/^The village may have no electricity: Village load reads 0 W since/);
    expect(a[0]!.detail).toMatch(/never stayed below about [\d,]+ W/);
    expect(a[0]!.detail).toMatch(/battery bank holds 98%, so the energy is there/);
    expect(h.ids('battery_low')).toEqual([]);
    ordinary(h, 1);
    expect(h.alerting.alerts().filter((x) => x.rule === 'power_out')).toEqual([]);
    expect(h.ids('power_out')).toHaveLength(1);
    for (const x of h.alerts) expect(checkAlert(x)).toEqual([]);
  });

  it('no electricity in a storm is a crisis: the prompt names it, asks, and keeps the language rule', () => {
    const h = harness();
    ordinary(h, 38);
    h.run(30 * MIN, STEP, (w) => {
      w.load = 0;
      w.gust = 26;
    });
    expect(fired(h, 'power_out')).toHaveLength(1);
    const p = h.prompts.at(-1)!;
    expect(p.headline).toMatch(/no electricity/);
    expect(p.damaged.some((d) => /^Electricity: Village load reads 0 W since .*, so none may be reaching the village$/.test(d))).toBe(true);
    expect(p.questions.some((q) => /Which loads does the village want to keep running/.test(q))).toBe(true);
    ordinary(h, 1);
    for (const x of h.prompts) expect(checkPrompt(x)).toEqual([]);
    for (const x of h.alerts) expect(checkAlert(x)).toEqual([]);
  });

  it('one 0 W reading (a monitor glitch) raises nothing', () => {
    const h = harness();
    ordinary(h, 38);
    h.step(STEP, (w) => {
      w.load = 0;
    });
    ordinary(h, 2);
    expect(h.ids('power_out')).toEqual([]);
  });

  it('a load that goes to zero every night (a generator switched off) learns that, and raises nothing', () => {
    const h = harness();
    h.run(72 * HOUR, STEP, (w, e) => {
      const x = hod(h);
      w.load = x >= 22 || x < 6 ? 0 : load(h, e);
    });
    expect(h.ids('power_out')).toEqual([]);
  });

  it('before half a day with a night in it is learned, nothing is judged', () => {
    const h = harness();
    h.clock.advance(7 * HOUR); // tend starts at 07:00: no night seen yet
    ordinary(h, 11);
    h.run(HOUR, STEP, (w) => {
      w.load = 0;
    });
    expect(h.ids('power_out')).toEqual([]);
  });

  it('keys are overridable per village', () => {
    const h = harness({ rules: { power_out: { out_s: 1800 } } });
    ordinary(h, 38);
    h.run(25 * MIN, STEP, (w) => {
      w.load = 0;
    });
    expect(h.ids('power_out')).toEqual([]);
    h.run(10 * MIN, STEP);
    expect(fired(h, 'power_out')).toHaveLength(1);
  });
});

describe('power_unstable: a swing has to persist', () => {
  it('one voltage sag a day as the pump starts, and noise, raise nothing', () => {
    const h = harness();
    h.run(72 * HOUR, STEP, (w, e) => {
      w.load = load(h, e);
      // ±0.1 V of noise; at 06:05 each day one reading 5.5 V low
      w.voltage = 52 + 0.1 * Math.sin(e * 1.7) - (Math.abs(hod(h) - (6 + 5 / 60)) < 1e-6 ? 5.5 : 0);
    });
    expect(h.alerts.filter((a) => a.rule === 'power_unstable')).toEqual([]);
  });

  it('a voltage swinging reading after reading fires within 30 minutes, with a 5-minute monitor', () => {
    const h = harness();
    ordinary(h, 10);
    const from = h.clock.now();
    // an inverter failing: ±4.5 V of swing at every reading
    h.run(HOUR, STEP, (w, e) => {
      w.voltage = 52 + 4.5 * Math.sin(e * 2.3);
    });
    const a = fired(h, 'power_unstable');
    expect(a).toHaveLength(1);
    expect(Date.parse(a[0]!.fired_at!) - from).toBeLessThanOrEqual(30 * MIN);
    expect(a[0]!.detail).toMatch(/battery voltage swinging between/);
  });
});
