// tend killed with SIGKILL mid-stream and started again: every reading it had accepted (QoS 1:
// PUBACK sent, so durable in the SQLite outbox first) reaches the history store once, with its own
// timestamp, and no reading becomes two points. The device behaves as QoS 1 devices do: what
// was not acknowledged is sent again after the reconnect. Run against InfluxDB and against
// VictoriaMetrics, which keeps every sample it is sent (no deduplication here), so a reading
// written twice would show as two samples there too.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd } from '../../helpers/influxd.ts';
import { freePort, tempDir, waitFor } from '../../helpers/net.ts';
import { startVictoria } from '../../helpers/victoria.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SECRET = 'sigkill-test-secret';

/** A history store as this test needs it: its write URL, stop and start, and the stored points. */
interface Store {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  points(): Promise<{ raw: number; time: number }[]>;
}

const STORES: [string, () => Promise<Store>][] = [
  [
    'InfluxDB',
    async () => {
      const influx = await startInfluxd();
      return {
        url: influx.url,
        stop: () => influx.stop(),
        start: () => influx.start(),
        close: () => influx.close(),
        points: async () => (await influx.rows('SELECT "raw" FROM "reading"')).map((r) => ({ raw: r.raw as number, time: r.time as number })),
      };
    },
  ],
  [
    'VictoriaMetrics',
    async () => {
      const vm = await startVictoria();
      return {
        url: vm.url,
        stop: () => vm.stop(),
        start: () => vm.start(),
        close: () => vm.close(),
        points: async () =>
          (await vm.series('{__name__="reading_raw",db="tend",sensor="tank-a"}')).flatMap((x) => x.values.map((raw, i) => ({ raw, time: x.timestamps[i]! }))),
      };
    },
  ],
];

const tmp = tempDir('tend-sigkill-');
let child: ChildProcess | null = null;
let output = '';

afterAll(() => {
  killTend();
  tmp.remove();
});

function killTend(): void {
  // the whole process group: npx, tsx and the node running tend
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function startTend(configFile: string, brokerPort: number): Promise<ChildProcess> {
  const c = spawn('npx', ['tsx', 'services/cli.ts', 'run', '--config', configFile], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  c.stderr!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  c.on('exit', (code, sig) => {
    output += `\n[tend exited: ${code ?? sig}]`;
  });
  c.on('error', (e) => {
    output += `\n[spawn error: ${e.message}]`;
  });
  child = c;
  try {
    await waitFor(() => output.includes('is running'), 90_000, 'tend started');
  } catch (err) {
    throw new Error(`${(err as Error).message}; tend said: ${output.slice(-3000)}`);
  }
  void brokerPort;
  return c;
}

function connect(port: number): Promise<MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    username: 'tank-a',
    password: SECRET,
    clientId: `tank-a-sigkill-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

describe.each(STORES)('tend killed with SIGKILL mid-stream, history in %s', (name, startStore) => {
  let store: Store;
  beforeAll(async () => {
    store = await startStore();
  });
  afterAll(async () => {
    killTend();
    await store?.close();
  });

  it('loses no accepted reading and duplicates none', async () => {
    const brokerPort = await freePort();
    const webPort = await freePort();
    const dir = join(tmp.dir, name);
    const configFile = join(tmp.dir, `${name}.yaml`);
    writeFileSync(
      configFile,
      [
        'version: 1',
        'village: { id: ashgrove, name: Ashgrove, population: 180 }',
        `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
        `web: { host: 127.0.0.1, port: ${webPort} }`,
        `storage: { dir: ${dir} }`,
        `influx: { url: "${store.url}", database: tend }`,
        'devices:',
        `  - { id: tank-a, secret: ${SECRET}, transport: mqtt, interval_s: 5 }`,
        'sensors:',
        '  - { id: tank-a, device: tank-a, metric: level_mm, kind: tank_level, tank: { shape: box, length_mm: 2000, width_mm: 2000, height_mm: 5000 } }',
        '',
      ].join('\n'),
    );

    const N = 3000;
    const base = Date.now() - 60_000;
    const acked = new Set<number>();
    const send = (client: MqttClient, i: number) =>
      client.publishAsync('tend/ashgrove/dev/tank-a/reading', JSON.stringify({ level_mm: 1000 + i, ts: base + i * 10 }), { qos: 1 }).then(
        () => {
          acked.add(i);
        },
        () => {},
      );

    output = '';
    await startTend(configFile, brokerPort);
    let client = await connect(brokerPort);
    // stream with 20 in flight; SIGKILL after 1,200 acknowledged
    let next = 0;
    const inflight = new Set<Promise<void>>();
    const streamUntil = async (n: number) => {
      while (acked.size < n) {
        while (inflight.size < 20 && next < N) {
          const p: Promise<void> = send(client, next++).finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await Promise.race(inflight);
      }
    };
    await streamUntil(600);
    // the history store goes away too, so at the kill the outbox surely holds accepted readings
    await store.stop();
    await streamUntil(1200);
    killTend();
    await new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('exit', () => r())));
    client.end(true);
    const ackedBeforeKill = acked.size;
    expect(ackedBeforeKill).toBeLessThan(N);

    await store.start();
    output = '';
    await startTend(configFile, brokerPort);
    client = await connect(brokerPort);
    // QoS 1: everything not acknowledged is sent again, then the rest of the stream
    const todo = Array.from({ length: N }, (_, i) => i).filter((i) => !acked.has(i));
    for (let k = 0; k < todo.length; k += 20) await Promise.all(todo.slice(k, k + 20).map((i) => send(client, i)));
    expect(acked.size).toBe(N);
    client.end(true);

    const count = async () => (await store.points()).length;
    await waitFor(async () => (await count()) >= N, 60_000, `every accepted reading in ${name}`);
    // give the writer a moment to show any extra point it might (wrongly) still send
    await new Promise((r) => setTimeout(r, 1500));
    const points = await store.points();
    expect(points).toHaveLength(N);
    expect(new Set(points.map((r) => r.raw)).size).toBe(N);
    // each point at its reading's own timestamp
    const times = points.map((r) => r.time).sort((a, b) => a - b);
    expect(new Set(times).size).toBe(N);
    expect(times[0]).toBe(base);
    expect(times[N - 1]).toBe(base + (N - 1) * 10);
    killTend();
  }, 240_000);
});
