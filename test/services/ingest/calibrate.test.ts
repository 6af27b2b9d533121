// Calibration vectors. Expected numbers were computed independently with python3
// (formulas written out in the comments), not with the code under test.
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../../services/ingest/calibrate.ts';
import { litersAtLevel, tankCapacityLiters, tankHeightMm } from '../../../config/tanks.ts';
import type { SensorConfig, TankConfig } from '../../../config/schema.ts';

const hcyl: TankConfig = { shape: 'horizontal_cylinder', diameter_mm: 1500, length_mm: 3000 };
const vcyl: TankConfig = { shape: 'vertical_cylinder', diameter_mm: 1200, height_mm: 2000 };
const box: TankConfig = { shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 1500 };
const table: TankConfig = {
  shape: 'table',
  points: [
    [100, 50],
    [600, 1050],
    [1100, 1550],
  ],
};

function sensor(kind: SensorConfig['kind'], extra: Partial<SensorConfig> = {}): SensorConfig {
  return { id: 's', device: 'd', metric: 'm', kind, ...extra } as SensorConfig;
}

describe('tank geometry', () => {
  it('horizontal cylinder: circular segment × length', () => {
    // r=750, h=1000: (r²·acos((r−h)/r) − (r−h)·√(2rh−h²)) × 3000 / 1e6 = 3754.5236720601297
    expect(litersAtLevel(hcyl, 1000)).toBeCloseTo(3754.5237, 3);
    // h=100: 151.78307137678843
    expect(litersAtLevel(hcyl, 100)).toBeCloseTo(151.78307, 4);
    // half full: π·750²·3000/2e6 = 2650.718801466388
    expect(litersAtLevel(hcyl, 750)).toBeCloseTo(2650.7188, 3);
    // full: π·750²·3000/1e6 = 5301.437602932776
    expect(tankCapacityLiters(hcyl)).toBeCloseTo(5301.4376, 3);
    expect(tankHeightMm(hcyl)).toBe(1500);
  });

  it('vertical cylinder', () => {
    // π·600²·500/1e6 = 565.4866776461628 ; full π·600²·2000/1e6 = 2261.946710584651
    expect(litersAtLevel(vcyl, 500)).toBeCloseTo(565.48668, 4);
    expect(tankCapacityLiters(vcyl)).toBeCloseTo(2261.94671, 4);
    expect(tankHeightMm(vcyl)).toBe(2000);
  });

  it('box', () => {
    // 2000·1000·750/1e6 = 1500 ; full 3000
    expect(litersAtLevel(box, 750)).toBeCloseTo(1500, 6);
    expect(tankCapacityLiters(box)).toBeCloseTo(3000, 6);
    expect(tankHeightMm(box)).toBe(1500);
  });

  it('table: piecewise linear, clamped at both ends', () => {
    // between (100,50) and (600,1050): 50 + 1000·(350−100)/500 = 550
    expect(litersAtLevel(table, 350)).toBeCloseTo(550, 9);
    // between (600,1050) and (1100,1550): 1050 + 500·(850−600)/500 = 1300
    expect(litersAtLevel(table, 850)).toBeCloseTo(1300, 9);
    expect(litersAtLevel(table, 600)).toBeCloseTo(1050, 9);
    expect(litersAtLevel(table, 20)).toBe(50); // below the first point: its litres
    expect(litersAtLevel(table, 5000)).toBe(1550); // above the last
    expect(tankHeightMm(table)).toBe(1100);
    expect(tankCapacityLiters(table)).toBe(1550);
  });

  it('clamps levels to [0, height]', () => {
    expect(litersAtLevel(vcyl, -40)).toBe(0);
    expect(litersAtLevel(vcyl, 2500)).toBeCloseTo(2261.94671, 4);
    expect(litersAtLevel(hcyl, 1600)).toBeCloseTo(5301.4376, 3);
    expect(litersAtLevel(hcyl, 0)).toBe(0);
  });
});

describe('calibrate', () => {
  it('tank_distance: level = sensor height − distance', () => {
    // the documented example: d=2000, L=4000, sensor at 2100, distance 812 → level 1288 mm,
    // r=1000, h=1288: segment × 4000 / 1e6 = 8554.926304323206
    const s = sensor('tank_distance', {
      tank: { shape: 'horizontal_cylinder', diameter_mm: 2000, length_mm: 4000, sensor_height_mm: 2100 },
    });
    const c = calibrate(s, 812);
    expect(c.level_mm).toBe(1288);
    expect(c.value).toBeCloseTo(8554.9263, 3);
  });

  it('tank_distance clamps: surface above the tank top, or below its bottom', () => {
    const s = sensor('tank_distance', { tank: { ...box, sensor_height_mm: 1700 } });
    // distance 50 → level 1650 > height 1500 → full (3000 L)
    expect(calibrate(s, 50)).toEqual({ value: 3000, level_mm: 1500 });
    // distance 1800 → level −100 → empty
    expect(calibrate(s, 1800)).toEqual({ value: 0, level_mm: 0 });
  });

  it('tank_pressure: level = kPa × 101.97 mm', () => {
    const s = sensor('tank_pressure', { tank: box });
    // 9.807 kPa × 101.97 = 1000.01979 mm → 2000·1000·1000.01979/1e6 = 2000.03958 L
    const c = calibrate(s, 9.807);
    expect(c.level_mm).toBeCloseTo(1000.01979, 4);
    expect(c.value).toBeCloseTo(2000.03958, 4);
    // negative pressure (sensor offset) clamps to empty
    expect(calibrate(s, -0.3)).toEqual({ value: 0, level_mm: 0 });
  });

  it('tank_level: level = raw mm', () => {
    const s = sensor('tank_level', { tank: vcyl });
    const c = calibrate(s, 500);
    expect(c.level_mm).toBe(500);
    expect(c.value).toBeCloseTo(565.48668, 4);
  });

  it('other kinds pass the raw value through', () => {
    for (const [kind, raw] of [
      ['battery_soc', 73.5],
      ['battery_voltage', 51.2],
      ['load_power', 1800],
      ['solar_power', 0],
      ['cold_temp', -18.5],
      ['door_open', 1],
      ['pressure', 1003.2],
      ['wind_speed', 12.4],
      ['wind_gust', 24.6],
      ['rain', 3.2],
    ] as const) {
      expect(calibrate(sensor(kind), raw)).toEqual({ value: raw });
    }
  });

  it('a tank sensor without a tank is a clear error', () => {
    expect(() => calibrate(sensor('tank_level'), 10)).toThrow(/needs tank/);
    expect(() => calibrate(sensor('tank_distance', { tank: box }), 10)).toThrow(/sensor_height_mm/);
  });
});
