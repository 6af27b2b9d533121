// A frozen subscriber (a socket that stops reading: a signboard on a dead link) and a slow one
// must not stall delivery to others or ingest, nor grow memory without bound; 10,000 connects
// and disconnects leave the connected-client count and memory where they started.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { connectDevice, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { metricValue, rawConnect, scrape, settledMemoryMb, settledRssMb, type RawConn } from './helpers.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  for (const c of cleanups) c();
  await village?.cleanup();
});

const V = 'tend/ashgrove';
const SECRETS: Record<string, string> = { 'tank-school': 'demo-school-77a2', 'tank-hill': 'demo-hill-c3d9', 'weather-mast': 'demo-weather-8d02' };

function connectFrame(device: string, clientId = `${device}-raw-${Math.random().toString(16).slice(2)}`, password = SECRETS[device]!): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId,
    username: device,
    password: Buffer.from(password),
  });
}

/** a raw subscriber that logs in, subscribes, and then reads only when told to */
async function rawSubscriber(device: string, filters: string[]): Promise<RawConn> {
  const c = await rawConnect(village.brokerPort);
  cleanups.push(() => c.socket.destroy());
  c.socket.write(connectFrame(device));
  c.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) }));
  await waitFor(() => Buffer.concat(c.received).includes(Buffer.from([0x90])), 10_000, 'SUBACK');
  return c;
}

/** publish `n` readings of tank-north at QoS 1, one after another; returns the slowest PUBACK (ms) */
async function northReadings(north: MqttClient, from: number, n: number): Promise<number> {
  let slowest = 0;
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    await north.publishAsync(`${V}/dev/tank-north/reading`, JSON.stringify({ distance_mm: from + i }), { qos: 1 });
    slowest = Math.max(slowest, Date.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  return slowest;
}

describe('frozen and slow subscribers', () => {
  it('a frozen subscriber on the reserve topic does not stall ingest or delivery to others, and is dropped', async () => {
    // a healthy signboard
    const healthy = await connectDevice(village, 'tank-hill');
    const seen: string[] = [];
    healthy.on('message', (_t, p) => seen.push(p.toString()));
    await healthy.subscribeAsync(`${V}/reserve`, { qos: 1 });
    // the frozen one: subscribed to the reserve and to its own device topics, then never reads again
    const frozen = await rawSubscriber('tank-school', [`${V}/reserve`, `${V}/dev/tank-school/#`]);
    frozen.socket.pause();
    const rssBefore = await settledRssMb();
    // fill its socket: 64 MB of junk on its own status topic (refused by ingest, forwarded by the broker)
    const flooder = await connectDevice(village, 'tank-school');
    const junk = Buffer.alloc(128 * 1024, 0x20);
    const flooding = (async () => {
      for (let i = 0; i < 512 && !flooder.disconnected; i++) {
        flooder.publish(`${V}/dev/tank-school/status`, junk, { qos: 0 });
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // meanwhile the north tank reports, and the healthy signboard sees each change
    const north = await connectDevice(village, 'tank-north');
    const accepted0 = village.ingest.accepted.get('tank-north') ?? 0;
    const slowest = await northReadings(north, 500, 100);
    await flooding;
    expect(village.ingest.accepted.get('tank-north')).toBe(accepted0 + 100);
    await waitFor(() => seen.some((s) => s.includes(`"level_mm":${2100 - 599}`)), 20_000, 'the healthy subscriber sees the last north reading');
    // a stall would last the broker's drainTimeout (10 s); allow plenty for a loaded machine below that
    expect(slowest, `slowest PUBACK ${slowest} ms`).toBeLessThan(5000);
    // the frozen subscriber is dropped rather than buffered for ever
    // (healthy, north and the flooder remain: 3 clients)
    await waitFor(async () => (metricValue(await scrape(village), 'tend_broker_clients') ?? 99) <= 3, 30_000, 'the frozen subscriber dropped');
    const rssAfter = await settledRssMb();
    expect(rssAfter - rssBefore, `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`).toBeLessThan(200);
    healthy.end(true);
    north.end(true);
    flooder.end(true);
    frozen.socket.destroy();
  }, 120_000);

  it('a slow subscriber (reads a little now and then) does not slow ingest; its backlog stays bounded', async () => {
    const slow = await rawSubscriber('weather-mast', [`${V}/reserve`, `${V}/dev/weather-mast/#`]);
    slow.socket.pause();
    let reading = true;
    const trickle = (async () => {
      while (reading && !slow.isClosed()) {
        slow.socket.resume();
        await new Promise((r) => setTimeout(r, 10));
        slow.socket.pause();
        slow.received.length = 0;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const flooder = await connectDevice(village, 'weather-mast');
    const junk = Buffer.alloc(64 * 1024, 0x20);
    const flooding = (async () => {
      for (let i = 0; i < 512 && !flooder.disconnected; i++) {
        flooder.publish(`${V}/dev/weather-mast/status`, junk, { qos: 0 });
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const rssBefore = await settledRssMb();
    const north = await connectDevice(village, 'tank-north');
    const accepted0 = village.ingest.accepted.get('tank-north') ?? 0;
    const slowest = await northReadings(north, 700, 100);
    await flooding;
    expect(village.ingest.accepted.get('tank-north')).toBe(accepted0 + 100);
    expect(slowest, `slowest PUBACK ${slowest} ms`).toBeLessThan(5000);
    const rssAfter = await settledRssMb();
    expect(rssAfter - rssBefore, `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`).toBeLessThan(200);
    reading = false;
    await trickle;
    north.end(true);
    flooder.end(true);
    slow.socket.destroy();
  }, 120_000);
});

describe('connection churn', () => {
  it('10,000 connects and disconnects leave the client count and memory where they started', async () => {
    await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === 0, 30_000, 'no clients before the churn');
    const TOTAL = 10_000;
    const PARALLEL = 50;
    let done = 0;
    let accepted = 0;
    let refused = 0;
    const one = async (i: number) => {
      const c = await rawConnect(village.brokerPort);
      const kind = i % 5;
      if (kind === 4) {
        c.socket.write(connectFrame('tank-hill', undefined, 'wrong-password'));
      } else {
        c.socket.write(connectFrame('tank-hill', `tank-hill-churn-${i}`));
      }
      // wait for the CONNACK (event-driven: polling 10,000 sockets would dominate the run time)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no CONNACK for connection ${i}`)), 30_000);
        const check = () => {
          if (c.received.reduce((n, b) => n + b.length, 0) >= 4 || c.isClosed()) {
            clearTimeout(timer);
            c.socket.off('data', check);
            resolve();
          }
        };
        c.socket.on('data', check);
        void c.closed.then(check);
        check();
      });
      const ack = Buffer.concat(c.received);
      if (ack[3] === 0) accepted++;
      else refused++;
      if (kind === 0)
        c.socket.end(mqttPacket.generate({ cmd: 'disconnect' })); // clean DISCONNECT
      else if (kind === 1)
        c.socket.destroy(); // power cut: no DISCONNECT
      else if (kind === 2)
        c.socket.end(); // FIN without DISCONNECT
      else if (kind === 3) {
        c.socket.resetAndDestroy();
      } // RST
      else c.socket.destroy();
      await c.closed;
      done++;
    };
    const churn = async (count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < count) await one(next++);
        }),
      );
    };
    // warm up first: the first thousand connections grow the allocator's pools once (measured:
    // RSS flat over later rounds of 10,000), which is not a leak
    await churn(1000);
    done = accepted = refused = 0;
    await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === 0, 30_000, 'no clients after the warm-up');
    // A leak grows with connections: reachable heap (after full collections) above where it
    // started, sockets (file descriptors) left open, or RSS rising on every round. RSS alone steps
    // up unevenly while V8's heap and malloc's arenas grow and keep their pages, then stays:
    // measured on Node 24, RSS 235 → 369 → 417 → 423 → 424 → 424 MB over five rounds of 10,000
    // with the reachable heap at 36.6–37.3 MB throughout; a CI run saw 182 → 315 → 317 → 347 MB
    // with the heap at 29.6–30.2 MB (a late step, not a trend). So RSS is judged by its smallest
    // step of the last two rounds: a leak of even 3 KB a connection makes every step 30 MB.
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = await settledMemoryMb();
    const fdsBefore = openFds();
    const round = async () => {
      done = accepted = refused = 0;
      await churn(TOTAL);
      expect(done).toBe(TOTAL);
      expect(accepted).toBe((TOTAL * 4) / 5);
      expect(refused).toBe(TOTAL / 5);
      await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === 0, 30_000, 'client count back to 0');
      return settledMemoryMb();
    };
    const rounds = [await round(), await round(), await round()];
    const mb = (m: { heapUsed: number; rss: number }) => `heap ${m.heapUsed.toFixed(1)} MB, RSS ${m.rss.toFixed(0)} MB`;
    const story = `before: ${mb(before)}; after each 10,000: ${rounds.map(mb).join('; ')}`;
    const last = rounds[2]!;
    expect(last.heapUsed - before.heapUsed, story).toBeLessThan(10);
    expect(openFds() - fdsBefore, story).toBeLessThan(10);
    const steps = [rounds[1]!.rss - rounds[0]!.rss, last.rss - rounds[1]!.rss];
    expect(Math.min(...steps), story).toBeLessThan(30);
    expect(last.rss - before.rss, story).toBeLessThan(300);
    // a device still gets in afterwards, and the broker's log did not get one line per connection
    const d = await connectDevice(village, 'tank-hill');
    await d.publishAsync(`${V}/dev/tank-hill/reading`, '{"level_mm": 1200}', { qos: 1 });
    await waitFor(() => village.refresh().water.tanks.find((t) => t.id === 'hill')!.liters === 9800, 10_000, 'hill reading after the churn');
    d.end(true);
    expect(village.logs.length, village.logs.slice(-5).join('\n')).toBeLessThan(500);
  }, 420_000);
});
