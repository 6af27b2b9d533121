// Calibration: a configured sensor's raw number → engineering units.
// Pure functions, no state. Tanks turn into litres; every other kind keeps its raw unit
// (%, V, W, °C, 0/1, hPa, m/s, mm).
import type { SensorConfig } from '../../config/schema.ts';
import { litersAtLevel, MM_PER_KPA, tankHeightMm } from '../../config/tanks.ts';

/**
 * Raw → engineering value. Tank kinds give litres and the level in mm (clamped to the tank);
 * other kinds pass the raw number through. Throws only for a tank sensor without a tank
 * (or a tank_distance without sensor_height_mm), which the config schema already refuses.
 */
export function calibrate(sensor: SensorConfig, raw: number): { value: number; level_mm?: number } {
  switch (sensor.kind) {
    case 'tank_distance':
    case 'tank_pressure':
    case 'tank_level': {
      const tank = sensor.tank;
      if (!tank) throw new Error(`sensor ${sensor.id}: a ${sensor.kind} sensor needs tank: { shape, … }`);
      let level: number;
      if (sensor.kind === 'tank_distance') {
        if (tank.sensor_height_mm === undefined) throw new Error(`sensor ${sensor.id}: tank_distance needs tank.sensor_height_mm`);
        level = tank.sensor_height_mm - raw; // sensor face to surface, measured down from the face
      } else if (sensor.kind === 'tank_pressure') {
        level = raw * MM_PER_KPA; // hydrostatic: p = ρ·g·h at the bottom
      } else {
        level = raw;
      }
      const level_mm = clamp(level, 0, tankHeightMm(tank));
      return { value: litersAtLevel(tank, level_mm), level_mm };
    }
    default:
      return { value: raw };
  }
}

/**
 * The inverse for a tank: what the device would send at a water level (a dipstick reading entered
 * by a person goes the same way as the device's own readings). Kept beside calibrate() so the two
 * directions cannot drift apart.
 */
export function rawAtLevel(sensor: SensorConfig, level_mm: number): number {
  if (sensor.kind === 'tank_distance') return (sensor.tank?.sensor_height_mm ?? (sensor.tank ? tankHeightMm(sensor.tank) : 0)) - level_mm;
  if (sensor.kind === 'tank_pressure') return level_mm / MM_PER_KPA;
  return level_mm;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : Math.min(x, hi);
}
