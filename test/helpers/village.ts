// Start a real village on free loopback ports with its own temp storage dir.
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { DEMO_CONFIG } from '../../services/cli.ts';
import { startVillage, type StartOptions, type Village } from '../../services/village.ts';
import { tempDir } from './net.ts';

export function demoConfig(): Config {
  return loadConfig(DEMO_CONFIG);
}

export async function startTestVillage(opts: Partial<StartOptions> = {}): Promise<Village & { logs: string[]; cleanup(): Promise<void> }> {
  const tmp = tempDir();
  const logs: string[] = [];
  const village = await startVillage({
    config: opts.config ?? demoConfig(),
    storageDir: tmp.dir,
    webPort: 0,
    brokerPort: 0,
    log: (m) => logs.push(m),
    ...opts,
  });
  return Object.assign(village, {
    logs,
    async cleanup() {
      await village.stop();
      tmp.remove();
    },
  });
}

/** Connect a real MQTT client as a device of the config (its id and secret). */
export async function connectDevice(village: Village, device: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const d = village.config.devices.find((x) => x.id === device);
  const client = mqtt.connect(village.brokerUrl, {
    username: device,
    password: d?.secret,
    reconnectPeriod: 0,
    clientId: `${device}-test-${Math.random().toString(16).slice(2)}`,
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

// biome-ignore lint/suspicious/noExplicitAny: like Response.json(), a call that names no type gets the parsed JSON to walk freely
export async function getJson<T = any>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Connect several devices of the config at once, keyed by id. */
export async function connectDevices(village: Village, ids: string[]): Promise<Map<string, MqttClient>> {
  const out = new Map<string, MqttClient>();
  for (const id of ids) out.set(id, await connectDevice(village, id));
  return out;
}

/** Close what connectDevices opened, ignoring clients already gone. */
export async function closeDevices(devices: Map<string, MqttClient>): Promise<void> {
  for (const c of devices.values()) await c.endAsync(true).catch(() => {});
}

/** A clock a test moves by hand (`clock.t += …`), so staleness and hold times need no real waiting. */
export function testClock(startMs: number): { t: number; now(): number } {
  return {
    t: startMs,
    now() {
      return this.t;
    },
  };
}

/** One plausible reading per demo device (metrics as config/demo.yaml names them), at night: no sun. */
export function demoReadings(solarW = 0): Record<string, Record<string, number>> {
  return {
    'tank-north': { distance_mm: 812 },
    'tank-school': { pressure_kpa: 12.5 },
    'tank-hill': { level_mm: 1500 },
    'power-shed': { soc_pct: 72, voltage_v: 52.1, load_w: 2100, solar_w: solarW },
    'cold-store': { fridge1_c: 3.5, fridge2_c: 4.2, freezer_c: -18.5, freezer_door: 0 },
    'weather-mast': { pressure_hpa: 1012.4, wind_ms: 4.2, gust_ms: 7.9, rain_mm: 0 },
  };
}

/** Each demo device's secret, as config/demo.yaml gives it (for raw logins in broker tests). */
export const DEMO_SECRETS: Record<string, string> = Object.fromEntries(demoConfig().devices.map((d) => [d.id, d.secret ?? '']));

/** A tank with no sensor: the crew reads a dipstick each morning (a 2 m × 1 m × 1.5 m box, 1,500 L at 750 mm). */
export const SCHOOL_DIPSTICK_TANK = {
  id: 'school',
  name: 'School tank',
  manual: true,
  interval_s: 86400,
  kind: 'tank_level',
  tank: { shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 1500 },
};
