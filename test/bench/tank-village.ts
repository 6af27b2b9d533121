// The large village the benches share: devices that each carry a few identical box tanks
// (2 m × 2 m × 2 m), sensor `tank-<device>-<n>` reading metric `level_mm<n>` (`level_mm` when a
// device has one).
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
