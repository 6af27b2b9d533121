// A small benchmark of the reserve hot path, for test/bench (npm run bench): how many readings a
// second record() takes, including the group commit that writes them, and what status() costs.
import { configSchema } from '../../config/schema.ts';
import { Storage } from '../storage.ts';
import type { Reading, SensorKind } from '../types.ts';
import { Reserve } from './reserve.ts';

export interface ReserveBench {
  readings: number;
  sensors: number;
  record_per_s: number;
  status_ms: number;
}

/** Record `readings` readings round-robin over `sensors` sensors (a mix of kinds), on `dir`. */
export function benchReserveRecord(readings = 300_000, sensors = 120, dir = ':memory:'): ReserveBench {
  const kinds: SensorKind[] = ['tank_level', 'battery_soc', 'load_power', 'cold_temp', 'pressure', 'wind_gust'];
  const config = configSchema.parse({
    version: 1,
    village: { id: 'bench', name: 'Bench', population: 180 },
    broker: { embedded: { allow_anonymous: true } },
    devices: [{ id: 'd', interval_s: 30 }],
    sensors: Array.from({ length: sensors }, (_, i) => {
      const kind = kinds[i % kinds.length]!;
      return {
        id: `s${i}`, device: 'd', metric: `m${i}`, kind,
        ...(kind === 'tank_level' ? { tank: { shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 2000 } } : {}),
        ...(kind === 'battery_soc' ? { battery: { capacity_kwh: 10 } } : {}),
        ...(kind === 'cold_temp' ? { cold: { safe_max_c: 5 } } : {}),
      };
    }),
  });
  const t0 = Date.UTC(2026, 0, 1);
  let now = t0;
  const clock = { now: () => now };
  const storage = new Storage(dir);
  const reserve = new Reserve({ config, clock, storage });
  reserve.start();
  const batch: Reading[] = config.sensors.map((s) => ({
    sensor: s.id, device: 'd', kind: s.kind, raw: 0, value: 0, level_mm: 0, ts: t0, received: t0, source: 'mqtt',
  }));
  const started = performance.now();
  for (let i = 0; i < readings; i++) {
    const r = batch[i % sensors]!;
    now = t0 + i; // 1000 readings per simulated second: buckets roll over as they would
    r.ts = now;
    r.received = now;
    r.raw = r.value = r.level_mm = (i * 7) % 1000;
    reserve.record(r);
    if (i % 30_000 === 29_999) storage.commitNow(); // what the 5 ms group-commit timer would do
  }
  storage.commitNow();
  const recordMs = performance.now() - started;
  const s0 = performance.now();
  const rounds = 50;
  for (let i = 0; i < rounds; i++) reserve.status({ rejected_total: 0 });
  const statusMs = (performance.now() - s0) / rounds;
  reserve.stop();
  storage.close();
  return { readings, sensors, record_per_s: Math.round(readings / (recordMs / 1000)), status_ms: Math.round(statusMs * 1000) / 1000 };
}
