// Plausibility warnings on a valid config: values the schema accepts but an installer most
// likely did not mean. Metres typed into mm fields (`diameter_mm: 2`), a distance sensor mounted
// below the tank's top, a tank holding less than a bucket or more than a reservoir, a device
// reporting faster than once a second. They never stop tend; `tend config check` prints them as
// `path: warning: message` and exits 0. Pure: a config in, lines out.
import type { Config, SensorConfig, TankConfig } from './schema.ts';
import { tankCapacityLiters, tankHeightMm } from './tanks.ts';

/** Below this a tank dimension in mm is more likely metres or centimetres typed into an mm field. */
export const MIN_TANK_MM = 50;
/** Plausible capacity of one village tank: a large drum to a small reservoir (5 ML). */
export const TANK_LITERS = { min: 50, max: 5_000_000 } as const;
/** An interval or duration in seconds below this is probably milliseconds or a typo. */
export const MIN_INTERVAL_S = 1;

type Path = (string | number)[];

/** Every plausibility warning of `config`, as `path: warning: message` lines, in config order. */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  const warn = (path: Path, message: string) => out.push(`${formatPath(path)}: warning: ${message}`);
  config.sensors.forEach((s, i) => {
    if (s.tank) tankWarnings(s, s.tank, ['sensors', i, 'tank'], warn);
  });
  config.devices.forEach((d, i) => {
    if (d.interval_s < MIN_INTERVAL_S)
      warn(['devices', i, 'interval_s'], `${d.interval_s} s between readings is under ${MIN_INTERVAL_S} s; milliseconds typed as seconds?`);
  });
  // every other duration in seconds (`*_s`), wherever it is: a positive value under a second is a slip
  walk(config, [], (path, key, value) => {
    if (!key.endsWith('_s') || key === 'interval_s') return;
    if (value > 0 && value < MIN_INTERVAL_S) warn([...path, key], `${value} s is under ${MIN_INTERVAL_S} s; milliseconds typed as seconds?`);
  });
  return out;
}

function tankWarnings(s: SensorConfig, tank: TankConfig, at: Path, warn: (path: Path, message: string) => void): void {
  // each dimension of the shape; a table's levels are checked through its full level
  const dims: [string, number][] =
    tank.shape === 'table'
      ? []
      : (Object.entries(tank).filter(([k, v]) => k.endsWith('_mm') && k !== 'sensor_height_mm' && typeof v === 'number') as [string, number][]);
  let metres = false;
  for (const [key, mm] of dims) {
    if (mm < MIN_TANK_MM) {
      metres = true;
      warn([...at, key], `${mm} mm is very small for a tank; metres typed into an mm field? (${mm} m is ${fmt(mm * 1000)} mm)`);
    }
  }
  if (tank.shape === 'table') {
    const full = tankHeightMm(tank);
    if (full < MIN_TANK_MM) {
      metres = true;
      warn([...at, 'points'], `the table's full level is ${full} mm, very small for a tank; metres typed as mm?`);
    }
  }
  const height = tankHeightMm(tank);
  if (tank.sensor_height_mm !== undefined) {
    if (tank.sensor_height_mm < MIN_TANK_MM) {
      warn([...at, 'sensor_height_mm'], `${tank.sensor_height_mm} mm above the tank bottom is very small; metres typed into an mm field?`);
    } else if (s.kind === 'tank_distance' && tank.sensor_height_mm < height) {
      // the sensor measures down to the water: mounted below the top, a fuller tank covers it
      // and the readings above its face are lost
      warn(
        [...at, 'sensor_height_mm'],
        `the sensor face is ${fmt(tank.sensor_height_mm)} mm above the bottom, below the tank's top at ${fmt(height)} mm; a distance sensor is mounted at or above the top`,
      );
    }
  }
  // a capacity from dimensions already warned about would only repeat the same slip
  if (metres) return;
  const liters = tankCapacityLiters(tank);
  if (liters < TANK_LITERS.min) warn(at, `holds ${fmt(liters)} L when full, under ${fmt(TANK_LITERS.min)} L; a dimension in the wrong unit?`);
  else if (liters > TANK_LITERS.max) warn(at, `holds ${fmt(liters)} L when full, over ${fmt(TANK_LITERS.max)} L (5 ML); a dimension in the wrong unit?`);
}

/** Call `visit` with every finite number in `value`, with the path of its parent and its key. */
function walk(value: unknown, path: Path, visit: (path: Path, key: string, value: number) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, [...path, i], visit);
    });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'number' && Number.isFinite(v)) visit(path, key, v);
    else walk(v, [...path, key], visit);
  }
}

/** `sensors[2].tank.diameter_mm`, as config errors name a place */
function formatPath(path: Path): string {
  if (!path.length) return '(top)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en') : n.toLocaleString('en', { maximumFractionDigits: 1 });
}
