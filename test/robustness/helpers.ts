// Shared pieces of the fault and hostile-input tests: generated configs, /metrics parsing,
// raw MQTT sockets and a seeded random source (so a failing run can be replayed).
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt, { type MqttClient } from 'mqtt';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Village } from '../../services/village.ts';
import { waitFor } from '../helpers/net.ts';

/** deterministic pseudo-random numbers (LCG), so a failure can be replayed from its seed */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

export const secretOf = (device: string) => `secret-${device}-0123`;

/**
 * A village with `n` tank nodes (`node-0000`…), each one ultrasonic tank sensor on metric
 * distance_mm, plus extra config merged on top (broker, devices).
 */
export function manyTanksConfig(n: number, extra: Record<string, unknown> = {}): Config {
  const devices = Array.from({ length: n }, (_, i) => ({ id: nodeId(i), secret: secretOf(nodeId(i)), interval_s: 60 }));
  const sensors = devices.map((d, i) => ({
    id: `tank-${String(i).padStart(4, '0')}`,
    device: d.id,
    metric: 'distance_mm',
    kind: 'tank_distance',
    tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000, sensor_height_mm: 2100 },
    range: [0, 5000],
  }));
  return parseConfig({
    version: 1,
    village: { id: 'stormvale', name: 'Stormvale', population: 500 },
    broker: { embedded: { host: '127.0.0.1', port: 0 } },
    web: { host: '127.0.0.1', port: 0 },
    storage: { dir: './unused' },
    devices,
    sensors,
    ...extra,
  });
}

export const nodeId = (i: number) => `node-${String(i).padStart(4, '0')}`;

/** One sample value from Prometheus text, matched by metric name and label subset. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    total = (total ?? 0) + v;
  }
  return total;
}

/** Sum of a metric over all label sets (e.g. rejects of every device and reason). */
export async function scrape(village: Village): Promise<string> {
  const res = await fetch(`${village.webUrl}/metrics`);
  if (!res.ok) throw new Error(`/metrics: ${res.status}`);
  return res.text();
}

export const rssMb = () => process.memoryUsage().rss / 2 ** 20;

// A real full collection, also where the test process was started without --expose-gc: the flag
// set at run time makes `gc` available to contexts created afterwards.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** Memory after full collections, in MB: the heap still reachable, and RSS. */
export async function settledMemoryMb(): Promise<{ heapUsed: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    fullGc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 };
}

/** RSS in MB after full collections. */
export async function settledRssMb(): Promise<number> {
  return (await settledMemoryMb()).rss;
}

/** A raw TCP socket to the broker, collecting what it receives and whether it was closed. */
export interface RawConn {
  socket: Socket;
  received: Buffer[];
  closed: Promise<void>;
  isClosed(): boolean;
}

export async function rawConnect(port: number): Promise<RawConn> {
  const socket = connect({ host: '127.0.0.1', port });
  const received: Buffer[] = [];
  let closed = false;
  socket.on('data', (d) => received.push(d));
  socket.on('error', () => {});
  const closedP = new Promise<void>((r) =>
    socket.once('close', () => {
      closed = true;
      r();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, closed: closedP, isClosed: () => closed };
}

/** Wait until the broker closes this socket (or fail after `ms`). */
export async function expectClosed(c: RawConn, ms = 15_000, what = 'the broker to close the connection'): Promise<void> {
  await waitFor(() => c.isClosed(), ms, what);
}

/** Publish one valid reading as `device` and wait until ingest accepted it. */
export async function goodDevicePublishes(village: Village, device: string, topic: string, payload: string, extra: mqtt.IClientOptions = {}): Promise<void> {
  const before = village.ingest.acceptedTotal;
  const d = village.config.devices.find((x) => x.id === device);
  const c: MqttClient = mqtt.connect(village.brokerUrl, {
    username: device,
    password: d?.secret,
    clientId: `${device}-good-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...extra,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    await c.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => village.ingest.acceptedTotal > before, 10_000, `a reading from ${device} accepted`);
  } finally {
    c.end(true);
  }
}

export function connected(c: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.connected) return resolve();
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
}
