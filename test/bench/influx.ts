// History write throughput, end to end: an accepted reading (the `reading` event ingest emits)
// → line protocol → SQLite outbox (group commit) → HTTP /write → a point stored in a real influxd
// (Debian InfluxDB 1.x on a free port). The clock stops when InfluxDB counts every point.
// Beside it, the baseline: the same points POSTed straight to influxd in 5,000-point bodies
// (what InfluxDB alone can take on this machine), so the ratio holds on a noisy shared box.
import { History } from '../../services/history/index.ts';
import { readingPoint } from '../../services/history/points.ts';
import { Storage } from '../../services/storage.ts';
import { VillageEventHub } from '../../services/events.ts';
import type { Reading } from '../../core/types.ts';
import { parseConfig } from '../../config/load.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { tempDir } from '../helpers/net.ts';

export interface InfluxBench {
  points_per_s: number;
  /** InfluxDB alone: pre-built 5,000-point bodies POSTed back to back */
  influxd_baseline_points_per_s: number;
  /** readings queued and committed to the SQLite outbox per second (no network) */
  outbox_points_per_s: number;
  /** tend's own CPU time per point end to end (user + system, µs): the figure noise hurts least */
  tend_cpu_us_per_point: number;
  /** points_per_s / influxd_baseline_points_per_s */
  ratio_to_baseline: number;
  points: number;
  seconds: number;
}

function reading(i: number, t0: number): Reading {
  // 200 sensors on 50 devices, one reading each per "tick"
  const s = i % 200;
  return {
    sensor: `tank-${s}`,
    device: `node-${s >> 2}`,
    kind: 'tank_level',
    raw: 1000 + (i % 997),
    value: 4000 + (i % 991) * 1.5,
    level_mm: 1000 + (i % 997),
    ts: t0 + Math.floor(i / 200) * 10,
    received: t0,
    source: 'mqtt',
  };
}

/**
 * Readings arrive as from the network: at OFFERED_PER_S, buffered while the event loop is busy
 * (a group commit's fsync blocks it), and each loop turn hands ingest everything that has
 * arrived, as a socket buffer would. So commit batches grow when fsync is slow, as in tend.
 */
const OFFERED_PER_S = 250_000;
async function offer(n: number, emit: (i: number) => void): Promise<void> {
  const start = performance.now();
  let i = 0;
  while (i < n) {
    const arrived = Math.min(n, Math.floor(((performance.now() - start) / 1000) * OFFERED_PER_S) + 1);
    for (const end = Math.min(arrived, i + 2000); i < end; i++) emit(i);
    await new Promise((r) => setImmediate(r));
  }
}

async function countPoints(influx: Influxd, db: string): Promise<number> {
  const rows = await influx.rows('SELECT count("value") AS n FROM "reading"', db);
  return (rows[0]?.n as number | undefined) ?? 0;
}

async function baseline(influx: Influxd, n: number): Promise<number> {
  await influx.query('CREATE DATABASE baseline');
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const bodies: string[] = [];
  for (let i = 0; i < n; i += 5000) {
    let b = '';
    for (let j = i; j < Math.min(n, i + 5000); j++) b += `${readingPoint('benchvale', reading(j, t0))!.line}\n`;
    bodies.push(b);
  }
  const start = performance.now();
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const r = await fetch(`${influx.url}/write?db=baseline&precision=ms`, { method: 'POST', body });
        await r.text();
        if (r.status !== 204) throw new Error(`baseline write: HTTP ${r.status}`);
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

export async function benchInflux(opts: { points?: number } = {}): Promise<InfluxBench> {
  const N = opts.points ?? 500_000;
  const influx = await startInfluxd();
  const tmp = tempDir('tend-bench-influx-');
  try {
    const base = await baseline(influx, Math.min(N, 300_000));

    // outbox alone: readings queued and group-committed, nothing draining
    let outboxRate = 0;
    {
      const dir = tempDir('tend-bench-outbox-');
      const storage = new Storage(dir.dir);
      const events = new VillageEventHub();
      const config = parseConfig({
        version: 1,
        village: { id: 'benchvale', name: 'Benchvale', population: 200 },
        storage: { dir: dir.dir },
        influx: { url: 'http://127.0.0.1:9', database: 'x' },
      });
      const h = new History({ config, clock: { now: () => Date.now() }, storage, events, writer: { minBackoffMs: 600_000 } });
      h.start();
      const t0 = Date.now();
      const start = performance.now();
      await offer(200_000, (i) => events.emit('reading', reading(i, t0)));
      await new Promise<void>((r) => storage.commitSoon(() => r()));
      outboxRate = 200_000 / ((performance.now() - start) / 1000);
      await h.stop();
      storage.close();
      dir.remove();
    }

    await influx.query('CREATE DATABASE bench');
    const config = parseConfig({
      version: 1,
      village: { id: 'benchvale', name: 'Benchvale', population: 200 },
      storage: { dir: tmp.dir },
      influx: { url: influx.url, database: 'bench' },
    });
    const storage = new Storage(tmp.dir);
    const events = new VillageEventHub();
    const history = new History({ config, clock: { now: () => Date.now() }, storage, events });
    history.start();
    const t0 = Date.parse('2026-02-01T00:00:00Z');
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    await offer(N, (i) => events.emit('reading', reading(i, t0)));
    await new Promise<void>((r) => storage.commitSoon(() => r()));
    while (history.stats().outbox_rows > 0) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stored = await countPoints(influx, 'bench');
    await history.stop();
    storage.close();
    if (stored !== N) throw new Error(`influx bench: ${stored} points stored of ${N}`);
    const rate = N / seconds;
    return {
      points_per_s: Math.round(rate),
      influxd_baseline_points_per_s: Math.round(base),
      outbox_points_per_s: Math.round(outboxRate),
      tend_cpu_us_per_point: Math.round(((cpu.user + cpu.system) / N) * 100) / 100,
      ratio_to_baseline: Math.round((rate / base) * 100) / 100,
      points: N,
      seconds: Math.round(seconds * 100) / 100,
    };
  } finally {
    await influx.close();
    tmp.remove();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  benchInflux({ points: Number(process.argv[2] ?? 500_000) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
