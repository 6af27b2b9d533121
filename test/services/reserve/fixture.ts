// A small village for the reserve tests: a fake clock, one sensor of each kind, and a feed()
// that does what ingest does (calibrate, stamp) so values come in as they would in the service.
import { configSchema, type Config } from '../../../config/schema.ts';
import { calibrate } from '../../../services/ingest/calibrate.ts';
import { Reserve } from '../../../services/reserve/reserve.ts';
import { Storage } from '../../../services/storage.ts';

export const T0 = Date.UTC(2026, 10, 26, 6, 0, 0);

export function villageConfig(): Config {
  return configSchema.parse({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    broker: { embedded: { allow_anonymous: true } },
    devices: [
      { id: 'tanks', interval_s: 30 },
      { id: 'shed', interval_s: 10 },
      { id: 'coldroom', interval_s: 60 },
      { id: 'wx', interval_s: 30 },
    ],
    sensors: [
      // box 2000 × 1000 × 2000 mm: 2 L per mm, 4000 L full
      {
        id: 'east',
        name: 'East tank',
        device: 'tanks',
        metric: 'east_mm',
        kind: 'tank_level',
        tank: { shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 2000 },
      },
      // lying cylinder 1500 × 3000 mm, ultrasonic 1600 mm above the bottom: 5301.44 L full
      {
        id: 'north',
        name: 'North tank',
        device: 'tanks',
        metric: 'distance_mm',
        kind: 'tank_distance',
        tank: { shape: 'horizontal_cylinder', diameter_mm: 1500, length_mm: 3000, sensor_height_mm: 1600 },
      },
      { id: 'soc', device: 'shed', metric: 'soc', kind: 'battery_soc', battery: { capacity_kwh: 10, usable_fraction: 0.8 } },
      { id: 'volts', device: 'shed', metric: 'v', kind: 'battery_voltage' },
      { id: 'load', device: 'shed', metric: 'load_w', kind: 'load_power' },
      { id: 'solar', device: 'shed', metric: 'solar_w', kind: 'solar_power' },
      { id: 'fridge', name: 'Clinic fridge', device: 'coldroom', metric: 'temp', kind: 'cold_temp', cold: { safe_max_c: 5 } },
      { id: 'fridge-door', device: 'coldroom', metric: 'door', kind: 'door_open', unit: 'fridge' },
      { id: 'baro', device: 'wx', metric: 'hpa', kind: 'pressure' },
      { id: 'wind', device: 'wx', metric: 'wind', kind: 'wind_speed' },
      { id: 'gust', device: 'wx', metric: 'gust', kind: 'wind_gust' },
      { id: 'rain', device: 'wx', metric: 'rain', kind: 'rain' },
    ],
  });
}

export interface Rig {
  config: Config;
  clock: { now(): number; set(t: number): void };
  storage: Storage;
  reserve: Reserve;
  /** record one raw value of a sensor, calibrated, measured at ts (default: now) */
  feed(sensor: string, raw: number, ts?: number): void;
}

export function rig(dir = ':memory:', startAt = T0): Rig {
  const config = villageConfig();
  let now = startAt;
  const clock = {
    now: () => now,
    set: (t: number) => {
      now = t;
    },
  };
  const storage = new Storage(dir);
  const reserve = new Reserve({ config, clock, storage });
  reserve.start();
  const feed = (id: string, raw: number, ts = now) => {
    const s = config.sensors.find((x) => x.id === id)!;
    const c = calibrate(s, raw);
    reserve.record({ sensor: id, device: s.device, kind: s.kind, raw, value: c.value, level_mm: c.level_mm, ts, received: now, source: 'mqtt' });
  };
  return { config, clock, storage, reserve, feed };
}

/** deterministic noise in [−amp, amp] (a small LCG, so failures reproduce) */
export function noise(seed = 1): (amp: number) => number {
  let x = seed >>> 0;
  return (amp) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x / 2 ** 32 - 0.5) * 2 * amp;
  };
}
