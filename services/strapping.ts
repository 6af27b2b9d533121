// Strapping a tank: the crew fills it with a known volume, step by step (a meter, or counted
// buckets), and reads the level after each step. The points become the tank's `table` shape
// (config/tanks.ts: [level_mm, litres], strictly increasing, piecewise linear), which is truer
// than any drawn shape for a tank that is irregular, dented, or sits on a slope.
// Pure: points in, a checked table, the current shape's curve beside it, and the config snippet
// out. The strapping page (POST /api/strapping) and `tend calibrate --csv` both use it.
import type { Config, TankConfig } from '../config/schema.ts';
import { litersAtLevel, tankCapacityLiters, tankHeightMm } from '../config/tanks.ts';
import { fmt } from '../core/format.ts';

export type StrapPoint = [level_mm: number, litres: number];

/** A problem with the points; `index` is the point (0-based) it is about, when there is one. */
export class StrapError extends Error {
  constructor(
    message: string,
    readonly index?: number,
    /** the CSV line (1-based) it is about */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'StrapError';
  }
}

/** more points than any crew records: a bound on what a request may ask to compute */
export const MAX_STRAP_POINTS = 500;

/**
 * Check strapping points: at least two, each a finite level and volume ≥ 0, and both strictly
 * increasing (more water stands higher), as the config's `table` shape requires.
 */
export function checkPoints(input: unknown): StrapPoint[] {
  if (!Array.isArray(input)) throw new StrapError('points: expected a list of [level_mm, litres]');
  if (input.length > MAX_STRAP_POINTS) throw new StrapError(`points: at most ${MAX_STRAP_POINTS}`);
  const out: StrapPoint[] = [];
  input.forEach((p, i) => {
    const pair = Array.isArray(p) && p.length === 2 ? p : null;
    const [l, v] = pair ? pair.map((x) => (typeof x === 'number' ? x : NaN)) : [NaN, NaN];
    if (!Number.isFinite(l) || !Number.isFinite(v)) throw new StrapError(`point ${i + 1}: expected two numbers, level_mm and litres`, i);
    if (l! < 0 || v! < 0) throw new StrapError(`point ${i + 1}: the level and the litres are 0 or more`, i);
    const prev = out[out.length - 1];
    if (prev && !(l! > prev[0]))
      throw new StrapError(`point ${i + 1}: level ${l} mm is not above the point before (${prev[0]} mm); the levels go up as water is added`, i);
    if (prev && !(v! > prev[1]))
      throw new StrapError(`point ${i + 1}: ${v} L is not more than the point before (${prev[1]} L); the litres go up as water is added`, i);
    out.push([l!, v!]);
  });
  if (out.length < 2) throw new StrapError('a table needs at least two points');
  return out;
}

/** The litres added at each step, summed: [level after the step, litres added by it] → table points. */
export function fromSteps(steps: { level_mm: number; added_l: number }[]): StrapPoint[] {
  let total = 0;
  return steps.map((s) => {
    total += s.added_l;
    return [s.level_mm, Math.round(total * 1000) / 1000];
  });
}

/**
 * Read a CSV of `level_mm,litres` lines (the litres in the tank at that level). A header line,
 * blank lines and `#` comments are skipped. A StrapError names the line it is about (`line`).
 */
export function parseCsv(text: string): StrapPoint[] {
  const points: StrapPoint[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    if (points.length === 0 && lines.length === 0 && cells.some((c) => /[a-z]/i.test(c))) {
      lines.push(-1); // a header
      return;
    }
    if (cells.length !== 2) throw new StrapError(`expected level_mm,litres (two numbers), got ${JSON.stringify(raw.slice(0, 60))}`, undefined, i + 1);
    const [l, v] = cells.map((c) => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(c) ? Number(c) : NaN));
    if (!Number.isFinite(l) || !Number.isFinite(v)) throw new StrapError(`${JSON.stringify(raw.slice(0, 60))} is not two numbers`, undefined, i + 1);
    points.push([l!, v!]);
    lines.push(i + 1);
  });
  try {
    return checkPoints(points);
  } catch (err) {
    if (err instanceof StrapError && err.index !== undefined) {
      const line = lines.filter((n) => n > 0)[err.index];
      throw new StrapError(err.message.replace(/^point \d+: /, ''), err.index, line);
    }
    throw err;
  }
}

/**
 * `tend calibrate`: a CSV's points as the YAML snippet, compared with the tank's current shape
 * when the config is given. A problem in the CSV reads `FILE:LINE: message`.
 */
export function calibrateFromCsv(text: string, csvName: string, tankId: string, config: Config | null): { text: string } | { error: string } {
  const sensor = config?.sensors.find((s) => s.id === tankId);
  if (config && !sensor?.tank)
    return {
      error: `tend calibrate: no tank sensor "${tankId}" in the config (its tank sensors: ${
        strapTanks(config)
          .map((t) => t.id)
          .join(', ') || 'none'
      })`,
    };
  let points: StrapPoint[];
  try {
    points = parseCsv(text);
  } catch (err) {
    if (!(err instanceof StrapError)) throw err;
    return { error: err.line !== undefined ? `${csvName}:${err.line}: ${err.message}` : `${csvName}: ${err.message}` };
  }
  const r = strap(points, { id: tankId, tank: sensor?.tank });
  let out = r.snippet;
  const cur = sensor?.tank;
  if (cur && r.largest_difference) {
    const d = r.largest_difference;
    out += `# against its current ${cur.shape} (${fmt(tankCapacityLiters(cur))} L): the largest difference is ${d.liters >= 0 ? '+' : ''}${fmt(d.liters)} L`;
    out += `${d.percent === null ? '' : ` (${d.percent >= 0 ? '+' : ''}${d.percent} % of the tank)`} at ${fmt(d.level_mm)} mm\n`;
  }
  if (cur && r.below_top) {
    const last = points[points.length - 1]!;
    out += `# the points stop at ${fmt(last[0])} mm, below the top of the current shape (${fmt(tankHeightMm(cur))} mm): above it the table reads ${fmt(last[1])} L\n`;
  }
  return { text: out };
}

/** The tank as a `table` shape, keeping the sensor height the current shape has. */
export function tableOf(points: StrapPoint[], current?: TankConfig): TankConfig {
  const t: TankConfig = { shape: 'table', points: points.map(([l, v]) => [l, v] as [number, number]) };
  if (current?.sensor_height_mm !== undefined) t.sensor_height_mm = current.sensor_height_mm;
  return t;
}

/** Litres at `steps + 1` evenly spaced levels from empty to full: a curve to draw. */
export function curveOf(tank: TankConfig, steps = 24): StrapPoint[] {
  const h = tankHeightMm(tank);
  const out: StrapPoint[] = [];
  for (let i = 0; i <= steps; i++) {
    const l = (h * i) / steps;
    out.push([round(l, 1), round(litersAtLevel(tank, l), 1)]);
  }
  return out;
}

/** The YAML to paste in place of the sensor's `tank:` (under its entry in `sensors:`). */
export function snippet(sensorId: string | null, table: TankConfig): string {
  if (table.shape !== 'table') throw new Error('snippet: a table shape');
  const lines = [
    `# strapping table${sensorId ? ` for sensor ${sensorId}` : ''}: put in place of its tank: (under sensors:)`,
    'tank:',
    '  shape: table',
    '  points:  # [level_mm, litres]',
    ...table.points.map(([l, v]) => `    - [${num(l)}, ${num(v)}]`),
  ];
  if (table.sensor_height_mm !== undefined) lines.push(`  sensor_height_mm: ${num(table.sensor_height_mm)}`);
  return `${lines.join('\n')}\n`;
}

export interface StrapTank {
  id: string;
  name: string;
  kind: string;
  shape: TankConfig['shape'];
  height_mm: number;
  capacity_liters: number;
  /** the current shape's litres from empty to full */
  curve: StrapPoint[];
}

export interface StrapResult {
  tank: string | null;
  table: TankConfig;
  snippet: string;
  /** the new table's litres and the current shape's at each measured level */
  compare: { level_mm: number; table_l: number; shape_l: number | null }[];
  /** the largest difference from the current shape, in litres and as a share of its capacity */
  largest_difference: { level_mm: number; liters: number; percent: number | null } | null;
  /** the level the points stop at is below the tank's top: above it the table holds its last litres */
  below_top: boolean;
}

/** Build everything the page and the CLI show from checked points and, when known, the tank's current shape. */
export function strap(points: StrapPoint[], tank?: { id: string; tank?: TankConfig }): StrapResult {
  const current = tank?.tank;
  const table = tableOf(points, current);
  const compare = points.map(([l, v]) => ({ level_mm: l, table_l: v, shape_l: current ? round(litersAtLevel(current, l), 1) : null }));
  let largest: StrapResult['largest_difference'] = null;
  for (const c of compare) {
    if (c.shape_l === null) continue;
    const d = c.table_l - c.shape_l;
    if (!largest || Math.abs(d) > Math.abs(largest.liters)) largest = { level_mm: c.level_mm, liters: round(d, 1), percent: null };
  }
  if (largest && current) largest.percent = round((100 * largest.liters) / tankCapacityLiters(current), 1);
  return {
    tank: tank?.id ?? null,
    table,
    snippet: snippet(tank?.id ?? null, table),
    compare,
    largest_difference: largest,
    below_top: current ? points[points.length - 1]![0] < tankHeightMm(current) : false,
  };
}

/** The tanks of a config as the strapping page lists them. */
export function strapTanks(config: Config): StrapTank[] {
  return config.sensors.flatMap((s) =>
    s.tank
      ? [
          {
            id: s.id,
            name: s.name ?? s.id,
            kind: s.kind,
            shape: s.tank.shape,
            height_mm: tankHeightMm(s.tank),
            capacity_liters: round(tankCapacityLiters(s.tank), 1),
            curve: curveOf(s.tank),
          },
        ]
      : [],
  );
}

/** What the web server asks of strapping: the tanks, and a table built from the crew's points. */
export function strappingSource(config: Config): { tanks(): StrapTank[]; build(tankId: string | null, points: unknown): StrapResult } {
  const tanks = strapTanks(config);
  return {
    tanks: () => tanks,
    build(tankId, points) {
      const s = tankId ? config.sensors.find((x) => x.id === tankId && x.tank) : undefined;
      if (tankId && !s) throw new StrapError(`no tank sensor "${tankId.slice(0, 64)}" in the config`);
      return strap(checkPoints(points), s ? { id: s.id, tank: s.tank } : undefined);
    },
  };
}

function num(n: number): string {
  return String(round(n, 3));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
