// `npm run bench`: tend's speed and memory, each figure measured beside its baseline in the same
// run so a ratio holds on a noisy shared machine. Prints a table and writes test/bench/results.json.
import { fork, spawn } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import type { Config } from '../../config/schema.ts';
import { startVillage } from '../../services/village.ts';
import { freePort, tempDir } from '../helpers/net.ts';
import { serviceNodeFlags, tendCommand } from './proc.ts';
import { benchConfig } from './tank-village.ts';
import { benchIdle, benchVillageLoad } from './village-load.ts';
import { topOfProfile } from './profile-top.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const QUICK = process.argv.includes('--quick');
/** `--profile`: run tend once more under the village load with `node --cpu-prof` and summarise it */
const PROFILE = process.argv.includes('--profile');
/** `--only ingest,memory` (or `--only=…`): run just those parts (names as in the step keys below) */
const ONLY =
  (
    process.argv.find((a) => a.startsWith('--only='))?.slice(7) ??
    (process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined)
  )?.split(',') ?? null;
const want = (part: string) => !ONLY || ONLY.includes(part);
const results: Record<string, unknown> = {};
const notes: string[] = [];

function set(path: string, value: unknown) {
  results[path] = value;
}

interface PublisherRun {
  start(): void;
  done: Promise<void>;
  kill(): void;
}

async function startPublishers(url: string, config: Config, total: number, batch: number, processes = 2): Promise<PublisherRun[]> {
  const devs = config.devices;
  const per = Math.ceil(devs.length / processes);
  const runs: PublisherRun[] = [];
  for (let p = 0; p < processes; p++) {
    const mine = devs.slice(p * per, (p + 1) * per).map((d) => ({ id: d.id, secret: d.secret }));
    const child = fork(
      join(HERE, 'publisher.ts'),
      [
        JSON.stringify({
          url,
          devices: mine,
          village: config.village.id,
          count: Math.ceil(total / batch / processes),
          batch,
          metric: 'level_mm',
        }),
      ],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (c) => reject(new Error(`publisher exited ${c}`)));
    });
    const done = new Promise<void>((resolve) =>
      child.on('message', (m: { done?: boolean }) => {
        if (m.done) resolve();
      }),
    );
    runs.push({ start: () => child.send('go'), done, kill: () => child.kill() });
  }
  return runs;
}

async function measure(count: () => number, target: number, run: () => Promise<PublisherRun[]>): Promise<number> {
  const pubs = await run();
  const before = count();
  const t0 = performance.now();
  for (const p of pubs) p.start();
  const deadline = Date.now() + 180_000;
  while (count() - before < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - t0) / 1000;
  const got = count() - before;
  for (const p of pubs) p.kill();
  if (got < target) notes.push(`only ${got} of ${target} readings arrived within the time limit`);
  return got / elapsed;
}

/** The transport's own ceiling: the same broker code, a subscriber that only parses JSON. */
async function plainAedes(config: Config): Promise<{ url: string; count(): number; stop(): Promise<void> }> {
  const secrets = new Map(config.devices.map((d) => [d.id, d.secret]));
  const broker = await Aedes.createBroker({
    authenticate: (_c, u, p, done) => done(null, !!u && secrets.get(u) === p?.toString()),
  });
  let n = 0;
  broker.subscribe(
    `tend/${config.village.id}/dev/+/reading`,
    (packet, cb) => {
      const obj = JSON.parse(packet.payload.toString()) as Record<string, number>;
      n += Object.keys(obj).length - 1; // minus seq
      cb();
    },
    () => {},
  );
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    count: () => n,
    async stop() {
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * tend against the plain aedes subscriber, in pairs (plain, then tend, with the same publishers):
 * each figure is the median over the rounds, and the ratio the median of each round's own ratio,
 * so a round the machine was busy for moves both sides of one pair, not the result.
 */
async function benchIngest(batch: number, total: number, rounds: number): Promise<{ tend: number; ceiling: number; ratio: number }> {
  const config = benchConfig(8, batch);
  const pairs: { tend: number; ceiling: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const plain = await plainAedes(config);
    const ceiling = await measure(plain.count, total, () => startPublishers(plain.url, config, total, batch));
    await plain.stop();
    const tmp = tempDir('tend-bench-');
    const village = await startVillage({ config, storageDir: tmp.dir, brokerPort: 0, webPort: 0, log: () => {} });
    const tend = await measure(
      () => village.ingest.acceptedTotal,
      total,
      () => startPublishers(village.brokerUrl, config, total, batch),
    );
    await village.stop();
    tmp.remove();
    pairs.push({ tend, ceiling });
  }
  return {
    tend: median(pairs.map((p) => p.tend)),
    ceiling: median(pairs.map((p) => p.ceiling)),
    ratio: median(pairs.map((p) => p.tend / p.ceiling)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function benchMosquitto(total: number): Promise<{ tend: number; ceiling: number; version: string } | null> {
  let startMosquitto: typeof import('../helpers/mosquitto.ts').startMosquitto;
  try {
    ({ startMosquitto } = await import('../helpers/mosquitto.ts'));
  } catch (err) {
    notes.push(`mosquitto bench skipped: ${(err as Error).message}`);
    return null;
  }
  const base = benchConfig(8, 1);
  const users: Record<string, string> = { tend: 'bench-tend-secret' };
  for (const d of base.devices) users[d.id] = d.secret!;
  const acl = `user tend\ntopic readwrite tend/#\n\npattern write tend/benchvale/dev/%u/#\n`;
  const broker = await startMosquitto({ users, acl });
  try {
    const sub = await mqtt.connectAsync(broker.url, { username: 'tend', password: 'bench-tend-secret', clientId: 'bench-plain' });
    let n = 0;
    sub.on('message', (_t, p) => {
      const o = JSON.parse(p.toString());
      n += Object.keys(o).length - 1;
    });
    await sub.subscribeAsync('tend/benchvale/dev/+/reading', { qos: 0 });
    const ceiling = await measure(
      () => n,
      total,
      () => startPublishers(broker.url, base, total, 1),
    );
    await sub.endAsync();
    const config = benchConfig(8, 1, {
      broker: { url: broker.url, username: 'tend', password: 'bench-tend-secret', client_id: 'tend-bench' },
    } as Partial<Config>);
    const tmp = tempDir('tend-bench-');
    const village = await startVillage({ config, storageDir: tmp.dir, webPort: 0, log: () => {} });
    const tend = await measure(
      () => village.ingest.acceptedTotal,
      total,
      () => startPublishers(broker.url, config, total, 1),
    );
    await village.stop();
    tmp.remove();
    let version = 'mosquitto';
    try {
      version = execFileSync('mosquitto', ['-h']).toString().split('\n')[0]!;
    } catch (e) {
      version = String((e as { stdout?: Buffer }).stdout ?? '').split('\n')[0] ?? 'mosquitto';
    }
    return { tend, ceiling, version };
  } finally {
    await broker.close();
  }
}

/**
 * The memory figure from a process that loads tend and nothing of the bench harness (RSS counts
 * the whole process), with the Node flags and heap sizing a gateway runs with: test/bench/memory.ts.
 */
function memoryInChild(): Promise<{ rss_mb: number; growth_last_half_mb: number; baseline_rss_mb: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(join(HERE, 'memory.ts'), QUICK ? ['--quick'] : [], {
      execArgv: ['--expose-gc', ...serviceNodeFlags(ROOT), '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve(m as { rss_mb: number; growth_last_half_mb: number; baseline_rss_mb: number }));
    child.once('exit', (c) => reject(new Error(`memory bench exited ${c}`)));
  });
}

/** From launch of `tend run` to ready: broker listening and page served. */
async function benchStartup(): Promise<number> {
  const tmp = tempDir('tend-bench-');
  const web = await freePort();
  const mqttPort = await freePort();
  const file = join(tmp.dir, 'v.yaml');
  writeFileSync(
    file,
    readFileSync(join(ROOT, 'config', 'demo.yaml'), 'utf8')
      .replace('port: 1883', `port: ${mqttPort}`)
      .replace('port: 8080', `port: ${web}`)
      .replace('dir: ./data/demo', `dir: ${tmp.dir}`),
  );
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    // the bundle `npm install` builds, started as the systemd unit and `npm start` start it
    const child = spawn(process.execPath, [...tendCommand(ROOT), 'run', '--config', file], { stdio: 'ignore' });
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${web}/`);
        if (res.ok && (await res.text()).length > 0) {
          const ok = await new Promise<boolean>((r) => {
            const s = createServer();
            s.once('error', () => r(true)); // broker port is taken: it is listening
            s.listen(mqttPort, '127.0.0.1', () => s.close(() => r(false)));
          });
          if (ok) break;
        }
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    times.push(performance.now() - t0);
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
  tmp.remove();
  return Math.min(...times);
}

async function optional<T>(name: string, file: string, fn: string, ...args: unknown[]): Promise<T | null> {
  try {
    const mod = await import(join(HERE, file));
    if (typeof mod[fn] !== 'function') throw new Error(`${file} has no ${fn}()`);
    return (await mod[fn](...args)) as T;
  } catch (err) {
    notes.push(`${name}: not measured (${(err as Error).message.split('\n')[0]})`);
    return null;
  }
}

interface Row {
  figure: string;
  measured: string;
  baseline: string;
  target: string;
  /** null: not measured, or no target */
  met: boolean | null;
}

/** met when the figure is a number on the right side of its target; null when not measured */
function check(v: unknown, ok: (n: number) => boolean): boolean | null {
  return typeof v === 'number' && Number.isFinite(v) ? ok(v) : null;
}

function printTable(r: Record<string, number>) {
  const rows: Row[] = [
    {
      figure: 'CPU per reading, village load',
      measured: `${fmt(r['village_load.cpu_us_per_reading'], 1)} µs`,
      baseline: `${fmt(r['village_load.baseline_cpu_us_per_reading'], 1)} µs Mosquitto + lean subscriber`,
      target: '≤ 70 µs (goal 20)',
      met: check(r['village_load.cpu_us_per_reading'], (n) => n <= 70),
    },
    {
      figure: 'CPU ratio tend / baseline',
      measured: `${fmt(r['village_load.ratio'], 2)} ×`,
      baseline: '1 ×',
      target: '≤ 1.0',
      met: check(r['village_load.ratio'], (n) => n <= 1),
    },
    {
      figure: 'CPU per reading, the floor',
      measured: `${fmt(r['village_load.floor_bare_cpu_us_per_reading'], 1)} µs bare Node acker`,
      baseline: `${fmt(r['village_load.floor_aedes_cpu_us_per_reading'], 1)} µs plain aedes (no auth, nothing kept)`,
      target: 'reported',
      met: null,
    },
    {
      figure: 'CPU per reading, 10 a message',
      measured: `${fmt(r['village_load.together_cpu_us_per_reading'], 1)} µs`,
      baseline: `${fmt(r['village_load.cpu_us_per_reading'], 1)} µs one a message (above)`,
      target: 'reported',
      met: null,
    },
    {
      figure: 'peak RSS, village load',
      measured: `${fmt(r['village_load.rss_mb'], 1)} MB`,
      baseline: `${fmt(r['village_load.baseline_rss_mb'], 1)} MB (Mosquitto ${fmt(r['village_load.baseline_mosquitto_rss_mb'], 1)} + subscriber ${fmt(r['village_load.baseline_subscriber_rss_mb'], 1)})`,
      target: '≤ 100 MB',
      met: check(r['village_load.rss_mb'], (n) => n <= 100),
    },
    {
      figure: 'readings kept in InfluxDB',
      measured: `${fmt(r['village_load.kept'])} of ${fmt(r['village_load.readings'])}`,
      baseline: `${fmt(r['village_load.baseline_kept'])} of ${fmt(r['village_load.readings'])}`,
      target: 'all',
      met: check(r['village_load.kept'], (n) => n >= r['village_load.readings']!),
    },
    {
      figure: 'publish → PUBACK p50 / p99',
      measured: `${fmt(r['puback_ms.p50'], 1)} / ${fmt(r['puback_ms.p99'], 1)} ms`,
      baseline: `${fmt(r['puback_ms.baseline_p50'], 1)} / ${fmt(r['puback_ms.baseline_p99'], 1)} ms Mosquitto (not durable)`,
      target: 'reported',
      met: null,
    },
    {
      figure: 'idle CPU, 15 sensors at rest',
      measured: `${fmt(r['idle.cpu_percent'], 2)} % of a core`,
      baseline: `RSS ${fmt(r['idle.rss_mb'], 1)} MB`,
      target: '≤ 0.5 %',
      met: check(r['idle.cpu_percent'], (n) => n <= 0.5),
    },
    {
      figure: 'alert latency p50 / p99',
      measured: `${fmt(r['alert_latency_ms.p50'], 1)} / ${fmt(r['alert_latency_ms.p99'], 1)} ms`,
      baseline: 'publish → retained alerts topic',
      target: 'p99 ≤ 20 ms',
      met: check(r['alert_latency_ms.p99'], (n) => n <= 20),
    },
    {
      figure: 'ingest, 1 reading/message',
      measured: `${fmt(r['ingest.readings_per_s'])}/s`,
      baseline: `${fmt(r['ingest.ceiling_per_s'])}/s plain aedes; ratio ${fmt(r['ingest.ratio'], 2)}`,
      target: 'ratio ≥ 0.95 (goal 1.2)',
      met: check(r['ingest.ratio'], (n) => n >= 0.95),
    },
    {
      figure: 'ingest, 20 readings/message',
      measured: `${fmt(r['ingest_batched.readings_per_s'])}/s`,
      baseline: `${fmt(r['ingest_batched.ceiling_per_s'])}/s plain aedes; ratio ${fmt(r['ingest_batched.ratio'], 2)}`,
      target: '≥ 200,000/s',
      met: check(r['ingest_batched.readings_per_s'], (n) => n >= 200_000),
    },
    {
      figure: 'ingest via Mosquitto',
      measured: `${fmt(r['mosquitto.readings_per_s'])}/s`,
      baseline: `${fmt(r['mosquitto.ceiling_per_s'])}/s plain subscriber; ratio ${fmt(r['mosquitto.ratio'], 2)}`,
      target: 'reported',
      met: null,
    },
    {
      figure: 'status compute, 500 tanks',
      measured: `${fmt(r['status_compute.warm_ms'], 1)} ms after ${fmt(r['status_compute.minutes'])} min`,
      baseline: `${fmt(r['status_compute.cold_ms'], 1)} ms after 5 min; ratio ${fmt(r['status_compute.ratio'], 2)}; heap ${fmt(r['status_compute.heap_cold_mb'], 1)} → ${fmt(r['status_compute.heap_warm_mb'], 1)} MB`,
      target: '≤ 20 ms',
      met: check(r['status_compute.warm_ms'], (n) => n <= 20),
    },
    {
      figure: 'serial parser',
      measured: `${fmt(r['serial.mb_per_s'], 1)} MB/s`,
      baseline: `${fmt(r['serial.baseline_mb_per_s'], 1)} MB/s plain line splitter`,
      target: '≥ 10 MB/s',
      met: check(r['serial.mb_per_s'], (n) => n >= 10),
    },
    {
      figure: 'InfluxDB writes',
      measured: `${fmt(r['influx.points_per_s'])} points/s`,
      baseline: `${fmt(r['influx.baseline_points_per_s'])}/s influxd alone`,
      target: '≥ 100,000/s',
      met: check(r['influx.points_per_s'], (n) => n >= 100_000),
    },
    {
      figure: 'federation fan-out (100 villages)',
      measured: `${fmt(r['federation.fanout_ms_p50'], 1)} ms p50`,
      baseline: `${fmt(r['federation.messages_per_s'])} msg/s, ${fmt(r['federation.memory_per_village_kb'])} kB/village`,
      target: 'reported',
      met: null,
    },
    {
      figure: 'memory, 500 sensors × 10 min',
      measured: `${fmt(r['memory.rss_mb'], 1)} MB RSS`,
      baseline: `${fmt(r['memory.baseline_rss_mb'], 1)} MB without a village; growth ${fmt(r['memory.growth_last_half_mb'], 1)} MB`,
      target: '< 150 MB, flat',
      met: check(r['memory.rss_mb'], (n) => n < 150),
    },
    {
      figure: 'start-up to ready (bundle)',
      measured: `${fmt(r.startup_ms)} ms`,
      baseline: '',
      target: '< 1,000 ms',
      met: check(r.startup_ms, (n) => n < 1000),
    },
    {
      figure: 'scenario library, real pipeline',
      measured: `${fmt(r['scenarios.detected'])} of ${fmt(r['scenarios.damage'])} detected`,
      baseline: `false prompts ${fmt(r['scenarios.false_prompts_per_30_days'], 1)}, warnings ${fmt(r['scenarios.false_warnings_per_30_days'], 1)} /30 days`,
      target: 'all; 0 and ≤ 1',
      met: typeof r['scenarios.passed'] === 'number' ? r['scenarios.passed'] === r['scenarios.total'] && r['scenarios.false_prompts_per_30_days'] === 0 : null,
    },
  ];
  // a part not run this time shows no row (its main figure formats as —)
  const shown = rows.filter((row) => !row.measured.startsWith('—'));
  const mark = (m: boolean | null) => (m === true ? '✓ met' : m === false ? '✗ not met' : '');
  const head: [string, string, string, string, string] = ['figure', 'measured', 'baseline (same run)', 'target', ''];
  const table = [head, ...shown.map((x) => [x.figure, x.measured, x.baseline, x.target, mark(x.met)] as const)];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((t) => t[i]!.length)));
  process.stdout.write('\n');
  for (const t of table)
    process.stdout.write(
      `${t
        .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd()}\n`,
    );
}

/**
 * A full run writes results.json. A partial run (`--only`) merges its figures into results.json,
 * keeping the others, and records when each part was measured; a quick run writes
 * results.local.json and never touches the full figures.
 */
function writeResults() {
  const file = QUICK ? 'results.local.json' : 'results.json';
  const path = join(HERE, file);
  let old: Record<string, unknown> = {};
  if (ONLY && !QUICK) {
    try {
      old = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      old = {};
    }
  }
  const nested: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(results)) {
    const parts = k.split('.');
    let node = nested;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = v;
  }
  const now = new Date().toISOString();
  const measuredAt = { ...((old.measured_at as Record<string, string>) ?? {}) };
  for (const top of Object.keys(nested)) measuredAt[top] = now;
  const out = {
    ...old,
    ...nested,
    date: now,
    quick: QUICK,
    measured_at: measuredAt,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30), kernel: release() },
    versions: {
      node: process.version,
      aedes: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aedes', 'package.json'), 'utf8')).version,
      mqtt: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'mqtt', 'package.json'), 'utf8')).version,
      tend: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    },
    notes: ONLY && Array.isArray(old.notes) ? [...(old.notes as string[]), ...notes] : notes,
  };
  writeFileSync(path, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\nwrote test/bench/${file}${ONLY && !QUICK ? ` (merged: ${Object.keys(nested).join(', ')})` : ''}\n`);
}

function fmt(n: unknown, digits = 0): string {
  return typeof n === 'number' ? n.toLocaleString('en', { maximumFractionDigits: digits }) : '—';
}

let profileText = '';

async function main() {
  // a few seconds of sending each (the frames are encoded beforehand, so the broker takes them
  // at 150,000–250,000 a second): long enough that start-up and JIT warm-up wash out
  const total = QUICK ? 400_000 : 1_000_000;
  const step = (s: string) => process.stderr.write(`bench: ${s}…\n`);

  if (want('ingest')) {
    step('ingest, one reading per message (tend vs plain aedes subscriber)');
    const single = await benchIngest(1, total, QUICK ? 3 : 5);
    set('ingest.readings_per_s', single.tend);
    set('ingest.ceiling_per_s', single.ceiling);
    set('ingest.ratio', single.ratio);
  }
  if (want('batched')) {
    step('ingest, 20 readings per message');
    const batched = await benchIngest(20, total * 2, QUICK ? 1 : 3);
    set('ingest_batched.readings_per_s', batched.tend);
    set('ingest_batched.ceiling_per_s', batched.ceiling);
    set('ingest_batched.ratio', batched.ratio);
  }
  if (want('mosquitto')) {
    step('ingest through Mosquitto as the external broker');
    const mosq = await benchMosquitto(QUICK ? 20_000 : 100_000);
    if (mosq) {
      set('mosquitto.readings_per_s', mosq.tend);
      set('mosquitto.ceiling_per_s', mosq.ceiling);
      set('mosquitto.ratio', mosq.tend / mosq.ceiling);
      set('mosquitto.version', mosq.version);
    }
  }
  if (want('village_load')) {
    step('village_load: 50 devices × 10 tank sensors, 500 readings/s, QoS 1, into InfluxDB (tend bundle vs Mosquitto + lean subscriber)');
    try {
      const profileDir = PROFILE ? tempDir('tend-bench-profile-').dir : undefined;
      const v = await benchVillageLoad({ root: ROOT, quick: QUICK, profileDir, step });
      set('village_load.readings', v.readings);
      set('village_load.duration_s', v.duration_s);
      set('village_load.cpu_us_per_reading', v.tend.cpu_us_per_reading);
      set('village_load.baseline_cpu_us_per_reading', v.baseline.cpu_us_per_reading);
      set('village_load.ratio', v.tend.cpu_us_per_reading / v.baseline.cpu_us_per_reading);
      set('village_load.floor_bare_cpu_us_per_reading', v.floor.bare_cpu_us_per_reading);
      set('village_load.floor_aedes_cpu_us_per_reading', v.floor.aedes_cpu_us_per_reading);
      set('village_load.together_cpu_us_per_reading', v.together.cpu_us_per_reading);
      set('village_load.together_kept', v.together.kept);
      set('village_load.together_puback_p50', v.together.puback_p50);
      if (v.together.kept < v.together.accepted)
        notes.push(`village_load: with 10 readings a message InfluxDB kept ${v.together.kept} of ${v.together.accepted}`);
      set('village_load.rss_mb', v.tend.rss_mb);
      set('village_load.baseline_rss_mb', v.baseline.rss_mb);
      set('village_load.baseline_mosquitto_rss_mb', v.baseline.mosquitto_rss_mb);
      set('village_load.baseline_subscriber_rss_mb', v.baseline.subscriber_rss_mb);
      set('village_load.accepted', v.tend.accepted);
      set('village_load.acked', v.tend.acked);
      set('village_load.kept', v.tend.kept);
      set('village_load.baseline_kept', v.baseline.kept);
      set('village_load.cpu_s', v.tend.cpu_s);
      set('village_load.baseline_cpu_s', v.baseline.cpu_s);
      set('village_load.baseline_mosquitto_cpu_s', v.baseline.mosquitto_cpu_s);
      set('village_load.baseline_subscriber_cpu_s', v.baseline.subscriber_cpu_s);
      set('puback_ms.p50', v.tend.puback_p50);
      set('puback_ms.p99', v.tend.puback_p99);
      set('puback_ms.baseline_p50', v.baseline.puback_p50);
      set('puback_ms.baseline_p99', v.baseline.puback_p99);
      if (v.tend.acked < v.tend.sent) notes.push(`village_load: tend acknowledged ${v.tend.acked} of ${v.tend.sent} publishes`);
      if (v.baseline.acked < v.baseline.sent) notes.push(`village_load: Mosquitto acknowledged ${v.baseline.acked} of ${v.baseline.sent} publishes`);
      if (v.profile) {
        set('village_load.profile', v.profile);
        profileText = topOfProfile(v.profile, join(ROOT, 'dist', 'tend.mjs'));
      }
    } catch (err) {
      notes.push(`village_load: not measured (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (want('idle')) {
    step(`idle: a village of 15 sensors at rest, ${QUICK ? 15 : 60} s (tend bundle)`);
    try {
      const idle = await benchIdle({ root: ROOT, quick: QUICK });
      set('idle.cpu_percent', idle.cpu_percent);
      set('idle.rss_mb', idle.rss_mb);
      set('idle.seconds', idle.seconds);
      set('idle.cpu_s', idle.cpu_s);
    } catch (err) {
      notes.push(`idle: not measured (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (want('alerts')) {
    step('alert latency');
    const lat = await optional<{ p50: number; p99: number }>('alert latency', 'alerts.ts', 'benchAlertLatency');
    set('alert_latency_ms.p50', lat?.p50 ?? null);
    set('alert_latency_ms.p99', lat?.p99 ?? null);
  }
  if (want('status_compute')) {
    step('status compute, 500 tanks after 150 simulated minutes against after 5');
    const sc = await optional<Record<string, number>>('status compute', 'status-compute.ts', 'benchStatusCompute');
    if (sc) for (const [k, v] of Object.entries(sc)) set(`status_compute.${k}`, v);
  }
  if (want('serial')) {
    step('serial parser');
    const serial = await optional<{ mb_per_s: number; baseline_mb_per_s?: number }>('serial parser', 'serial.ts', 'benchSentenceParser');
    set('serial.mb_per_s', serial?.mb_per_s ?? null);
    if (serial?.baseline_mb_per_s) set('serial.baseline_mb_per_s', serial.baseline_mb_per_s);
  }
  if (want('influx')) {
    step('InfluxDB writes');
    const influx = await optional<{ points_per_s: number; influxd_baseline_points_per_s?: number }>('influx', 'influx.ts', 'benchInflux');
    set('influx.points_per_s', influx?.points_per_s ?? null);
    if (influx?.influxd_baseline_points_per_s) set('influx.baseline_points_per_s', influx.influxd_baseline_points_per_s);
  }
  if (want('federation')) {
    step('federation fan-out');
    const fed = await optional<Record<string, number>>('federation', 'federation.ts', 'benchFederation');
    if (fed) for (const [k, v] of Object.entries(fed)) set(`federation.${k}`, v);
  }
  if (want('memory')) {
    step('memory, 500 sensors at 1 Hz (in a fresh process)');
    const mem = await memoryInChild();
    set('memory.rss_mb', mem.rss_mb);
    set('memory.growth_last_half_mb', mem.growth_last_half_mb);
    set('memory.baseline_rss_mb', mem.baseline_rss_mb);
  }
  if (want('scenarios')) {
    step('scenario library through the real pipeline (detection, false alarms)');
    type Sc = { total: number; damage: number; detected: number; passed: number; table: string } & Record<string, unknown>;
    const sc = await optional<Sc>('scenarios', 'scenarios.ts', 'benchScenarios');
    if (sc) {
      const { table, ...figures } = sc;
      for (const [k, v] of Object.entries(figures)) set(`scenarios.${k}`, v);
      process.stdout.write(`scenarios (${sc.passed} of ${sc.total} pass; per scenario in results under scenarios.per_scenario):\n${table}\n`);
    }
  }
  if (want('startup')) {
    step('start-up');
    set('startup_ms', await benchStartup());
  }

  printTable(results as Record<string, number>);
  if (profileText) process.stdout.write(`\n${profileText}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  writeResults();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
