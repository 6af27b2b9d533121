// Each default rule on a fake clock: fires after its hold, holds, resolves after calm, and a value
// wobbling on a threshold raises one alert, not a stream.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { leveled } from '../../../services/alerts/rules.ts';
import { RULE_DEFAULTS, ruleParams } from '../../../config/rules.ts';
import { harness, HOUR, MIN } from './harness.ts';

const noDays = { water_low: { watch_days_minimum: 0, warning_days_minimum: 0, critical_days_minimum: 0 } };

describe('leveled (hysteresis)', () => {
  it('keeps a held level until the value is back past the threshold by the hysteresis', () => {
    const levels: ['watch', number][] = [['watch', 40]];
    expect(leveled(39, levels, 'below', 3, null)).toBe('watch');
    expect(leveled(41, levels, 'below', 3, null)).toBe(null);
    expect(leveled(42, levels, 'below', 3, 'watch')).toBe('watch');
    expect(leveled(43.5, levels, 'below', 3, 'watch')).toBe(null);
  });
});

describe('water_low', () => {
  it('alerts() shows the latest figures while the severity holds, and a list read earlier stays as it was', () => {
    const h = harness({ rules: noDays });
    h.step(MIN, (w) => {
      w.liters = { north: 7000, school: 7000 };
    }); // 35%
    const first = h.alerting.alerts();
    expect(h.alerting.alerts()).toEqual(first);
    h.step(MIN, (w) => {
      w.liters = { north: 6000, school: 6000 };
    }); // 30%, still watch: no alert event
    const now = h.alerting.alerts();
    expect(now).toMatchObject([{ rule: 'water_low', severity: 'watch', value: 30 }]);
    expect(now[0]!.title).toMatch(/30% full/);
    expect(first).toMatchObject([{ value: 35 }]);
  });

  it('goes pending, fires after its hold, and resolves after the clear hold', () => {
    const h = harness({ rules: noDays });
    h.step(MIN, (w) => {
      w.liters = { north: 7000, school: 7000 };
    }); // 35%
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'water_low', state: 'pending', severity: 'watch' }]);
    h.run(4 * MIN, MIN);
    expect(h.alerting.alerts()[0]!.state).toBe('pending');
    h.run(2 * MIN, MIN);
    const a = h.alerting.alerts()[0]!;
    expect(a.state).toBe('firing');
    expect(a.title).toMatch(/35% full/);
    // escalates to critical below 10%
    h.run(10 * MIN, MIN, (w) => {
      w.liters = { north: 1500, school: 1500 };
    });
    expect(h.alerting.alerts()[0]!.severity).toBe('critical');
    // refilled: stays until 15 min of calm, then resolved
    const water = () => h.alerting.alerts().filter((x) => x.rule === 'water_low');
    h.run(10 * MIN, MIN, (w) => {
      w.liters = { north: 15000, school: 15000 };
    });
    expect(water()).toHaveLength(1);
    h.run(6 * MIN, MIN);
    expect(water()).toHaveLength(0);
    expect(h.alerts.filter((x) => x.rule === 'water_low').at(-1)).toMatchObject({ id: a.id, state: 'resolved' });
    expect(h.ids('water_low')).toHaveLength(1);
  });

  it('a level wobbling on the threshold for an hour raises one alert, fired once', () => {
    const h = harness({ rules: noDays });
    // 40% ± 1.5 every minute for an hour: hysteresis (3%) keeps it one held alert
    h.run(HOUR, MIN, (w, e) => {
      const pct = (e / MIN) % 2 ? 38.5 : 41.5;
      w.liters = { north: pct * 200, school: pct * 200 };
    });
    expect(h.ids('water_low')).toHaveLength(1);
    expect(h.alerts.filter((a) => a.state === 'firing')).toHaveLength(1);
    expect(h.alerts.filter((a) => a.state === 'resolved')).toHaveLength(0);
  });

  it('a wobble wider than the hysteresis still raises one alert (clear hold and resume)', () => {
    const h = harness({ rules: noDays });
    h.run(HOUR, MIN, (w, e) => {
      const pct = Math.floor(e / (10 * MIN)) % 2 ? 30 : 50;
      w.liters = { north: pct * 200, school: pct * 200 };
    });
    expect(h.ids('water_low')).toHaveLength(1);
  });

  it('uses days left at minimum use (Sphere 15 L a person a day)', () => {
    const h = harness();
    // 180 people × 15 L = 2,700 L a day; 7,000 L is 2.6 days: warning, though 17.5% full is warning too
    h.run(10 * MIN, MIN, (w) => {
      w.liters = { north: 9000, school: 9000 };
    }); // 45%, 6.7 days
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'water_low', severity: 'watch', state: 'firing' }]);
  });
});

describe('tank_drop', () => {
  /** a day of normal use on the north tank: night refill, morning and evening peaks */
  const normal = (hourOfDay: number): number => {
    if (hourOfDay < 4) return +900; // pump refills at night
    if (hourOfDay >= 6 && hourOfDay < 8) return -600; // morning peak
    if (hourOfDay >= 18 && hourOfDay < 20) return -500;
    return -120;
  };
  const simulateDays = (h: ReturnType<typeof harness>, days: number, leak = (_t: number) => 0) => {
    h.run(days * 24 * HOUR, 5 * MIN, (w, e) => {
      const hod = ((h.clock.now() - Date.parse('2026-11-20T00:00:00Z')) / HOUR) % 24;
      const rate = normal(hod) - leak(e);
      w.liters.north = Math.min(20000, Math.max(0, w.liters.north! + (rate * 5) / 60 + ((e / MIN) % 3) - 1));
    });
  };

  it('a morning peak is not a leak, on the first day and once the normal draw is learned', () => {
    const h = harness();
    simulateDays(h, 3);
    expect(h.ids('tank_drop')).toEqual([]);
  });

  it('a loss several times faster than the usual draw fires, and ends once repaired', () => {
    const h = harness();
    simulateDays(h, 2);
    // day 3, 10:00: 3,500 L an hour for 90 minutes (more than 4 × the 600 L/h morning peak)
    h.run(10 * HOUR, 5 * MIN, (w) => {
      w.liters.north = w.liters.north! - (120 * 5) / 60;
    });
    expect(h.ids('tank_drop')).toEqual([]);
    h.run(90 * MIN, 5 * MIN, (w) => {
      w.liters.north = Math.max(0, w.liters.north! - (3500 * 5) / 60);
    });
    const a = h.alerting.alerts().find((x) => x.rule === 'tank_drop');
    expect(a).toMatchObject({ subject: 'north', state: 'firing', domain: 'water' });
    expect(a!.title).toMatch(/North tank is losing water fast/);
    expect(a!.value!).toBeGreaterThan(2500);
    // repaired: it holds water again; after the clear hold (30 min) the alert resolves
    h.run(2 * HOUR, 5 * MIN);
    expect(h.alerting.alerts().find((x) => x.rule === 'tank_drop')).toBeUndefined();
    expect(h.ids('tank_drop')).toHaveLength(1);
  });

  it('a stale tank raises nothing, even when its last value would', () => {
    const h = harness();
    h.run(HOUR, 5 * MIN);
    h.world.offline.add('tank-north');
    h.run(HOUR, 5 * MIN, (w) => {
      w.liters.north = 0;
    });
    expect(h.ids('tank_drop')).toEqual([]);
    expect(h.ids('water_low')).toEqual([]);
    expect(h.ids('sensor_offline')).toEqual(['sensor_offline:tank-north:1']);
  });
});

describe('battery_low', () => {
  it('fires, escalates, holds through a wobble, and resolves', () => {
    const h = harness();
    h.run(10 * MIN, MIN, (w) => {
      w.soc = 30;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'battery_low', severity: 'watch', state: 'firing' }]);
    h.run(10 * MIN, MIN, (w) => {
      w.soc = 8;
    });
    expect(h.alerting.alerts()[0]!.severity).toBe('critical');
    h.run(HOUR, MIN, (w, e) => {
      w.soc = (e / MIN) % 2 ? 34 : 37;
    }); // wobbling around 35 %
    expect(h.alerting.alerts()).toHaveLength(1);
    h.run(20 * MIN, MIN, (w) => {
      w.soc = 60;
    });
    expect(h.alerting.alerts()).toHaveLength(0);
    expect(h.ids('battery_low')).toHaveLength(1);
  });
});

describe('power_unstable', () => {
  it('fires on voltage swings and on repeated load shedding, resolves when steady', () => {
    const h = harness();
    h.run(HOUR, MIN);
    expect(h.ids('power_unstable')).toEqual([]);
    h.run(10 * MIN, MIN, (w, e) => {
      w.voltage = (e / MIN) % 2 ? 44 : 53;
    });
    expect(h.alerting.alerts().find((a) => a.rule === 'power_unstable')).toMatchObject({ state: 'firing', severity: 'warning' });
    h.run(HOUR, MIN, (w) => {
      w.voltage = 50;
    });
    expect(h.alerting.alerts().find((a) => a.rule === 'power_unstable')).toBeUndefined();

    const h2 = harness();
    h2.run(30 * MIN, MIN, (w, e) => {
      w.load = (e / MIN) % 5 === 0 ? 400 : 2000;
    });
    const a = h2.alerting.alerts().find((x) => x.rule === 'power_unstable');
    expect(a?.detail).toMatch(/load shedding/);
  });

  it('ordinary load changes are not instability', () => {
    const h = harness();
    h.run(3 * HOUR, MIN, (w, e) => {
      w.load = 1200 + 600 * Math.sin(e / (20 * MIN));
      w.voltage = 50 + Math.sin(e / (7 * MIN));
    });
    expect(h.ids('power_unstable')).toEqual([]);
  });
});

describe('cold_above_safe', () => {
  it('watch after 15 minutes above safe, critical after 2 hours (food safety), resolves when cold again', () => {
    const h = harness();
    h.run(14 * MIN, MIN, (w) => {
      w.fridge = 7;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'cold_above_safe', state: 'pending' }]);
    h.run(2 * MIN, MIN);
    expect(h.alerting.alerts()).toMatchObject([{ state: 'firing', severity: 'watch' }]);
    h.run(HOUR + 40 * MIN, MIN);
    expect(h.alerting.alerts()[0]!.severity).toBe('watch');
    h.run(10 * MIN, MIN);
    expect(h.alerting.alerts()[0]!.severity).toBe('critical');
    h.run(15 * MIN, MIN, (w) => {
      w.fridge = 3;
    });
    expect(h.alerting.alerts()).toHaveLength(0);
  });

  it('a fridge cycling on its safe limit for an hour raises at most one alert', () => {
    const h = harness();
    h.run(HOUR, MIN, (w, e) => {
      w.fridge = (e / MIN) % 4 < 2 ? 5.2 : 4.8;
    });
    expect(h.ids('cold_above_safe').length).toBeLessThanOrEqual(1);
    expect(h.alerts.filter((a) => a.rule === 'cold_above_safe' && a.state === 'firing').length).toBeLessThanOrEqual(1);
  });

  it('a short door opening does not fire', () => {
    const h = harness();
    h.run(10 * MIN, MIN, (w) => {
      w.fridge = 8;
    });
    h.run(30 * MIN, MIN, (w) => {
      w.fridge = 3;
    });
    expect(h.alerts.filter((a) => a.state === 'firing')).toEqual([]);
  });
});

describe('sensor_offline', () => {
  it('raises one alert per device, resolves when it reports again', () => {
    const h = harness();
    h.run(10 * MIN, MIN);
    h.world.offline.add('cold-store');
    h.run(10 * MIN, MIN, (w) => {
      w.fridge = 20;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'sensor_offline', subject: 'cold-store', state: 'firing', title: 'Cold store node is not reporting' }]);
    expect(h.ids('cold_above_safe')).toEqual([]);
    h.world.offline.delete('cold-store');
    h.run(5 * MIN, MIN, (w) => {
      w.fridge = 3;
    });
    expect(h.alerting.alerts()).toEqual([]);
  });

  it('sensors never heard from count only after the startup grace', () => {
    const h = harness();
    h.step(MIN);
    expect(h.alerting.alerts()).toEqual([]);
  });
});

describe('storm', () => {
  it('watch on a quick pressure fall, warning on storm gusts, resolves after 3 calm hours', () => {
    const h = harness();
    h.run(5 * MIN, MIN, (w) => {
      w.tendency = -4;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'storm', severity: 'watch', state: 'firing', domain: 'weather' }]);
    expect(h.alerting.alerts()[0]!.title).toMatch(/^Storm watch: pressure fell 4 hPa in 3 hours/);
    h.run(5 * MIN, MIN, (w) => {
      w.gust = 26;
    });
    expect(h.alerting.alerts()[0]!.severity).toBe('warning');
    // gusts come and go: a lull between gusts keeps the warning
    h.run(HOUR, MIN, (w, e) => {
      w.gust = (e / MIN) % 10 === 0 ? 25 : 12;
    });
    expect(h.alerting.alerts()[0]!.severity).toBe('warning');
    h.run(2 * HOUR, MIN, (w) => {
      w.gust = 5;
      w.tendency = 1;
    });
    expect(h.alerting.alerts()).toHaveLength(1);
    h.run(2 * HOUR, MIN);
    expect(h.alerting.alerts()).toHaveLength(0);
    expect(h.ids('storm')).toHaveLength(1);
  });

  it('gale gusts alone raise a watch', () => {
    const h = harness();
    h.run(3 * MIN, MIN, (w) => {
      w.gust = 18;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'storm', severity: 'watch' }]);
  });
});

describe('config overrides', () => {
  it('overrides thresholds and hold times per rule', () => {
    const h = harness({ rules: { battery_low: { watch_percent: 60, hold_s: 0 } } });
    h.step(MIN, (w) => {
      w.soc = 55;
    });
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'battery_low', state: 'firing' }]);
    expect(ruleParams({}).battery_low.watch_percent).toBe(RULE_DEFAULTS.battery_low.watch_percent);
  });

  it('an unknown rule or key is a config error with its path', () => {
    const base = { version: 1, village: { id: 'a', name: 'A', population: 10 } };
    expect(() => parseConfig({ ...base, alerts: { rules: { flood: { x: 1 } } } })).toThrow(/alerts\.rules\.flood: unknown rule/);
    expect(() => parseConfig({ ...base, alerts: { rules: { storm: { hold: 1 } } } })).toThrow(/alerts\.rules\.storm\.hold: unknown key/);
    expect(() => parseConfig({ ...base, alerts: { rules: { storm: { enabled: 1 } } } })).toThrow(/expected a boolean/);
  });

  it('a disabled rule raises nothing', () => {
    const h = harness({ rules: { storm: { enabled: false } } });
    h.run(10 * MIN, MIN, (w) => {
      w.gust = 30;
    });
    expect(h.alerting.alerts()).toEqual([]);
  });
});
