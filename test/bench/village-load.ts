// The solar-budget figures: tend run as users run it (`bin/tend.js run --config`, the start-up bundle),
// under a village's steady load — 50 devices × 10 tank sensors, one reading per message, each
// sensor once a second (500 readings/s), QoS 1, history into a real InfluxDB 1.6 — and in the
// same run the lean hand-wired baseline: Mosquitto plus a minimal mqtt.js subscriber writing
// batched line protocol to the same InfluxDB. CPU and memory come from /proc, for tend's process
// and for the baseline's two processes. Also: a village at rest (idle CPU).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { freePort, tempDir } from '../helpers/net.ts';
import { cpuSeconds, findPid, rssMb, tendCommand } from './proc.ts';
import { boxTanks } from './tank-village.ts';

const HERE = import.meta.dirname;
const VILLAGE = 'benchvale';
const DEVICES = 50;
const SENSORS = 10;
/** messages per device per second: one reading each, so every sensor reads once a second */
const PER_DEVICE_HZ = SENSORS;

export interface VillageLoadOptions {
  root: string;
  quick: boolean;
  /** also run tend once more under `node --cpu-prof` and leave the .cpuprofile here */
  profileDir?: string;
  step?: (s: string) => void;
}

export interface SideFigures {
  cpu_us_per_reading: number;
  cpu_s: number;
  rss_mb: number;
  sent: number;
  acked: number;
  kept: number;
  puback_p50: number;
  puback_p99: number;
}

export interface VillageLoadResult {
  readings: number;
  duration_s: number;
  tend: SideFigures & { accepted: number };
  baseline: SideFigures & { mosquitto_rss_mb: number; subscriber_rss_mb: number; mosquitto_cpu_s: number; subscriber_cpu_s: number };
  /** the floor: a Node process that only frames, parses and acknowledges (floor-acker.mjs) */
  floor: { bare_cpu_us_per_reading: number; aedes_cpu_us_per_reading: number };
  /** tend again, the same readings a second, but each device's 10 sensors in one message */
  together: SideFigures & { accepted: number };
  profile?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function devices() {
  return Array.from({ length: DEVICES }, (_, i) => ({ id: `node-${i}`, secret: `bench-secret-${i}` }));
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 100) / 100;
}

interface PublisherDone {
  sent: number;
  acked: number;
  errors: number;
  latencies_ms: number[];
}

/** two publisher processes, each half the devices; resolves once all are connected */
async function startLoad(url: string, durationS: number, perMessage = 1): Promise<{ go(): Promise<PublisherDone>; kill(): void }> {
  const devs = devices();
  const children: ChildProcess[] = [];
  const results: Promise<PublisherDone>[] = [];
  for (const part of [devs.slice(0, DEVICES / 2), devs.slice(DEVICES / 2)]) {
    const child = fork(
      join(HERE, 'load-publisher.ts'),
      [
        JSON.stringify({
          url,
          devices: part,
          village: VILLAGE,
          sensors: SENSORS,
          // the same readings a second either way: one a message, or a device's sensors together
          per_device_hz: PER_DEVICE_HZ / perMessage,
          per_message: perMessage,
          duration_s: durationS,
        }),
      ],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (c) => reject(new Error(`load publisher exited ${c} before connecting`)));
    });
    results.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: PublisherDone & { done?: boolean }) => {
          if (m.done) resolve(m);
        });
        child.once('exit', (c) => reject(new Error(`load publisher exited ${c} before reporting`)));
      }),
    );
  }
  return {
    async go() {
      for (const c of children) c.send('go');
      const all = await Promise.all(results);
      return {
        sent: all.reduce((s, r) => s + r.sent, 0),
        acked: all.reduce((s, r) => s + r.acked, 0),
        errors: all.reduce((s, r) => s + r.errors, 0),
        latencies_ms: all.flatMap((r) => r.latencies_ms),
      };
    },
    kill: () => {
      for (const c of children) c.kill();
    },
  };
}

async function countKept(influx: Influxd, db: string): Promise<number> {
  try {
    const rows = await influx.rows('SELECT count(value) FROM reading', db);
    return Number(rows[0]?.count ?? 0);
  } catch {
    return 0;
  }
}

/** wait until `want` readings are in InfluxDB, or 30 s pass without progress */
async function waitKept(influx: Influxd, db: string, want: number): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await countKept(influx, db);
    if (n >= want) return n;
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since > 30_000) return n;
    await sleep(500);
  }
}

/** peak RSS, sampled every 250 ms (VmHWM is read at the end too: the higher wins) */
function sampleRss(pids: number[]): { stop(): number[] } {
  const peak = pids.map(() => 0);
  const take = () =>
    pids.forEach((pid, i) => {
      try {
        peak[i] = Math.max(peak[i]!, rssMb(pid).rss);
      } catch {
        /* exited */
      }
    });
  take();
  const timer = setInterval(take, 250);
  return {
    stop() {
      clearInterval(timer);
      take();
      return pids.map((pid, i) => {
        try {
          return Math.max(peak[i]!, rssMb(pid).hwm);
        } catch {
          return peak[i]!;
        }
      });
    },
  };
}

interface TendProcess {
  pid: number;
  webPort: number;
  brokerUrl: string;
  stop(): Promise<void>;
}

/** `node <the unit's flags> bin/tend.js run --config FILE` (as the systemd unit runs it) with a generated config; resolves once it says it runs */
async function startTend(command: string[], root: string, config: object, dir: string, nodeArgs: string[] = []): Promise<TendProcess> {
  const file = join(dir, 'village.yaml');
  // JSON is YAML: the config written as users would, minus the comments
  writeFileSync(file, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [...nodeArgs, ...command, 'run', '--config', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const end = Date.now() + 60_000;
  while (!out.includes('is running')) {
    if (child.exitCode !== null) throw new Error(`tend exited on start (${child.exitCode}): ${out.slice(-2000)}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`tend did not start within 60 s: ${out.slice(-2000)}`);
    }
    await sleep(20);
  }
  const c = config as { web: { port: number }; broker: { embedded: { port: number } } };
  return {
    pid: child.pid!,
    webPort: c.web.port,
    brokerUrl: `mqtt://127.0.0.1:${c.broker.embedded.port}`,
    async stop() {
      if (child.exitCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
    },
  };
}

async function tendConfig(dir: string, influxUrl: string): Promise<object> {
  return {
    version: 1,
    village: { id: VILLAGE, name: 'Benchvale', population: 200, timezone: 'UTC' },
    broker: { embedded: { host: '127.0.0.1', port: await freePort() } },
    web: { host: '127.0.0.1', port: await freePort() },
    storage: { dir },
    influx: { url: influxUrl, database: 'tend' },
    devices: devices().map((d) => ({ ...d, transport: 'mqtt', interval_s: 1 })),
    sensors: boxTanks(devices(), SENSORS),
  };
}

async function acceptedFromMetrics(webPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^tend_readings_accepted_total(?:\{[^}]*\})? (\S+)$/gm)) n += Number(m[1]);
    return n;
  } catch {
    return null;
  }
}

/** tend under the load; `nodeArgs` go before the unit's command, `perMessage` readings go in each publish */
async function runTend(command: string[], o: VillageLoadOptions, influx: Influxd, durationS: number, run: { nodeArgs?: string[]; perMessage?: number } = {}) {
  const { nodeArgs = [], perMessage = 1 } = run;
  const tmp = tempDir('tend-bench-load-');
  try {
    const tend = await startTend(command, o.root, await tendConfig(tmp.dir, influx.url), tmp.dir, nodeArgs);
    try {
      const load = await startLoad(tend.brokerUrl, durationS, perMessage);
      await sleep(2000); // start-up work settles before the count begins
      const before = await countKept(influx, 'tend');
      const rss = sampleRss([tend.pid]);
      const cpu0 = cpuSeconds(tend.pid);
      const pubs = await load.go();
      // CPU until every acknowledged reading is in InfluxDB: the history writes are part of the cost
      const kept = (await waitKept(influx, 'tend', before + pubs.acked * perMessage)) - before;
      const cpu1 = cpuSeconds(tend.pid);
      const [peak] = rss.stop();
      const accepted = (await acceptedFromMetrics(tend.webPort)) ?? pubs.acked * perMessage;
      load.kill();
      return { pubs, kept, cpu: cpu1 - cpu0, rss: peak!, accepted };
    } finally {
      await tend.stop();
    }
  } finally {
    tmp.remove();
  }
}

async function runBaseline(influx: Influxd, durationS: number) {
  const users: Record<string, string> = { baseline: 'bench-baseline-secret' };
  for (const d of devices()) users[d.id] = d.secret;
  const acl = `user baseline\ntopic read tend/#\n\npattern write tend/${VILLAGE}/dev/%u/#\n`;
  const broker = await startMosquitto({ users, acl });
  try {
    const mosqPid = findPid(join(broker.dir, 'mosquitto.conf'));
    if (!mosqPid) throw new Error('could not find the mosquitto process');
    const sub = fork(
      join(HERE, 'baseline-subscriber.mjs'),
      [
        JSON.stringify({
          url: broker.url,
          username: 'baseline',
          password: 'bench-baseline-secret',
          village: VILLAGE,
          influx: influx.url,
          database: 'baseline',
        }),
      ],
      { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        sub.once('message', () => resolve());
        sub.once('exit', (c) => reject(new Error(`baseline subscriber exited ${c}`)));
      });
      const load = await startLoad(broker.url, durationS);
      await sleep(2000);
      const before = await countKept(influx, 'baseline');
      const rss = sampleRss([sub.pid!, mosqPid]);
      const sub0 = cpuSeconds(sub.pid!);
      const mosq0 = cpuSeconds(mosqPid);
      const pubs = await load.go();
      const kept = (await waitKept(influx, 'baseline', before + pubs.acked)) - before;
      const subCpu = cpuSeconds(sub.pid!) - sub0;
      const mosqCpu = cpuSeconds(mosqPid) - mosq0;
      const [subRss, mosqRss] = rss.stop();
      load.kill();
      return { pubs, kept, cpu: subCpu + mosqCpu, subCpu, mosqCpu, subRss: subRss!, mosqRss: mosqRss! };
    } finally {
      sub.kill();
    }
  } finally {
    await broker.close();
  }
}

/** a floor-acker.mjs process (`bare` or `aedes`) under the same load: its CPU per acknowledged reading */
async function runFloor(mode: 'bare' | 'aedes', durationS: number): Promise<number> {
  const port = await freePort();
  const acker = fork(join(HERE, 'floor-acker.mjs'), [JSON.stringify({ mode, port })], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise<void>((resolve, reject) => {
      acker.once('message', () => resolve());
      acker.once('exit', (c) => reject(new Error(`floor acker (${mode}) exited ${c}`)));
    });
    const load = await startLoad(`mqtt://127.0.0.1:${port}`, durationS);
    await sleep(2000);
    const cpu0 = cpuSeconds(acker.pid!);
    const pubs = await load.go();
    const cpu = cpuSeconds(acker.pid!) - cpu0;
    load.kill();
    return pubs.acked > 0 ? (cpu * 1e6) / pubs.acked : Number.NaN;
  } finally {
    acker.kill();
  }
}

function side(pubs: PublisherDone, cpu: number, per: number, rss: number, kept: number) {
  const lat = [...pubs.latencies_ms].sort((a, b) => a - b);
  return {
    cpu_us_per_reading: per > 0 ? (cpu * 1e6) / per : Number.NaN,
    cpu_s: cpu,
    rss_mb: rss,
    sent: pubs.sent,
    acked: pubs.acked,
    kept,
    puback_p50: quantile(lat, 0.5),
    puback_p99: quantile(lat, 0.99),
  };
}

export async function benchVillageLoad(o: VillageLoadOptions): Promise<VillageLoadResult> {
  const step = o.step ?? (() => {});
  const command = tendCommand(o.root);
  const durationS = o.quick ? 15 : 60;
  const influx = await startInfluxd({ database: 'tend' });
  try {
    await influx.query('CREATE DATABASE baseline');
    step(`village_load: tend (bin/tend.js), ${DEVICES * SENSORS} readings/s for ${durationS} s`);
    const t = await runTend(command, o, influx, durationS);
    step('village_load: Mosquitto + minimal mqtt.js subscriber, same load');
    const b = await runBaseline(influx, durationS);
    step('village_load: the floor, a bare Node acker and plain aedes, same load');
    const bare = await runFloor('bare', durationS);
    const plainAedes = await runFloor('aedes', durationS);
    step(`village_load: tend again, each device's ${SENSORS} readings in one message`);
    const g = await runTend(command, o, influx, durationS, { perMessage: SENSORS });
    const result: VillageLoadResult = {
      readings: DEVICES * PER_DEVICE_HZ * durationS,
      duration_s: durationS,
      tend: { ...side(t.pubs, t.cpu, t.accepted, t.rss, t.kept), accepted: t.accepted },
      baseline: {
        ...side(b.pubs, b.cpu, b.pubs.acked, b.subRss + b.mosqRss, b.kept),
        mosquitto_rss_mb: b.mosqRss,
        subscriber_rss_mb: b.subRss,
        mosquitto_cpu_s: b.mosqCpu,
        subscriber_cpu_s: b.subCpu,
      },
      floor: { bare_cpu_us_per_reading: bare, aedes_cpu_us_per_reading: plainAedes },
      together: { ...side(g.pubs, g.cpu, g.accepted, g.rss, g.kept), accepted: g.accepted },
    };
    if (o.profileDir) {
      step(`village_load: tend once more under --cpu-prof (${o.profileDir})`);
      const before = new Set(readdirSync(o.profileDir));
      await runTend(command, o, influx, durationS, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', o.profileDir] });
      const made = readdirSync(o.profileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
      if (made[0]) result.profile = join(o.profileDir, made[0]);
    }
    return result;
  } finally {
    await influx.close();
  }
}

/** A village of 15 sensors (the demo config, without its simulated devices) at rest: CPU % of one core. */
export async function benchIdle(o: { root: string; quick: boolean }): Promise<{ cpu_percent: number; cpu_s: number; rss_mb: number; seconds: number }> {
  const command = tendCommand(o.root);
  const tmp = tempDir('tend-bench-idle-');
  try {
    const web = await freePort();
    const mqttPort = await freePort();
    const file = join(tmp.dir, 'village.yaml');
    writeFileSync(
      file,
      readFileSync(join(o.root, 'config', 'demo.yaml'), 'utf8')
        .replace('port: 1883', `port: ${mqttPort}`)
        .replace('port: 8080', `port: ${web}`)
        .replace('dir: ./data/demo', `dir: ${tmp.dir}`),
    );
    const child = spawn(process.execPath, [...command, 'run', '--config', file], { cwd: o.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d.toString()));
    child.stderr!.on('data', (d) => (out += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const end = Date.now() + 60_000;
      while (!out.includes('is running')) {
        if (child.exitCode !== null || Date.now() > end) throw new Error(`tend did not start: ${out.slice(-2000)}`);
        await sleep(20);
      }
      await sleep(5000); // start-up work is not rest
      const seconds = o.quick ? 15 : 60;
      const cpu0 = cpuSeconds(child.pid!);
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const cpu = cpuSeconds(child.pid!) - cpu0;
      const wall = (performance.now() - t0) / 1000;
      return { cpu_percent: (cpu / wall) * 100, cpu_s: cpu, rss_mb: rssMb(child.pid!).rss, seconds };
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    tmp.remove();
  }
}
