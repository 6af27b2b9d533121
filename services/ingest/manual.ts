// Manual readings: a dipstick level or a meter reading a person entered (POST /api/readings).
// Many village tanks have no sensor, and every sensor drifts, so the crew's own readings count
// like a device's: checked here (known sensor, a number, in range), turned into the sensor's raw
// unit, then calibrated, stored and passed on by ingest with source 'manual'. A reading far from
// the sensor's own recent value is kept and flagged: the person may be right and the sensor off.
// Who entered what, and when, is kept in SQLite (manual_reading) so the page can say it after a
// restart too.
import type { Config, SensorConfig } from '../../config/schema.ts';
import { tankCapacityLiters, tankHeightMm } from '../../config/tanks.ts';
import { rawAtLevel } from './calibrate.ts';
import { fmt, shortTime } from '../../core/format.ts';
import { sayIn, type Say } from '../../core/i18n.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import type { Clock, ManualReading, Reading, SensorHealth } from '../../core/types.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import { calibrate } from './calibrate.ts';

/** longest name and note a person may enter */
export const MANUAL_LIMITS = { by: 60, note: 500 } as const;

/** a tank reading differing from the device's by more than this share of the tank is flagged */
const FAR_TANK_SHARE = 0.1;
/** the same for a sensor with a configured range: this share of the range */
const FAR_RANGE_SHARE = 0.1;
/** otherwise, by kind, in the sensor's unit */
const FAR_BY_KIND: Record<string, number> = {
  battery_soc: 10,
  battery_voltage: 1,
  load_power: 500,
  solar_power: 500,
  cold_temp: 3,
  door_open: 0.5,
  pressure: 5,
  wind_speed: 5,
  wind_gust: 5,
  rain: 5,
};

/** Why a manual reading was refused: the message is the 400's reason. */
export class ManualInputError extends Error {
  constructor(
    readonly reason: 'unknown_sensor' | 'not_a_number' | 'out_of_range' | 'bad_text',
    message: string,
  ) {
    super(message);
    this.name = 'ManualInputError';
  }
}

/** The one thing manual readings need from ingest: the same path a device's reading takes. */
export interface ManualSink {
  manual(sensor: SensorConfig, raw: number, person: { by?: string; note?: string }): Reading;
}

export interface ManualOptions {
  config: Config;
  clock: Clock;
  events: VillageEventHub;
  ingest: ManualSink;
  storage: Pick<Storage, 'db' | 'register' | 'commitSoon'>;
  log?: LogSink;
}

type Row = { sensor: string; at: number; entered: number; value: number; level_mm: number | null; by: string | null; note: string | null; flag: string | null };

export class ManualReadings {
  private readonly sensors = new Map<string, SensorConfig>();
  private readonly latestBy = new Map<string, ManualReading>();
  /** the device's last reading of each sensor since start, for the flag */
  private readonly lastDevice = new Map<string, { value: number; at: number }>();
  private readonly deviceIntervalS = new Map<string, number>();
  private readonly say: Say;
  private readonly log: Logger;
  private queued: Row[] = [];
  private taken = 0;
  private insert: ((r: Row) => void) | null = null;
  /** refusals by reason, for /metrics and tests */
  readonly refused = new Map<string, number>();

  constructor(private readonly o: ManualOptions) {
    for (const s of o.config.sensors) this.sensors.set(s.id, s);
    for (const d of o.config.devices) this.deviceIntervalS.set(d.id, d.interval_s);
    this.say = sayIn(o.config.village.language);
    this.log = moduleLog(o.log, 'manual', { clock: o.clock, windowMs: 60_000 });
  }

  /** Create the table, load who entered the latest of each sensor, listen for device readings. */
  start(): void {
    const db = this.o.storage.db;
    db.exec(`CREATE TABLE IF NOT EXISTS manual_reading (
      sensor TEXT NOT NULL, at INTEGER NOT NULL, entered REAL NOT NULL, value REAL NOT NULL,
      level_mm REAL, by_name TEXT, note TEXT, flag TEXT)`);
    const rows = db
      .prepare(
        `SELECT m.sensor, m.at, m.entered, m.value, m.level_mm, m.by_name AS "by", m.note, m.flag FROM manual_reading m JOIN (SELECT sensor, MAX(rowid) AS id FROM manual_reading GROUP BY sensor) l ON m.rowid = l.id`,
      )
      .all() as Row[];
    for (const r of rows) if (this.sensors.has(r.sensor)) this.latestBy.set(r.sensor, toManual(r));
    const ins = db.prepare(`INSERT INTO manual_reading (sensor, at, entered, value, level_mm, by_name, note, flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insert = (r) => ins.run(r.sensor, r.at, r.entered, r.value, r.level_mm, r.by, r.note, r.flag);
    this.o.storage.register({
      // write first, then clear: a failed commit keeps the rows for the next one
      flush: () => {
        for (const r of this.queued) this.insert?.(r);
        this.queued = [];
      },
    });
    this.o.events.on('reading', this.onReading, 'manual');
  }

  stop(): void {
    this.o.events.off('reading', this.onReading);
  }

  private onReading = (r: Reading) => {
    if (r.source !== 'manual') this.lastDevice.set(r.sensor, { value: r.value, at: r.received });
  };

  /** The sensors people may enter readings for: all of them, manual ones first. */
  sensorList(): { id: string; name: string; kind: string; manual: boolean; unit: string }[] {
    const list = [...this.sensors.values()].map((s) => ({ id: s.id, name: s.name ?? s.id, kind: s.kind, manual: s.manual === true, unit: enteredUnit(s) }));
    return list.sort((a, b) => Number(b.manual) - Number(a.manual));
  }

  /**
   * Check and take one reading a person entered. Throws ManualInputError (a 400) for an unknown
   * sensor, a value that is not a finite number, a value out of range, or a name or note too long.
   */
  enter(body: Record<string, unknown>): ManualReading {
    try {
      return this.take(body);
    } catch (err) {
      if (err instanceof ManualInputError) {
        this.refused.set(err.reason, (this.refused.get(err.reason) ?? 0) + 1);
        this.log.limited(`refused:${err.reason}`, () => `refused a manual reading: ${err.message}`);
      }
      throw err;
    }
  }

  private take(body: Record<string, unknown>): ManualReading {
    const id = typeof body.sensor === 'string' ? body.sensor : '';
    const sensor = this.sensors.get(id);
    if (!sensor) throw new ManualInputError('unknown_sensor', id ? `no sensor "${id.slice(0, 64)}" in the config` : 'sensor: name a sensor id');
    // a number, or a number written as text by a form ("1 240" and "1,5" are not numbers here)
    const value = typeof body.value === 'number' ? body.value : typeof body.value === 'string' && body.value.trim() !== '' ? Number(body.value) : NaN;
    if (!Number.isFinite(value)) throw new ManualInputError('not_a_number', `value: ${JSON.stringify(body.value ?? null)?.slice(0, 40)} is not a number`);
    const by = text(body.by, 'by', MANUAL_LIMITS.by);
    const note = text(body.note, 'note', MANUAL_LIMITS.note);
    const raw = rawOf(sensor, value);
    const now = this.o.clock.now();
    const flag = this.farFlag(sensor, raw, now);
    const reading = this.o.ingest.manual(sensor, raw, { ...(by ? { by } : {}), ...(note ? { note } : {}) });
    // the reading's own time, not a second read of the clock: "read by hand" is decided by
    // comparing the two, and a millisecond between them showed the dipstick's value as the device's
    const row: Row = { sensor: sensor.id, at: reading.ts, entered: value, value: reading.value, level_mm: reading.level_mm ?? null, by, note, flag };
    const m = toManual(row);
    this.latestBy.set(sensor.id, m);
    this.taken++;
    this.queued.push(row);
    this.o.storage.commitSoon();
    if (flag) this.log.limited(`far:${sensor.id}`, () => `${sensor.id}: a manual reading of ${value} is far from the device's; kept and flagged`);
    return m;
  }

  /** A sentence when the reading is far from the device's own recent value, else null. */
  private farFlag(sensor: SensorConfig, raw: number, now: number): string | null {
    const last = this.lastDevice.get(sensor.id);
    const interval = this.deviceIntervalS.get(sensor.device);
    if (!last || interval === undefined) return null;
    // recent: within the window after which the device's value would be stale
    if (now - last.at > Math.max(3 * interval * 1000, 60_000)) return null;
    const { value } = calibrate(sensor, raw);
    const tolerance = farTolerance(sensor);
    if (!(Math.abs(value - last.value) > tolerance)) return null;
    const unit = sensor.tank ? ' L' : '';
    return this.say('crew.manual.far', "Far from the device's own {device_value} read at {at}: both are kept. Is the sensor or the reading off?", {
      device_value: `${fmt(last.value, sensor.tank ? 0 : 1)}${unit}`,
      at: shortTime(last.at, this.o.config.village.timezone),
    });
  }

  latest(sensorId: string): ManualReading | null {
    return this.latestBy.get(sensorId) ?? null;
  }

  /** /api/sensors with who entered what: the latest manual reading, and whether it is the value shown. */
  annotate(list: SensorHealth[]): SensorHealth[] {
    return list.map((s) => {
      const cfg = this.sensors.get(s.id);
      const m = this.latestBy.get(s.id) ?? null;
      const source = s.last_seen === null ? null : m && Date.parse(m.at) >= Date.parse(s.last_seen) ? 'manual' : 'device';
      return { ...s, manual: cfg?.manual === true, source, last_manual: m };
    });
  }

  /** for /metrics: readings people entered since start, and those refused (by reason in the log) */
  gauges(): [name: string, help: string, value: () => number][] {
    return [
      ['tend_manual_readings_taken', 'readings people entered (POST /api/readings) and tend took, since start', () => this.taken],
      [
        'tend_manual_readings_refused',
        'readings people entered that were refused (unknown sensor, not a number, out of range), since start',
        () => sum(this.refused.values()),
      ],
    ];
  }
}

/** What a person enters for a sensor: a tank's level in mm (a dipstick), otherwise the sensor's own unit. */
export function enteredUnit(s: SensorConfig): string {
  if (s.tank) return 'mm';
  return KIND_UNITS[s.kind] ?? '';
}

const KIND_UNITS: Record<string, string> = {
  battery_soc: '%',
  battery_voltage: 'V',
  load_power: 'W',
  solar_power: 'W',
  cold_temp: '°C',
  door_open: '0/1',
  pressure: 'hPa',
  wind_speed: 'm/s',
  wind_gust: 'm/s',
  rain: 'mm',
};

/**
 * The sensor's raw unit from what a person read. A dipstick reads the water level, so for a
 * tank the level (0 … the tank's height) becomes what the device would send: the distance from
 * the sensor face, or the pressure at the bottom. Other kinds are entered in their own unit and
 * checked against the sensor's range.
 */
export function rawOf(s: SensorConfig, entered: number): number {
  if (s.tank) {
    const height = tankHeightMm(s.tank);
    if (entered < 0 || entered > height) throw new ManualInputError('out_of_range', `value: a level of ${entered} mm is outside this tank (0…${height} mm)`);
    return rawAtLevel(s, entered);
  }
  if (s.range && (entered < s.range[0] || entered > s.range[1])) {
    throw new ManualInputError('out_of_range', `value: ${entered} is outside ${s.id}'s range ${s.range[0]}…${s.range[1]}`);
  }
  return entered;
}

function farTolerance(s: SensorConfig): number {
  if (s.tank) return FAR_TANK_SHARE * tankCapacityLiters(s.tank);
  if (s.range) return FAR_RANGE_SHARE * (s.range[1] - s.range[0]);
  return FAR_BY_KIND[s.kind] ?? Infinity;
}

/** An optional short text: trimmed, null when empty, a 400 when too long or not text. */
function text(v: unknown, field: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ManualInputError('bad_text', `${field}: expected text`);
  const t = v.trim();
  if (t.length > max) throw new ManualInputError('bad_text', `${field}: longer than ${max} characters`);
  return t || null;
}

function toManual(r: Row): ManualReading {
  const m: ManualReading = {
    sensor: r.sensor,
    entered: r.entered,
    value: Math.round(r.value * 10) / 10,
    at: new Date(r.at).toISOString(),
    by: r.by,
    note: r.note,
    flag: r.flag,
  };
  if (r.level_mm !== null) m.level_mm = Math.round(r.level_mm * 10) / 10;
  return m;
}

function sum(ns: Iterable<number>): number {
  let t = 0;
  for (const n of ns) t += n;
  return t;
}
