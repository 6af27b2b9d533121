import { afterEach, describe, expect, it } from 'vitest';
import { noise, rig, T0, type Rig } from './fixture.ts';

const MIN = 60_000;
let r: Rig | null = null;
afterEach(() => {
  r?.reserve.stop();
  r?.storage.close();
  r = null;
});
const status = () => r!.reserve.status({ rejected_total: 7 });
/** advance the fake clock and feed, like a device sending every `stepMs` */
function run(fromMs: number, toMs: number, stepMs: number, each: (tMs: number) => void): void {
  for (let t = fromMs; t <= toMs; t += stepMs) {
    r!.clock.set(T0 + t);
    each(t);
  }
}

describe('water', () => {
  it('totals, percent and days left at the Sphere minimum', () => {
    r = rig();
    r.feed('east', 1000); // 1000 mm in the box: 2000 L
    r.feed('north', 600); // level 1600 − 600 = 1000 mm: 3754.52 L
    const w = status().water;
    // python: 2000 + 3754.52367 = 5754.52367; capacity 4000 + 5301.43760 = 9301.43760
    expect(w.liters).toBeCloseTo(5754.5, 1);
    expect(w.capacity_liters).toBeCloseTo(9301.4, 1);
    expect(w.percent).toBeCloseTo(61.9, 1);
    // 5754.52 / (180 × 15) = 2.1313
    expect(w.days_left_minimum).toBeCloseTo(2.13, 2);
    expect(w.draw_lph).toBeNull();
    expect(w.days_left_current).toBeNull();
    expect(w.status).toBe('watch'); // < 3 days at minimum use
    const north = w.tanks.find((t) => t.id === 'north')!;
    expect(north).toMatchObject({ name: 'North tank', level_mm: 1000, stale: false, status: 'ok', last_seen: new Date(T0).toISOString() });
    expect(north.percent).toBeCloseTo(70.8, 1);
    expect(w.tanks.find((t) => t.id === 'east')!.percent).toBe(50);
  });

  it('draw over the last hour: a refill in the middle neither counts nor hides the draw, noise cancels', () => {
    r = rig();
    const n = noise(42);
    // 2 L/mm box: falling 1 mm/min = 120 L/h; 25..35 min a refill raises it 20 mm/min
    const level = (m: number) => (m <= 25 ? 1500 - m : m <= 35 ? 1475 + 20 * (m - 25) : 1675 - (m - 35));
    run(0, 8 * MIN, 30_000, (t) => r!.feed('east', level(t / MIN) + n(3)));
    expect(status().water.draw_lph).toBeNull(); // under 10 min of data
    run(8 * MIN + 30_000, 60 * MIN, 30_000, (t) => r!.feed('east', level(t / MIN) + n(3)));
    const w = status().water;
    expect(w.draw_lph).not.toBeNull();
    expect(w.draw_lph!).toBeGreaterThan(110);
    expect(w.draw_lph!).toBeLessThan(130);
    // days at current use stand on the daily use, not the hour's draw: an hour is too little to tell
    expect(w.days_left_current).toBeNull();
    expect(w.days_left_basis).toBe('water use not measured yet: needs 3 h of readings');
    expect(w.tanks.find((t) => t.id === 'east')!.draw_lph).toBeCloseTo(w.draw_lph!, 5);
  });

  it('a steady, noisy tank shows no phantom draw, and a filling tank no negative draw', () => {
    r = rig();
    const n = noise(7);
    run(0, 60 * MIN, 30_000, (t) => {
      r!.feed('east', 1500 + n(4));
      r!.feed('north', 800 - (t / MIN) * 3 + n(4)); // filling slowly all hour (level rises 3 mm/min)
    });
    const w = status().water;
    expect(w.tanks.find((t) => t.id === 'east')!.draw_lph!).toBeLessThan(8); // < 4 mm/h
    // filling all hour: no drawing time to measure, so unknown rather than negative
    expect(w.tanks.find((t) => t.id === 'north')!.draw_lph).toBeNull();
    expect(w.draw_lph!).toBeGreaterThanOrEqual(0);
    expect(w.draw_lph!).toBeLessThan(8);
    expect(w.days_left_current).toBeNull(); // draw under 1 L/h → not meaningful
  });

  it('only the last hour counts', () => {
    r = rig();
    // 3 mm/min for the first hour (360 L/h), then 1 mm/min (120 L/h) for the next hour
    run(0, 120 * MIN, 30_000, (t) => {
      const m = t / MIN;
      r!.feed('east', m <= 60 ? 1800 - 3 * m : 1620 - (m - 60));
    });
    expect(status().water.draw_lph!).toBeCloseTo(120, 0);
  });
});

describe('power', () => {
  it('stored, usable, hours left (solar ignored) and net', () => {
    r = rig();
    r.feed('soc', 50);
    r.feed('load', 500);
    r.feed('solar', 200);
    r.feed('volts', 51.3);
    const p = status().power;
    // stored 0.5 × 10 = 5 kWh; usable 5 − (1 − 0.8) × 10 = 3 kWh; 3000 Wh / 500 W = 6 h
    expect(p).toMatchObject({
      soc_percent: 50,
      stored_kwh: 5,
      usable_kwh: 3,
      load_w: 500,
      solar_w: 200,
      net_w: -300,
      hours_left: 6,
      voltage_v: 51.3,
      stale: false,
    });
    expect(p.status).toBe('watch'); // 6 h is not under the 6 h "strained" mark, but under 12
  });

  it('usable energy floors at zero, which is critical', () => {
    r = rig();
    r.feed('soc', 15); // 1.5 kWh stored, 2 kWh reserve → 0 usable
    r.feed('load', 400);
    const p = status().power;
    expect(p.usable_kwh).toBe(0);
    expect(p.hours_left).toBe(0);
    expect(p.status).toBe('critical');
    expect(p.net_w).toBeNull(); // panels configured but not heard from: net unknown
    r.feed('solar', 0); // night
    expect(status().power.net_w).toBe(-400);
  });

  it('no load reading: hours left unknown', () => {
    r = rig();
    r.feed('soc', 90);
    const p = status().power;
    expect(p.hours_left).toBeNull();
    expect(p.status).toBe('ok');
  });
});

describe('cold', () => {
  it('minutes above safe, watch after 15 min, critical after 2 h, reset when back below', () => {
    r = rig();
    const unit = () => status().cold.units[0]!;
    run(0, 5 * MIN, MIN, () => r!.feed('fridge', 4));
    expect(unit()).toMatchObject({ id: 'fridge', name: 'Clinic fridge', temp_c: 4, safe_max_c: 5, minutes_above_safe: 0, status: 'ok', door_open: null });
    r.feed('fridge-door', 1);
    expect(unit().door_open).toBe(true);
    // above from minute 6
    run(6 * MIN, 20 * MIN, MIN, () => r!.feed('fridge', 7));
    expect(unit().minutes_above_safe).toBe(14);
    expect(unit().status).toBe('ok');
    run(21 * MIN, 21 * MIN, MIN, () => r!.feed('fridge', 7.5));
    expect(unit().minutes_above_safe).toBe(15);
    expect(unit().status).toBe('watch');
    expect(status().cold.status).toBe('watch');
    run(22 * MIN, 125 * MIN, MIN, () => r!.feed('fridge', 6));
    expect(unit().minutes_above_safe).toBe(119);
    expect(unit().status).toBe('watch');
    run(126 * MIN, 126 * MIN, MIN, () => r!.feed('fridge', 6));
    expect(unit().status).toBe('critical');
    expect(status().cold.status).toBe('critical');
    run(127 * MIN, 127 * MIN, MIN, () => r!.feed('fridge', 5)); // at safe_max is not above
    expect(unit()).toMatchObject({ minutes_above_safe: 0, status: 'ok' });
    // door reading went stale: unknown rather than "closed"
    expect(unit().door_open).toBeNull();
  });
});

describe('weather', () => {
  it('pressure tendency: null under 1 h, scaled to 3 h with 1–3 h, the 3 h change after', () => {
    r = rig();
    // falling 1.5 hPa/h from 1012
    const p = (t: number) => 1012 - (1.5 * t) / 3_600_000;
    run(0, 50 * MIN, MIN, (t) => r!.feed('baro', p(t)));
    expect(status().weather.pressure_tendency_hpa_3h).toBeNull();
    run(51 * MIN, 90 * MIN, MIN, (t) => r!.feed('baro', p(t)));
    // 1.5 h of data: −2.25 hPa, scaled × 3 / 1.5 = −4.5
    expect(status().weather.pressure_tendency_hpa_3h).toBeCloseTo(-4.5, 2);
    run(91 * MIN, 240 * MIN, MIN, (t) => r!.feed('baro', p(t)));
    const w = status().weather;
    expect(w.pressure_tendency_hpa_3h).toBeCloseTo(-4.5, 2);
    expect(w.pressure_hpa).toBeCloseTo(1006, 1);
    expect(w.status).toBe('watch'); // ≥ 3.6 hPa in 3 h
  });

  it('gust is the highest of the last 10 minutes', () => {
    r = rig();
    run(0, 5 * MIN, 30_000, (t) => {
      r!.feed('wind', 8);
      r!.feed('gust', t === 2 * MIN ? 25 : 12);
      r!.feed('baro', 1010);
      r!.feed('rain', 1.2);
    });
    let w = status().weather;
    expect(w).toMatchObject({ wind_ms: 8, gust_ms: 25, rain_mm: 1.2, pressure_hpa: 1010, pressure_tendency_hpa_3h: null });
    expect(w.status).toBe('strained'); // storm-force gust (≥ 24.5 m/s)
    run(5 * MIN + 30_000, 14 * MIN, 30_000, () => {
      r!.feed('wind', 8);
      r!.feed('gust', 12);
    });
    w = status().weather;
    expect(w.gust_ms).toBe(12);
  });
});

describe('staleness', () => {
  it('max(3 × interval, 60 s): 60 s floor for a 10 s device, 180 s for a 60 s one', () => {
    r = rig();
    r.feed('soc', 80);
    r.feed('fridge', 3);
    r.clock.set(T0 + 59_000);
    expect(r.reserve.sensors().find((s) => s.id === 'soc')!.stale).toBe(false);
    r.clock.set(T0 + 61_000);
    expect(r.reserve.sensors().find((s) => s.id === 'soc')!.stale).toBe(true);
    let s = status();
    expect(s.power.stale).toBe(true);
    expect(s.power.soc_percent).toBe(80); // still shown, marked stale
    expect(s.power.status).toBe('unknown');
    expect(s.cold.units[0]!.stale).toBe(false);
    r.clock.set(T0 + 179_000);
    expect(status().cold.units[0]!.stale).toBe(false);
    r.clock.set(T0 + 181_000);
    s = status();
    expect(s.cold.units[0]).toMatchObject({ stale: true, status: 'unknown', temp_c: 3 });
    expect(s.sensors.stale).toEqual(expect.arrayContaining(['soc', 'fridge']));
    expect(s.sensors.rejected_total).toBe(7);
  });

  it('a device saying offline makes its sensors stale at once; the next reading brings them back', () => {
    r = rig();
    r.feed('east', 1000);
    r.feed('north', 600);
    r.feed('baro', 1000);
    r.clock.set(T0 + 5_000);
    r.reserve.setDeviceOnline('tanks', false, T0 + 5_000);
    let s = status();
    expect(s.water.tanks.every((t) => t.stale && t.status === 'unknown')).toBe(true);
    expect(s.water.tanks.find((t) => t.id === 'east')).toMatchObject({ liters: 2000, last_seen: new Date(T0).toISOString() });
    expect(s.water.liters).toBeCloseTo(5754.5, 1); // totals keep the last known litres
    expect(s.water.status).toBe('unknown'); // no fresh tank
    expect(s.sensors.online).toBe(1); // baro
    expect(s.sensors.total).toBe(12);
    expect(r.reserve.sensors().find((x) => x.id === 'east')).toMatchObject({ stale: true, device_online: false, value: 2000, raw: 1000 });
    // one tank reports again: fresh; the other still stale → water no better than watch
    r.clock.set(T0 + 10_000);
    r.feed('east', 1900); // 3800 L, 95 %
    s = status();
    expect(s.water.tanks.find((t) => t.id === 'east')).toMatchObject({ stale: false, status: 'ok' });
    expect(s.water.tanks.find((t) => t.id === 'north')!.stale).toBe(true);
    expect(s.water.status).toBe('watch');
  });

  it('a sensor never heard from is stale once its window has passed since start', () => {
    r = rig();
    r.clock.set(T0 + 59_000);
    expect(status().sensors.stale).toEqual([]);
    r.clock.set(T0 + 91_000); // tanks and wx: 90 s; shed: 60 s; coldroom: 180 s
    const stale = status().sensors.stale;
    expect(stale).toContain('east');
    expect(stale).toContain('soc');
    expect(stale).not.toContain('fridge');
    expect(status().water.status).toBe('unknown');
  });
});

describe('clock stepping back', () => {
  it('no negative rates, minutes or ages; the value that arrived last is the current one', () => {
    r = rig();
    run(0, 30 * MIN, 30_000, (t) => {
      r!.feed('east', 1500 - t / MIN); // 120 L/h
      r!.feed('baro', 1010 - t / 3_600_000);
      r!.feed('fridge', 8);
    });
    // the device clock steps back 20 min; the village clock goes on
    run(30 * MIN + 30_000, 45 * MIN, 30_000, (t) => {
      const ts = T0 + t - 20 * MIN;
      r!.feed('east', 1500 - t / MIN, ts);
      r!.feed('baro', 1010 - t / 3_600_000, ts);
      r!.feed('fridge', 8, ts);
    });
    const s = status();
    expect(s.water.tanks[0]!.level_mm).toBe(1455);
    // 15 real minutes of draw land in one device minute, so the hour reads steeper (≈125 L/h
    // instead of 120) — but never negative, never a division by a zero or negative span
    expect(s.water.draw_lph!).toBeGreaterThanOrEqual(100);
    expect(s.water.draw_lph!).toBeLessThan(200);
    expect(Number.isFinite(s.weather.pressure_tendency_hpa_3h ?? 0)).toBe(true);
    expect(s.cold.units[0]!.minutes_above_safe).toBeGreaterThanOrEqual(0);
    for (const p of r.reserve.history('east', T0)) expect(Number.isFinite(p.value)).toBe(true);
    // and the village clock stepping back: a sensor heard "in the future" is not stale
    r.clock.set(T0);
    expect(status().sensors.stale).toEqual([]);
    expect(status().water.tanks[0]!.stale).toBe(false);
  });
});

describe('history', () => {
  it('one mean per 5-minute bucket', () => {
    r = rig();
    run(0, 29 * MIN + 30_000, 30_000, (t) => r!.feed('load', Math.floor(t / MIN))); // minute m: value m
    const h = r.reserve.history('load', T0);
    expect(h.map((p) => p.ts)).toEqual([0, 5, 10, 15, 20, 25].map((m) => T0 + m * MIN));
    expect(h.map((p) => p.value)).toEqual([2, 7, 12, 17, 22, 27]); // mean of m..m+4
    expect(r.reserve.history('load', T0 + 20 * MIN)).toHaveLength(2);
    expect(r.reserve.history('nope', T0)).toEqual([]);
  });
});
