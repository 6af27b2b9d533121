// The memory figure, in a process of its own that loads tend (through tsx, the sources) and
// nothing of the bench harness: a village of 500 sensors at 1 Hz for 10 minutes of simulated
// time, its RSS and its growth. `npm run bench` forks it (run.ts, memoryInChild) with the Node
// flags of the systemd unit; the figures go back over IPC. `--quick`: 2 simulated minutes.
import type { Clock } from '../../core/types.ts';
import { sizeHeapForGateway } from '../../bin/gateway-heap.js';

// the heap sized as the launcher sizes it for a gateway, before any of tend's code loads
sizeHeapForGateway();
const { startVillage } = await import('../../services/village.ts');
const { tempDir } = await import('../helpers/net.ts');
const { benchConfig } = await import('./tank-village.ts');

const QUICK = process.argv.includes('--quick');

/** A village of 500 sensors at 1 Hz for 10 minutes of simulated time: RSS, and its growth. */
async function benchMemory(): Promise<{ rss_mb: number; growth_last_half_mb: number; baseline_rss_mb: number }> {
  const config = benchConfig(50, 10);
  (globalThis as { gc?: () => void }).gc?.();
  // what the process weighs with everything loaded but no village: the baseline
  const baseline = process.memoryUsage().rss / 1024 / 1024;
  let now = Date.parse('2026-11-26T00:00:00Z');
  const clock: Clock = { now: () => now };
  const tmp = tempDir('tend-bench-');
  const village = await startVillage({ config, clock, storageDir: tmp.dir, brokerPort: 0, web: false, tick: false, log: () => {} });
  const samples: number[] = [];
  const seconds = QUICK ? 120 : 600;
  for (let s = 0; s < seconds; s++) {
    now += 1000;
    for (let i = 0; i < 50; i++)
      for (let m = 0; m < 10; m++) {
        village.ingest.reading({ device: `node-${i}`, metric: `level_mm${m}`, value: 1000 + Math.sin(s / 60 + i) * 300, ts: now, source: 'mqtt' });
      }
    village.refresh();
    village.storage.commitNow();
    if (s % 10 === 0) {
      await new Promise((r) => setImmediate(r));
      (globalThis as { gc?: () => void }).gc?.();
      samples.push(process.memoryUsage().rss / 1024 / 1024);
    }
  }
  await village.stop();
  tmp.remove();
  const half = samples.slice(Math.floor(samples.length / 2));
  return { rss_mb: Math.max(...samples), growth_last_half_mb: half[half.length - 1]! - half[0]!, baseline_rss_mb: baseline };
}

benchMemory().then(
  (m) => {
    if (process.send) process.send(m, () => process.exit(0));
    else {
      console.log(JSON.stringify(m));
      process.exit(0);
    }
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
