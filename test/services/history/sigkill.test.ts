// tend killed with SIGKILL mid-stream and started again: every reading it had accepted (QoS 1:
// PUBACK sent, so durable in the SQLite outbox first) reaches InfluxDB once, with its own
// timestamp, and no reading becomes two points. The device behaves as QoS 1 devices do: what
// was not acknowledged is sent again after the reconnect.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';
import { freePort, tempDir, waitFor } from '../../helpers/net.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SECRET = 'sigkill-test-secret';

let influx: Influxd;
const tmp = tempDir('tend-sigkill-');
let child: ChildProcess | null = null;
let output = '';

beforeAll(async () => {
  influx = await startInfluxd();
});
afterAll(async () => {
  killTend();
  await influx?.close();
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

describe('tend killed with SIGKILL mid-stream', () => {
  it('loses no accepted reading and duplicates none', async () => {
    const brokerPort = await freePort();
    const webPort = await freePort();
    const configFile = join(tmp.dir, 'village.yaml');
    writeFileSync(
      configFile,
      [
        'version: 1',
        'village: { id: ashgrove, name: Ashgrove, population: 180 }',
        `broker: { embedded: { host: 127.0.0.1, port: ${brokerPort} } }`,
        `web: { host: 127.0.0.1, port: ${webPort} }`,
        `storage: { dir: ${join(tmp.dir, 'data')} }`,
        `influx: { url: "${influx.url}", database: tend }`,
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
    // InfluxDB goes away too, so at the kill the outbox surely holds accepted readings
    await influx.stop();
    await streamUntil(1200);
    killTend();
    await new Promise<void>((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('exit', () => r())));
    client.end(true);
    const ackedBeforeKill = acked.size;
    expect(ackedBeforeKill).toBeLessThan(N);

    await influx.start();
    output = '';
    await startTend(configFile, brokerPort);
    client = await connect(brokerPort);
    // QoS 1: everything not acknowledged is sent again, then the rest of the stream
    const todo = Array.from({ length: N }, (_, i) => i).filter((i) => !acked.has(i));
    for (let k = 0; k < todo.length; k += 20) await Promise.all(todo.slice(k, k + 20).map((i) => send(client, i)));
    expect(acked.size).toBe(N);
    client.end(true);

    const count = async () => ((await influx.rows('SELECT count("raw") AS n FROM "reading"'))[0]?.n as number | undefined) ?? 0;
    await waitFor(async () => (await count()) >= N, 60_000, 'every accepted reading in InfluxDB');
    // give the writer a moment to show any extra point it might (wrongly) still send
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(N);
    const rows = await influx.rows('SELECT "raw" FROM "reading"');
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.raw)).size).toBe(N);
    // each point at its reading's own timestamp
    const times = rows.map((r) => r.time as number).sort((a, b) => a - b);
    expect(times[0]).toBe(base);
    expect(times[N - 1]).toBe(base + (N - 1) * 10);
    killTend();
  }, 240_000);
});
