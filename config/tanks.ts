// Tank geometry: what a configured tank shape holds at a water level. Pure functions of the
// config, used by ingest (calibration) and by the simulator (litres back to a distance).
import type { TankConfig } from './schema.ts';

/** mm of water column per kPa: 1 kPa / (ρ 1000 kg/m³ × g 9.80665 m/s²) = 0.10197 m. */
export const MM_PER_KPA = 101.97;

/** 1 litre = 1 dm³ = 1e6 mm³ */
const MM3_PER_LITER = 1e6;

/** Level of a full tank: the diameter of a lying cylinder, the height otherwise, or the last table point. */
export function tankHeightMm(tank: TankConfig): number {
  switch (tank.shape) {
    case 'horizontal_cylinder':
      return tank.diameter_mm;
    case 'vertical_cylinder':
    case 'box':
      return tank.height_mm;
    case 'table':
      return tank.points[tank.points.length - 1]![0];
  }
}

export function tankCapacityLiters(tank: TankConfig): number {
  return litersAtLevel(tank, tankHeightMm(tank));
}

/** Litres held at a water level (mm above the tank bottom); the level is clamped to [0, height]. */
export function litersAtLevel(tank: TankConfig, level_mm: number): number {
  const h = clamp(level_mm, 0, tankHeightMm(tank));
  switch (tank.shape) {
    case 'vertical_cylinder': {
      const r = tank.diameter_mm / 2;
      return (Math.PI * r * r * h) / MM3_PER_LITER;
    }
    case 'box':
      return (tank.length_mm * tank.width_mm * h) / MM3_PER_LITER;
    case 'horizontal_cylinder':
      return (circularSegmentArea(tank.diameter_mm / 2, h) * tank.length_mm) / MM3_PER_LITER;
    case 'table':
      return interpolate(tank.points, h);
  }
}

/** Area of the part of a circle of radius r below a chord at height h from its bottom (0 ≤ h ≤ 2r). */
function circularSegmentArea(r: number, h: number): number {
  // A = r²·acos((r−h)/r) − (r−h)·√(2rh − h²)
  const d = r - h;
  return r * r * Math.acos(clamp(d / r, -1, 1)) - d * Math.sqrt(Math.max(0, 2 * r * h - h * h));
}

/** Piecewise linear through strictly increasing [level_mm, litres] points, clamped at both ends. */
function interpolate(points: [number, number][], level: number): number {
  const first = points[0]!;
  if (level <= first[0]) return first[1];
  for (let i = 1; i < points.length; i++) {
    const [l1, v1] = points[i]!;
    if (level <= l1) {
      const [l0, v0] = points[i - 1]!;
      return v0 + ((v1 - v0) * (level - l0)) / (l1 - l0);
    }
  }
  return points[points.length - 1]![1];
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : Math.min(x, hi);
}
