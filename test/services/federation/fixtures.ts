// Small builders for federation tests: a reserve status as the village would emit it, and a
// village's federation on its own storage and event hub.
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parseConfig } from '../../../config/load.ts';
import { configSchema, type Config } from '../../../config/schema.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { Storage } from '../../../services/storage.ts';
import { Federation, type FederationTuning } from '../../../services/federation/federation.ts';
import type { Clock, Incident, AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';
import { systemClock } from '../../../core/types.ts';

export interface StatusKnobs {
  liters?: number | null;
  draw_lph?: number | null;
  /** litres a day over the last 24 h; null (the default) while not known yet */
  daily_use?: number | null;
  water_status?: ReserveStatus['water']['status'];
  soc?: number | null;
  solar_w?: number | null;
  load_w?: number | null;
  power_status?: ReserveStatus['power']['status'];
  cold_status?: ReserveStatus['cold']['status'];
  population?: number;
  online?: number;
}

export function makeStatus(village: string, at: number, k: StatusKnobs = {}): ReserveStatus {
  const population = k.population ?? 180;
  const liters = k.liters === undefined ? 54_000 : k.liters;
  const draw = k.draw_lph === undefined ? 100 : k.draw_lph;
  const soc = k.soc === undefined ? 60 : k.soc;
  const usable = soc === null ? null : (20 * 0.8 * soc) / 100;
  const load = k.load_w === undefined ? 800 : k.load_w;
  return {
    village: { id: village, name: village[0]!.toUpperCase() + village.slice(1), population },
    at: new Date(at).toISOString(),
    water: {
      liters,
      capacity_liters: 60_000,
      percent: liters === null ? null : (liters / 60_000) * 100,
      draw_lph: draw,
      daily_use_liters: k.daily_use ?? null,
      days_left_current: liters === null || !draw ? null : liters / (draw * 24),
      days_left_minimum: liters === null ? null : liters / (population * 15),
      status: k.water_status ?? 'ok',
      tanks: [],
    },
    power: {
      soc_percent: soc,
      stored_kwh: soc === null ? null : (20 * soc) / 100,
      usable_kwh: usable,
      load_w: load,
      solar_w: k.solar_w === undefined ? 0 : k.solar_w,
      net_w: null,
      hours_left: usable === null || !load ? null : (usable * 1000) / load,
      voltage_v: 52,
      status: k.power_status ?? 'ok',
      stale: false,
    },
    cold: {
      status: k.cold_status ?? 'ok',
      units: [
        {
          id: 'fridge',
          name: 'Fridge',
          temp_c: 4,
          safe_max_c: 5,
          minutes_above_safe: 0,
          door_open: false,
          status: k.cold_status ?? 'ok',
          last_seen: null,
          stale: false,
        },
      ],
    },
    weather: { pressure_hpa: 1010, pressure_tendency_hpa_3h: 0, wind_ms: 3, gust_ms: 5, rain_mm: 0, status: 'ok', stale: false },
    sensors: { online: k.online ?? 6, total: 6, stale: [], rejected_total: 0 },
    alerts: [],
    assembly: [],
  };
}

export function makeIncident(id: string, at: number, over: Partial<Incident> = {}): Incident {
  return {
    id,
    opened_at: new Date(at).toISOString(),
    closed_at: null,
    alert_ids: [],
    domains: ['water', 'power'],
    crisis: true,
    prompt_id: `p-${id}`,
    exercise: false,
    ...over,
  };
}

export function makePrompt(incidentId: string, at: number, over: Partial<AssemblyPrompt> = {}): AssemblyPrompt {
  const iso = new Date(at).toISOString();
  return {
    id: `p-${incidentId}`,
    incident_id: incidentId,
    status: 'open',
    exercise: false,
    version: 1,
    opened_at: iso,
    updated_at: iso,
    closed_at: null,
    headline: 'Storm damage: the north tank is losing water and power is unstable',
    situation: [{ at: iso, text: 'North tank fell 4,000 litres in an hour' }],
    damaged: ['north tank'],
    working: ['south tank'],
    urgent: [],
    can_wait: [],
    reserves: { water_days_current: 2, water_days_minimum: 3, power_hours_left: 5, cold_units_at_risk: [] },
    neighbours: [],
    questions: ['Shall we ask neighbours for water?'],
    notes: [],
    ...over,
  };
}

export interface TestVillage {
  id: string;
  config: Config;
  events: VillageEventHub;
  storage: Storage;
  fed: Federation;
  /** the status the village emits on its tick; change it to change the village */
  knobs: StatusKnobs;
  /** emit a status now (the real village does so at least every second) */
  tick(): void;
  stop(): Promise<void>;
}

export const FAST: Partial<FederationTuning> = { minPublishIntervalMs: 100, heartbeatMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 500 };

export function startTestVillage(
  id: string,
  url: string,
  dir: string,
  over: {
    password?: string;
    username?: string;
    clock?: Clock;
    knobs?: StatusKnobs;
    tickMs?: number;
    fed?: Partial<NonNullable<Config['federation']>>;
    log?: (m: string) => void;
  } = {},
): TestVillage {
  const config = configSchema.parse({
    version: 1,
    village: { id, name: id[0]!.toUpperCase() + id.slice(1), population: 180 },
    storage: { dir: join(dir, id) },
    federation: { url, username: over.username ?? id, password: over.password ?? `pw-${id}`, ...over.fed },
  });
  const clock = over.clock ?? systemClock;
  const events = new VillageEventHub();
  const storage = new Storage(join(dir, id));
  const fed = new Federation({ config, clock, events, storage, tuning: FAST, log: over.log });
  const v: TestVillage = {
    id,
    config,
    events,
    storage,
    fed,
    knobs: { ...over.knobs },
    tick: () => events.emit('status', makeStatus(id, clock.now(), v.knobs)),
    stop: async () => {
      clearInterval(timer);
      await fed.stop();
      storage.close();
    },
  };
  fed.start();
  v.tick();
  const timer = setInterval(v.tick, over.tickMs ?? 250);
  return v;
}

/**
 * A real village's config (embedded broker and web on free ports) with one 50,000 L tank (a
 * 5 m × 5 m × 2 m box: 25 L per mm of level) and the federation on `url`, logging in as its id.
 */
export function realVillageConfig(id: string, url: string): Config {
  return parseConfig({
    version: 1,
    village: { id, name: id[0]!.toUpperCase() + id.slice(1), population: 180 },
    broker: { embedded: { host: '127.0.0.1', port: 0 } },
    web: { host: '127.0.0.1', port: 0 },
    devices: [{ id: 'tank-node', secret: `secret-${id}-tank`, transport: 'mqtt', interval_s: 30 }],
    sensors: [
      {
        id: 'main',
        name: 'Main tank',
        device: 'tank-node',
        metric: 'level_mm',
        kind: 'tank_level',
        tank: { shape: 'box', length_mm: 5000, width_mm: 5000, height_mm: 2000 },
      },
    ],
    alerts: { rules: { water_low: { hold_s: 0 } } },
    federation: { url, password: `pw-${id}` },
  });
}

/** One tank reading, as the village's tank node sends it over its embedded broker. */
export async function tankReading(v: { brokerUrl: string; config: Config }, level_mm: number): Promise<void> {
  const c = mqtt.connect(v.brokerUrl, {
    username: 'tank-node',
    password: `secret-${v.config.village.id}-tank`,
    clientId: `tank-node-test-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await c.publishAsync(`tend/${v.config.village.id}/dev/tank-node/reading`, JSON.stringify({ level_mm }), { qos: 1 });
  await c.endAsync();
}
