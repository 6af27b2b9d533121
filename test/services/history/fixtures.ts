// Shared builders for the history tests: configs, readings, reserve statuses and a simulated day.
import { parseConfig } from '../../../config/load.ts';
import type { Config } from '../../../config/schema.ts';
import type { Alert, Incident, Reading, ReserveStatus, SensorKind } from '../../../core/types.ts';

export function historyConfig(dir: string, influxUrl?: string, extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    storage: { dir, ...(extra.storage as object | undefined) },
    ...(influxUrl ? { influx: { url: influxUrl, database: 'tend', ...(extra.influx as object | undefined) } } : {}),
  });
}

export function reading(i: number, over: Partial<Reading> = {}): Reading {
  const sensors: [string, string, SensorKind][] = [
    ['north', 'tank-north', 'tank_distance'],
    ['battery', 'power-shed', 'battery_soc'],
    ['fridge-kitchen', 'cold-store', 'cold_temp'],
  ];
  const [sensor, device, kind] = sensors[i % sensors.length]!;
  return {
    sensor,
    device,
    kind,
    raw: 800 + (i % 400),
    value: 5000 + i * 0.5,
    ts: 1_700_000_000_000 + i * 10,
    received: 1_700_000_000_000 + i * 10,
    source: 'mqtt',
    seq: i,
    ...(kind.startsWith('tank') ? { level_mm: 1300 + (i % 50) } : {}),
    ...over,
  };
}

/** A plausible reserve status at `t` (ms); `h` is hours into the simulated day. */
export function status(t: number, opts: { alerts?: Alert[]; leak?: boolean } = {}): ReserveStatus {
  const h = (t / 3_600_000) % 24;
  const liters = (opts.leak ? 6000 : 9000) + 1000 * Math.cos((h / 24) * 2 * Math.PI);
  const iso = new Date(t).toISOString();
  return {
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    at: iso,
    water: {
      liters: liters * 2,
      capacity_liters: 30000,
      percent: (liters * 2) / 300,
      draw_lph: 110 + 20 * Math.sin(h),
      days_left_current: 6.1,
      days_left_minimum: (liters * 2) / 2700,
      status: 'ok',
      tanks: [
        {
          id: 'north',
          name: 'North tank',
          liters,
          capacity_liters: 12566,
          percent: liters / 125.66,
          level_mm: 1400,
          status: 'ok',
          last_seen: iso,
          stale: false,
        },
        {
          id: 'school',
          name: 'School, "big" tank',
          liters,
          capacity_liters: 10800,
          percent: liters / 108,
          level_mm: 900,
          status: opts.leak ? 'watch' : 'ok',
          last_seen: iso,
          stale: false,
        },
      ],
    },
    power: {
      soc_percent: 60 + 20 * Math.sin(h / 4),
      stored_kwh: 36,
      usable_kwh: 24,
      load_w: 3200,
      solar_w: h > 6 && h < 18 ? 4000 : 0,
      net_w: (h > 6 && h < 18 ? 4000 : 0) - 3200,
      hours_left: 7.5,
      voltage_v: 51.2,
      status: 'ok',
      stale: false,
    },
    cold: {
      status: 'ok',
      units: [
        {
          id: 'fridge-kitchen',
          name: 'Kitchen fridge',
          temp_c: 3.5 + Math.sin(h),
          safe_max_c: 5,
          minutes_above_safe: h > 20 ? 12 : 0,
          door_open: h > 12 && h < 12.1,
          status: 'ok',
          last_seen: iso,
          stale: false,
        },
        {
          id: 'freezer',
          name: 'Community freezer',
          temp_c: -18,
          safe_max_c: -15,
          minutes_above_safe: 0,
          door_open: false,
          status: 'ok',
          last_seen: iso,
          stale: false,
        },
      ],
    },
    weather: { pressure_hpa: 1008 - h * 0.2, pressure_tendency_hpa_3h: -0.6, wind_ms: 4, gust_ms: 9, rain_mm: 0.2, status: 'ok', stale: false },
    sensors: { online: 15, total: 16, stale: ['rain'], rejected_total: 3 },
    alerts: opts.alerts ?? [],
    assembly: [],
  };
}

export function alert(t: number, over: Partial<Alert> = {}): Alert {
  const iso = new Date(t).toISOString();
  return {
    id: 'tank_drop:school:1',
    rule: 'tank_drop',
    subject: 'school',
    domain: 'water',
    severity: 'warning',
    state: 'firing',
    title: 'School tank is losing water faster than the village uses it',
    detail: 'Down 900 L in 20 min, "far" above normal draw, a leak?',
    value: 900,
    started_at: iso,
    fired_at: iso,
    resolved_at: null,
    incident_id: 'inc-1',
    ...over,
  };
}

export function incident(t: number, over: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-1',
    opened_at: new Date(t).toISOString(),
    closed_at: null,
    alert_ids: ['tank_drop:school:1'],
    domains: ['water'],
    crisis: false,
    prompt_id: null,
    exercise: false,
    ...over,
  };
}
