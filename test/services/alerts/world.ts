// A small hand-driven village for rule tests: set values, step a fake clock, and get the
// ReserveStatus and SensorHealth the reserve module would compute from them.
import { parseConfig } from '../../../config/load.ts';
import { tankCapacityLiters } from '../../../config/tanks.ts';
import type { Config, ConfigInput } from '../../../config/schema.ts';
import type { Clock, ReserveStatus, SensorHealth } from '../../../core/types.ts';

export const T0 = Date.parse('2026-11-20T00:00:00Z');

export class FakeClock implements Clock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** A village for water tests: its size and its tanks (each on a node of its own, `tank-<id>`). */
export interface WorldVillage {
  population?: number;
  timezone?: string;
  tanks?: { id: string; name: string; capacity: number }[];
}

const DEFAULT_TANKS = [
  { id: 'north', name: 'North tank', capacity: 20_000 },
  { id: 'school', name: 'School tank', capacity: 20_000 },
];

export function worldConfig(alerts: ConfigInput['alerts'] = undefined, village: WorldVillage = {}): Config {
  const tanks = village.tanks ?? DEFAULT_TANKS;
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: village.population ?? 180, timezone: village.timezone ?? 'UTC' },
    storage: { dir: ':memory:' },
    alerts,
    devices: [
      ...tanks.map((t) => ({ id: `tank-${t.id}`, secret: `secret-${t.id}`, name: `${t.name} node` })),
      { id: 'power-shed', secret: 'secret-power', name: 'Power shed monitor' },
      { id: 'cold-store', secret: 'secret-cold', name: 'Cold store node' },
      { id: 'weather-mast', secret: 'secret-weather', name: 'Weather mast' },
    ],
    sensors: [
      // a box 1 m deep holding `capacity` litres
      ...tanks.map((t) => ({
        id: t.id,
        name: t.name,
        device: `tank-${t.id}`,
        metric: 'level_mm',
        kind: 'tank_level',
        tank: { shape: 'box', length_mm: 5000, width_mm: t.capacity / 5, height_mm: 1000 },
      })),
      { id: 'battery', name: 'Battery bank', device: 'power-shed', metric: 'soc', kind: 'battery_soc', battery: { capacity_kwh: 60, usable_fraction: 0.8 } },
      { id: 'battery-v', name: 'Battery voltage', device: 'power-shed', metric: 'v', kind: 'battery_voltage' },
      { id: 'load', name: 'Village load', device: 'power-shed', metric: 'load', kind: 'load_power' },
      { id: 'fridge', name: 'Kitchen fridge', device: 'cold-store', metric: 'f1', kind: 'cold_temp', cold: { safe_max_c: 5 } },
      { id: 'pressure', name: 'Barometer', device: 'weather-mast', metric: 'p', kind: 'pressure' },
      { id: 'gust', name: 'Gusts', device: 'weather-mast', metric: 'g', kind: 'wind_gust' },
    ],
  });
}

export class World {
  /** litres in each tank (80% full to begin with) */
  liters: Record<string, number>;
  /** each tank's capacity in litres */
  readonly capacity: Record<string, number>;
  soc = 80;
  voltage = 50;
  load = 1500;
  fridge = 3;
  tendency = 0;
  pressure = 1012;
  gust = 5;
  drawLph: number | null = 200;
  /** devices that are offline (their sensors stale) */
  offline = new Set<string>();
  private seen: Record<string, number> = {};

  /** the tanks as configured: id, name */
  readonly tanks: { id: string; name: string }[];

  constructor(
    readonly config: Config,
    readonly clock: FakeClock,
  ) {
    const tanks = config.sensors.filter((s) => s.tank);
    this.tanks = tanks.map((s) => ({ id: s.id, name: s.name ?? s.id }));
    this.capacity = Object.fromEntries(tanks.map((s) => [s.id, tankCapacityLiters(s.tank!)]));
    this.liters = Object.fromEntries(this.tanks.map((t) => [t.id, this.capacity[t.id]! * 0.8]));
  }

  private sensorDevice(id: string): string {
    return this.config.sensors.find((s) => s.id === id)!.device;
  }

  private stale(id: string): boolean {
    return this.offline.has(this.sensorDevice(id));
  }

  /** every online sensor reports at this instant */
  report(): void {
    for (const s of this.config.sensors) if (!this.stale(s.id)) this.seen[s.id] = this.clock.now();
  }

  private lastSeen(id: string): string | null {
    return this.seen[id] === undefined ? null : new Date(this.seen[id]!).toISOString();
  }

  status(): ReserveStatus {
    const now = this.clock.now();
    const total = Object.values(this.liters).reduce((a, b) => a + b, 0);
    const cap = Object.values(this.capacity).reduce((a, b) => a + b, 0);
    const minimumDay = this.config.village.population * this.config.village.minimum_water_lpd;
    const usable = (this.soc / 100) * 60 * 0.8;
    return {
      village: { id: 'ashgrove', name: 'Ashgrove', population: this.config.village.population },
      at: new Date(now).toISOString(),
      water: {
        liters: total,
        capacity_liters: cap,
        percent: (total / cap) * 100,
        draw_lph: this.drawLph,
        days_left_current: this.drawLph ? total / (this.drawLph * 24) : null,
        days_left_minimum: total / minimumDay,
        status: 'ok',
        tanks: this.tanks.map(({ id, name }) => ({
          id,
          name,
          liters: this.liters[id]!,
          capacity_liters: this.capacity[id]!,
          percent: (this.liters[id]! / this.capacity[id]!) * 100,
          level_mm: (this.liters[id]! / this.capacity[id]!) * 1000,
          status: 'ok' as const,
          last_seen: this.lastSeen(id),
          stale: this.stale(id),
        })),
      },
      power: {
        soc_percent: this.soc,
        stored_kwh: (this.soc / 100) * 60,
        usable_kwh: usable,
        load_w: this.load,
        solar_w: 0,
        net_w: -this.load,
        hours_left: (usable * 1000) / this.load,
        voltage_v: this.voltage,
        status: 'ok',
        stale: this.stale('battery'),
      },
      cold: {
        status: 'ok',
        units: [
          {
            id: 'fridge',
            name: 'Kitchen fridge',
            temp_c: this.fridge,
            safe_max_c: 5,
            minutes_above_safe: 0,
            door_open: null,
            status: 'ok',
            last_seen: this.lastSeen('fridge'),
            stale: this.stale('fridge'),
          },
        ],
      },
      weather: {
        pressure_hpa: this.pressure,
        pressure_tendency_hpa_3h: this.tendency,
        wind_ms: 3,
        gust_ms: this.gust,
        rain_mm: 0,
        status: 'ok',
        stale: this.stale('pressure'),
      },
      sensors: {
        online: this.config.sensors.filter((s) => !this.stale(s.id)).length,
        total: this.config.sensors.length,
        stale: this.config.sensors.filter((s) => this.stale(s.id)).map((s) => s.id),
        rejected_total: 0,
      },
      alerts: [],
      assembly: [],
    };
  }

  sensors(): SensorHealth[] {
    const value: Record<string, number> = {
      ...this.liters,
      battery: this.soc,
      'battery-v': this.voltage,
      load: this.load,
      fridge: this.fridge,
      pressure: this.pressure,
      gust: this.gust,
    };
    return this.config.sensors.map((s) => ({
      id: s.id,
      name: s.name ?? s.id,
      device: s.device,
      kind: s.kind,
      value: value[s.id] ?? null,
      raw: value[s.id] ?? null,
      last_seen: this.lastSeen(s.id),
      stale: this.stale(s.id),
      device_online: !this.offline.has(s.device),
    }));
  }
}
