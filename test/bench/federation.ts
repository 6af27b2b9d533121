// Bench: a simulated federation of 100 villages (about 25,000 people) through one Mosquitto.
// Each village is a real Federation (own event hub, own in-memory SQLite, own MQTT client and
// login under the fed/%u/# ACL), all in this one process, so the numbers include the client
// side's cost as well as the broker's.
//   messages_per_s        neighbour messages delivered and processed per second in a burst in
//                          which every village publishes changes at once
//   memory_per_village_kb JS heap per village once each holds its 99 neighbours (client included)
//   fanout_ms_p50/max     time for one village's change to reach all 99 others
// Run alone: npx tsx test/bench/federation.ts
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { configSchema } from '../../config/schema.ts';
import { VillageEventHub } from '../../services/events.ts';
import { Storage } from '../../services/storage.ts';
import { Federation } from '../../services/federation/federation.ts';
import { systemClock } from '../../core/types.ts';
import { makeStatus, type StatusKnobs } from '../services/federation/fixtures.ts';

export interface FederationBench {
  villages: number;
  messages_per_s: number;
  memory_per_village_kb: number;
  fanout_ms_p50: number;
  fanout_ms_max: number;
  /** additive detail */
  people: number;
  burst_messages: number;
  fanout_rounds: number;
}

interface BenchVillage {
  id: string;
  events: VillageEventHub;
  storage: Storage;
  fed: Federation;
  knobs: StatusKnobs;
}

function getGc(): () => void {
  v8.setFlagsFromString('--expose_gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  return gc ?? (() => {});
}

function heapNow(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** poll `check`; a check over all 100 × 99 neighbours is not free, so not too often */
async function until(check: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function benchFederation(opts: { villages?: number; burst?: number; rounds?: number; log?: (m: string) => void } = {}): Promise<FederationBench> {
  const t = performance.now();
  const phase = (m: string) => opts.log?.(`federation bench: ${m} at ${Math.round(performance.now() - t)} ms`);
  const n = opts.villages ?? 100;
  const burst = opts.burst ?? 5;
  const rounds = opts.rounds ?? 20;
  const ids = Array.from({ length: n }, (_, i) => `v${String(i).padStart(3, '0')}`);
  const users: Record<string, string> = {};
  for (const id of ids) users[id] = `pw-${id}`;
  // Mosquitto queues at most 1000 QoS 1 messages per client by default and drops the rest; a
  // burst from 100 villages at once exceeds that (README: raise it for large federations)
  const broker = await startMosquitto({ users, extraConfig: ['max_queued_messages 100000'] });
  phase('broker up');
  const gc = getGc();
  const villages: BenchVillage[] = [];
  try {
    const heapBefore = heapNow(gc);
    for (const id of ids) {
      const config = configSchema.parse({
        version: 1,
        village: { id, name: id, population: 250 },
        federation: { url: broker.url, username: id, password: users[id] },
      });
      const events = new VillageEventHub();
      const storage = new Storage(':memory:');
      const fed = new Federation({ config, clock: systemClock, events, storage, tuning: { minPublishIntervalMs: 0, heartbeatMs: 3600_000 } });
      const v: BenchVillage = { id, events, storage, fed, knobs: { liters: 100_000, population: 250 } };
      villages.push(v);
      fed.start();
      events.emit('status', makeStatus(id, Date.now(), v.knobs));
    }
    const everyoneSees = (expected: (id: string) => number | null) =>
      villages.every((v) =>
        ids.every((id) => {
          if (id === v.id) return true;
          const nb = v.fed.neighbour(id);
          return nb !== null && nb.water_days_minimum === expected(id);
        }),
      );
    const litres = new Map(ids.map((id) => [id, 100_000]));
    const days = (id: string) => Math.round((litres.get(id)! / (250 * 15)) * 10) / 10;
    await until(() => everyoneSees(days), 120_000, 'every village to see the other 99', 100);
    const memory_per_village_kb = (heapNow(gc) - heapBefore) / n / 1024;
    phase('all villages see each other');

    // burst: every village publishes `burst` changes at once
    const receivedBefore = villages.reduce((s, v) => s + v.fed.metrics().received, 0);
    const t0 = performance.now();
    for (let k = 1; k <= burst; k++) {
      for (const v of villages) {
        // 10 % less each step: every step is a change worth telling at once (summary.ts significantChange)
        const l = Math.round(100_000 * 0.9 ** k);
        litres.set(v.id, l);
        v.knobs = { ...v.knobs, liters: l };
        v.events.emit('status', makeStatus(v.id, Date.now(), v.knobs));
      }
    }
    await until(() => everyoneSees(days), 300_000, 'the burst to reach everyone', 50);
    const burstMs = performance.now() - t0;
    const delivered = villages.reduce((s, v) => s + v.fed.metrics().received, 0) - receivedBefore;
    const messages_per_s = delivered / (burstMs / 1000);
    phase(`burst of ${delivered} done`);

    // fan-out: one village changes; time until all others have it
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const sender = villages[(r * 37) % n]!;
      const l = Math.round(litres.get(sender.id)! * 0.9);
      litres.set(sender.id, l);
      const want = days(sender.id);
      let reached = 0;
      const others = villages.filter((v) => v !== sender);
      const done = new Set<string>();
      const start = performance.now();
      let last = start;
      const offs = others.map((v) =>
        v.fed.onChange(() => {
          if (done.has(v.id)) return;
          if (v.fed.neighbour(sender.id)?.water_days_minimum === want) {
            done.add(v.id);
            reached++;
            last = performance.now();
          }
        }),
      );
      sender.knobs = { ...sender.knobs, liters: l };
      sender.events.emit('status', makeStatus(sender.id, Date.now(), sender.knobs));
      await until(() => reached === others.length, 60_000, `round ${r} to reach everyone`);
      for (const off of offs) off();
      times.push(last - start);
    }
    return {
      villages: n,
      messages_per_s: Math.round(messages_per_s),
      memory_per_village_kb: Math.round(memory_per_village_kb * 10) / 10,
      fanout_ms_p50: Math.round(percentile(times, 50) * 10) / 10,
      fanout_ms_max: Math.round(Math.max(...times) * 10) / 10,
      people: n * 250,
      burst_messages: delivered,
      fanout_rounds: rounds,
    };
  } finally {
    await Promise.all(
      villages.map(async (v) => {
        await v.fed.stop().catch(() => {});
        v.storage.close();
      }),
    );
    await broker.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchFederation({ log: (m) => console.error(m) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
