// What one status compute costs once a large village has history behind it: 50 devices × 10 tank
// sensors, a reading from each every 10 s on a simulated clock, the whole loop (reserve, every
// rule, the assembly, the status text) computed after each round. Half the tanks are in use all
// along; the other half stand unused after the first 20 minutes, as reserve tanks do, so after
// 2 h the stuck-sensor rule compares their flat spells with the tanks in use. The same village's
// compute after 5 simulated minutes is the baseline: rules that learn over hours (a tank's draw
// over its hour window, its usual draw, the others' draws and falls) must not make a compute cost
// more and more as the history grows. The village load (60 s) never gets there; a village runs
// for months.
import { startVillage } from '../../services/village.ts';
import { tempDir } from '../helpers/net.ts';
import { benchConfig } from './tank-village.ts';

const DEVICES = 50;
const SENSORS = 10;
const STEP_MS = 10_000;

export interface StatusComputeResult {
  /** median ms of one compute after 5 simulated minutes */
  cold_ms: number;
  /** median ms of one compute after `minutes` simulated minutes */
  warm_ms: number;
  /** warm ÷ cold */
  ratio: number;
  minutes: number;
  tanks: number;
  /** the heap in use (MB, after a full collection) after 5 simulated minutes, and after `minutes`: what a village's memory grows by as it learns */
  heap_cold_mb: number | null;
  heap_warm_mb: number | null;
}

/** heap in use after a full collection (MB); null when the process has no gc() (run without --expose-gc) */
function heapMb(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export async function benchStatusCompute(opts: { minutes?: number } = {}): Promise<StatusComputeResult> {
  const minutes = opts.minutes ?? 150;
  // every device read each 10 s, as benchConfig sets it
  const config = benchConfig(DEVICES, SENSORS);
  let now = Date.parse('2026-11-26T06:00:00Z');
  const tmp = tempDir('tend-bench-status-');
  const village = await startVillage({ config, clock: { now: () => now }, storageDir: tmp.dir, brokerPort: 0, web: false, tick: false, log: () => {} });
  try {
    // tanks in use fall slowly, each at its own pace, with a little noise; the unused ones stop
    // falling after 20 minutes: ordinary days, no alert
    const round = (s: number) => {
      now += STEP_MS;
      for (let i = 0; i < DEVICES; i++)
        for (let m = 0; m < SENSORS; m++) {
          const k = i * SENSORS + m;
          const level = k % 2 ? 1800 - s / 10 - (k % 7) * 3 + Math.sin(s / 60 + i) * 2 : 1800 - Math.min(s, 1200) / 5 - (k % 7);
          village.ingest.reading({ device: `node-${i}`, metric: `level_mm${m}`, value: level, ts: now, source: 'mqtt' });
        }
      village.refresh();
      village.storage.commitNow();
    };
    const computeMs = () => {
      const times: number[] = [];
      for (let k = 0; k < 21; k++) {
        now += 250;
        const t0 = performance.now();
        village.refresh();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return times[10]!;
    };
    let s = 0;
    for (; s < 5 * 60; s += STEP_MS / 1000) round(s);
    const cold = computeMs();
    const heapCold = heapMb();
    for (; s < minutes * 60; s += STEP_MS / 1000) round(s);
    const warm = computeMs();
    const heapWarm = heapMb();
    return { cold_ms: cold, warm_ms: warm, ratio: warm / cold, minutes, tanks: DEVICES * SENSORS, heap_cold_mb: heapCold, heap_warm_mb: heapWarm };
  } finally {
    await village.stop();
    tmp.remove();
  }
}

// run alone: npx tsx test/bench/status-compute.ts [minutes, 150]
if (import.meta.url === `file://${process.argv[1]}`) {
  benchStatusCompute({ minutes: Number(process.argv[2] ?? 150) }).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
