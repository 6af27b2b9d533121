// Which readings the status loop judges at once (services/alerts/crossing.ts), and the time
// caches the rules read local hours and times through (core/format.ts): the caches must give
// what Intl gives, across summer time and in zones with odd offsets.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { ruleParams } from '../../../config/rules.ts';
import { isoTime, localHour, localParts, shortTime } from '../../../core/format.ts';
import type { Reading } from '../../../core/types.ts';
import { ThresholdCrossings } from '../../../services/alerts/crossing.ts';

const config = parseConfig({
  version: 1,
  village: { id: 'crossvale', name: 'Crossvale', population: 200 },
  devices: [{ id: 'dev', secret: 'a-secret-long-enough' }],
  sensors: [
    { id: 'fridge', device: 'dev', metric: 't', kind: 'cold_temp', cold: { safe_max_c: 5 } },
    { id: 'soc', device: 'dev', metric: 'soc', kind: 'battery_soc', battery: { capacity_kwh: 10, usable_fraction: 0.8 } },
    { id: 'gust', device: 'dev', metric: 'g', kind: 'wind_gust' },
    { id: 'north', device: 'dev', metric: 'd', kind: 'tank_level', tank: { shape: 'box', length_mm: 2000, width_mm: 2000, height_mm: 1500 } },
  ],
});

const at = (sensor: string, value: number): Reading => ({ sensor, device: 'dev', kind: 'cold_temp', raw: value, value, ts: 0, received: 0, source: 'mqtt' });

describe('threshold crossings', () => {
  it('marks a reading that carries a value across its rule threshold, and no other', () => {
    const c = new ThresholdCrossings(config, ruleParams(config.alerts.rules));
    // the first reading crosses nothing: nothing to cross from
    expect(c.crosses(at('fridge', 9))).toBe(false);
    expect(c.crosses(at('fridge', 9.5))).toBe(false);
    expect(c.crosses(at('fridge', 3))).toBe(true);
    expect(c.crosses(at('fridge', 3.2))).toBe(false);
    // over the safe temperature less its hysteresis (4.5 °C): the rule may clear or hold there
    expect(c.crosses(at('fridge', 4.8))).toBe(true);
    expect(c.crosses(at('fridge', 5.1))).toBe(true);
    expect(c.crosses(at('soc', 50))).toBe(false);
    expect(c.crosses(at('soc', 30))).toBe(true);
    expect(c.crosses(at('gust', 5))).toBe(false);
    expect(c.crosses(at('gust', 20))).toBe(true);
    // tanks are judged on the village's totals and over time: the throttle does for them
    expect(c.crosses(at('north', 4000))).toBe(false);
    expect(c.crosses(at('north', 10))).toBe(false);
    expect(c.crosses(at('unknown', 10))).toBe(false);
  });
});

describe('time caches', () => {
  it('give the local hour and parts Intl gives, across summer time and in zones with odd offsets', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Asia/Kolkata'];
    // 2026-03-29 is the EU change to summer time; every 7 minutes across two days, twice
    const start = Date.UTC(2026, 2, 28, 0, 0);
    for (const zone of zones) {
      const f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: 'numeric', minute: 'numeric', day: 'numeric', hourCycle: 'h23' });
      for (let round = 0; round < 2; round++) {
        for (let t = start; t < start + 2 * 86_400_000; t += 7 * 60_000 + 13_000) {
          const parts = Object.fromEntries(f.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
          expect(localHour(t, zone)).toBe(Number(parts.hour));
          expect(localParts(new Date(t).toISOString(), zone).minute).toBe(Number(parts.minute));
          expect(localParts(t, zone).day).toBe(Number(parts.day));
        }
      }
    }
    expect(shortTime(Date.UTC(2026, 2, 29, 0, 30), 'Europe/Berlin')).toBe('29 Mar 01:30 CET');
    expect(shortTime(Date.UTC(2026, 2, 29, 1, 30), 'Europe/Berlin')).toBe('29 Mar 03:30 CEST');
  });

  it('writes ISO times as Date does, the same string again for the same instant', () => {
    for (const t of [0, 1_764_444_768_123, Date.UTC(2026, 10, 29, 19, 32, 48, 7)]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
