// The large village the benches share: devices that each carry a few identical box tanks
// (2 m × 2 m × 2 m), sensor `tank-<device>-<n>` reading metric `level_mm<n>` (`level_mm` when a
// device has one).
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
export function boxTanks(devices: { id: string }[], perDevice: number) {
  return devices.flatMap((d, i) =>
    Array.from({ length: perDevice }, (_, m) => ({
      id: `tank-${i}-${m}`,
      device: d.id,
      metric: perDevice === 1 ? 'level_mm' : `level_mm${m}`,
      kind: 'tank_level' as const,
      tank: { shape: 'box' as const, length_mm: 2000, width_mm: 2000, height_mm: 2000 },
    })),
  );
}

/** A parsed config of `devices` devices with `metricsPerDevice` box tanks each, read every 10 s. */
export function benchConfig(devices: number, metricsPerDevice: number, extra: Partial<Config> = {}): Config {
  const devs = Array.from({ length: devices }, (_, i) => ({ id: `node-${i}`, secret: `bench-secret-${i}`, transport: 'mqtt', interval_s: 10 }));
  const sensors = boxTanks(devs, metricsPerDevice);
  return parseConfig({ version: 1, village: { id: 'benchvale', name: 'Benchvale', population: 200 }, devices: devs, sensors, ...extra });
}
