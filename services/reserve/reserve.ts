// Reserve state: the latest value and rolling one-minute windows per configured sensor, kept in
// memory for the hot path and written to SQLite by the storage group commit, and the reserve
// status computed from them (docs/architecture.md, "The reserve status").
//
// How the figures are computed (README.md, "How the figures are computed"):
// - Staleness uses arrival time (`Reading.received`, the village clock): a sensor is stale when
//   nothing arrived for max(3 × interval_s, 60 s), or its device said offline after the last
//   reading. A sensor never heard from is stale once that window has passed since start().
// - Stale tanks keep their last litres visible (with `stale: true`, status 'unknown' and
//   `last_seen`) and still count in the village totals, since the water is most likely still
//   there; the water status is then no better than 'watch'. The same holds for every domain:
//   'unknown' when none of its sensors is fresh, at least 'watch' when some are stale.
// - `water.percent` is the known litres over the capacity of the tanks that have reported;
//   `capacity_liters` is the capacity of all configured tanks.
// - `draw_lph` is the sum over fresh tanks whose draw is known (see window.ts drawLph): the
//   use of the last hour. `days_left_current` is litres ÷ daily use, the daily use of the last
//   24 h (daily-use.ts), so it holds steady through a day's peaks and a nightly refill; null
//   until every tank holding water has been watched for 3 h, or while the daily use is under
//   24 L (no meaningful "days at current use"; JSON has no Infinity). Its range comes from the
//   daily use of the last 7 days.
// - `hours_left` is null when there is no load reading or the load is ≤ 0 W.
// - `minutes_above_safe` runs from the first reading above `safe_max_c` to the latest reading,
//   in reading time, and resets on the first reading at or below it. A gap in the data while
//   above counts as above (the cautious reading for food safety).
// - Domains with no configured sensor report 'unknown'.
import type { Config, SensorConfig } from '../../config/schema.ts';
import { tankCapacityLiters } from '../../config/tanks.ts';
import { type Say, sayIn } from '../../core/i18n.ts';
import type { Storage } from '../storage.ts';
import type {
  Clock,
  ColdUnitStatus,
  Level,
  PowerStatus,
  Reading,
  ReserveStatus,
  SensorHealth,
  TankStatus,
  WaterStatus,
  WeatherStatus,
} from '../../core/types.ts';
import { HOUR_MS, MIN_DAILY_USE_L, smoothedAt, USE_KEEP_MS, USE_MIN_SPAN_MS, type UseHour, UseTracker, type VillageUse, villageUse } from './daily-use.ts';
import { coldLevel, powerLevel, tankLevel, waterLevel, weatherLevel, worst } from './levels.ts';
import { BUCKET_MS, DRAW_WINDOW_MS, MinuteWindow, TENDENCY_WINDOW_MS, drawLph, maxSince, pressureTendency3h, type Bucket } from './window.ts';

/** the narrow part of Storage the reserve uses */
export type ReserveStorage = Pick<Storage, 'db' | 'register' | 'commitSoon' | 'commitNow'>;

export interface ReserveOptions {
  config: Config;
  clock: Clock;
  storage: ReserveStorage;
}

/** staleness floor: never call a sensor stale sooner than this */
export const STALE_FLOOR_MS = 60_000;
/** gust_ms is the highest gust of the last 10 minutes (the WMO gust reporting period) */
export const GUST_WINDOW_MS = 10 * 60_000;
/** sparkline buckets are kept this long in SQLite (the page's longest span is 7 days) */
export const HISTORY_KEEP_MS = 170 * 3_600_000;
export const HISTORY_STEP_MS = 5 * 60_000;

type StateSensor = {
  cfg: SensorConfig;
  name: string;
  staleMs: number;
  capacity: number;
  has: boolean;
  value: number;
  raw: number;
  level: number | null;
  ts: number;
  received: number;
  /** cold_temp: reading time the present spell above safe_max_c began */
  aboveSince: number | null;
  window: MinuteWindow;
  queued: boolean;
  pending: Bucket[];
  /** tanks: hourly use for the daily figure, and the hours queued for the next flush */
  use: UseTracker | null;
  usePending: UseHour[];
  /** grows with every reading taken in: what was computed from the sensor at one rev still holds */
  rev: number;
  /** stale at the last status (set by status()) */
  staleNow: boolean;
  /** last_seen as text, made once per arrival time (formatting times was a fifth of a compute) */
  isoAt: number;
  isoText: string | null;
  /** the tank's entry in the last status and its health, reused while rev and staleness hold */
  tankOut: { rev: number; stale: boolean; draw: number | null; out: TankStatus } | null;
  health: { rev: number; stale: boolean; online: boolean | null; out: SensorHealth } | null;
};

/** a sensor only people read, without interval_s, is expected once a day (a morning dipstick) */
export const MANUAL_INTERVAL_S = 86_400;

/**
 * When a sensor's value goes stale: max(3 × interval_s, 60 s) for a device (its own interval_s,
 * else its device's); a sensor only people read is stale once a reading is half an interval late
 * (1.5 × interval_s: a daily dipstick missed by half a day), so it is never stale after a minute.
 */
export function staleAfterMs(s: SensorConfig, deviceIntervalS: number | undefined): number {
  if (s.manual && deviceIntervalS === undefined) return 1.5 * (s.interval_s ?? MANUAL_INTERVAL_S) * 1000;
  return Math.max(3 * (s.interval_s ?? deviceIntervalS ?? 30) * 1000, STALE_FLOOR_MS);
}

function keepFor(s: SensorConfig): number {
  if (s.kind.startsWith('tank_')) return DRAW_WINDOW_MS + 10 * BUCKET_MS;
  if (s.kind === 'pressure') return TENDENCY_WINDOW_MS + 10 * BUCKET_MS;
  return GUST_WINDOW_MS + 5 * BUCKET_MS;
}

export class Reserve {
  private readonly config: Config;
  private readonly clock: Clock;
  private readonly storage: ReserveStorage;
  private readonly list: StateSensor[];
  private readonly byId = new Map<string, StateSensor>();
  private readonly kindLists = new Map<string, StateSensor[]>();
  private readonly devices = new Map<string, { online: boolean; at: number; queued: boolean }>();
  private queuedSensors: StateSensor[] = [];
  private queuedDevices: string[] = [];
  private startedAt = 0;
  private started = false;
  private stopped = false;
  private lastPrune = -Infinity;
  /** readings for sensors not in the config (ingest should never send them) */
  unknownReadings = 0;
  /** readings with a non-finite value or time (ingest refuses them; a NaN would poison the sums) */
  badReadings = 0;
  private stmts: ReturnType<Reserve['prepare']> | null = null;
  private useCache: { revs: number; n: number; use: VillageUse } | null = null;

  constructor(opts: ReserveOptions) {
    this.config = opts.config;
    this.clock = opts.clock;
    this.storage = opts.storage;
    const intervals = new Map(opts.config.devices.map((d) => [d.id, d.interval_s]));
    this.list = opts.config.sensors.map((cfg) => ({
      cfg,
      name: cfg.name ?? cfg.id,
      staleMs: staleAfterMs(cfg, intervals.get(cfg.device)),
      capacity: cfg.tank ? tankCapacityLiters(cfg.tank) : 0,
      has: false,
      value: NaN,
      raw: NaN,
      level: null,
      ts: -Infinity,
      received: -Infinity,
      aboveSince: null,
      window: new MinuteWindow(keepFor(cfg)),
      queued: false,
      pending: [],
      use: cfg.kind.startsWith('tank_') ? new UseTracker() : null,
      usePending: [],
      rev: 0,
      staleNow: false,
      isoAt: NaN,
      isoText: null,
      tankOut: null,
      health: null,
    }));
    for (const s of this.list) this.byId.set(s.cfg.id, s);
  }

  private prepare() {
    const db = this.storage.db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS reserve_latest (
        sensor TEXT PRIMARY KEY, value REAL NOT NULL, raw REAL NOT NULL, level_mm REAL,
        ts INTEGER NOT NULL, received INTEGER NOT NULL, above_since INTEGER) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS reserve_bucket (
        sensor TEXT NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL, sum REAL NOT NULL,
        min REAL NOT NULL, max REAL NOT NULL, lsum REAL, tsum REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (sensor, t)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS reserve_device (
        device TEXT PRIMARY KEY, online INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS reserve_use (
        sensor TEXT NOT NULL, t INTEGER NOT NULL, use REAL NOT NULL, span REAL NOT NULL,
        PRIMARY KEY (sensor, t)) WITHOUT ROWID;
    `);
    return {
      upLatest: db.prepare(`INSERT OR REPLACE INTO reserve_latest (sensor, value, raw, level_mm, ts, received, above_since)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      upBucket: db.prepare(`INSERT OR REPLACE INTO reserve_bucket (sensor, t, n, sum, min, max, lsum, tsum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      upDevice: db.prepare(`INSERT OR REPLACE INTO reserve_device (device, online, at) VALUES (?, ?, ?)`),
      prune: db.prepare(`DELETE FROM reserve_bucket WHERE t < ?`),
      latest: db.prepare(`SELECT sensor, value, raw, level_mm, ts, received, above_since FROM reserve_latest`),
      buckets: db.prepare(`SELECT t, n, sum, min, max, lsum, tsum FROM reserve_bucket WHERE sensor = ? AND t >= ? ORDER BY t`),
      device: db.prepare(`SELECT device, online, at FROM reserve_device`),
      upUse: db.prepare(`INSERT OR REPLACE INTO reserve_use (sensor, t, use, span) VALUES (?, ?, ?, ?)`),
      pruneUse: db.prepare(`DELETE FROM reserve_use WHERE t < ?`),
      uses: db.prepare(`SELECT t, use, span FROM reserve_use WHERE sensor = ? AND t >= ? ORDER BY t`),
    };
  }

  /** Create the tables, load what an earlier run left, and join the group commit. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.clock.now();
    const st = (this.stmts = this.prepare());
    type LatestRow = { sensor: string; value: number; raw: number; level_mm: number | null; ts: number; received: number; above_since: number | null };
    for (const row of st.latest.all() as LatestRow[]) {
      const s = this.byId.get(row.sensor);
      if (!s) continue; // sensor no longer configured
      s.has = true;
      s.value = row.value;
      s.raw = row.raw;
      s.level = row.level_mm;
      s.ts = row.ts;
      s.received = row.received;
      s.aboveSince = row.above_since;
      s.rev++;
      type BucketRow = { t: number; n: number; sum: number; min: number; max: number; lsum: number | null; tsum: number };
      for (const b of st.buckets.all(s.cfg.id, row.ts - s.window.keepMs) as BucketRow[]) {
        s.window.restore({ t: b.t, n: b.n, sum: b.sum, min: b.min, max: b.max, lsum: b.lsum ?? NaN, tsum: b.tsum });
      }
      if (row.ts > s.window.newestTs) s.window.newestTs = row.ts;
      if (s.use) {
        for (const h of st.uses.all(s.cfg.id, row.ts - USE_KEEP_MS) as { t: number; use: number; span: number }[]) s.use.restore(h);
        // the newest minute was not counted yet (a minute counts when the next one opens); go on
        // from the one before it (a fall still inside the noise band at shutdown is not counted)
        const bs = s.window.buckets;
        const p = bs.length >= 2 ? smoothedAt(bs, bs.length - 2) : null;
        if (p) s.use.resume(p.t, p.level, p.liters);
      }
    }
    for (const d of st.device.all() as { device: string; online: number; at: number }[]) {
      this.devices.set(d.device, { online: d.online === 1, at: d.at, queued: false });
    }
    // a failed commit (disk full, read-only) clears nothing for good: queue every known value and
    // every bucket again, so the next commit that succeeds writes them
    this.storage.register({
      flush: () => this.flush(),
      rolledBack: () => {
        for (const s of this.list) {
          if (!s.has) continue;
          if (!s.queued) {
            s.queued = true;
            this.queuedSensors.push(s);
          }
          for (const b of s.window.buckets)
            if (!b.dirty) {
              b.dirty = true;
              s.pending.push(b);
            }
          for (const h of s.use?.hours ?? [])
            if (!h.dirty) {
              h.dirty = true;
              s.usePending.push(h);
            }
        }
        for (const [id, d] of this.devices)
          if (!d.queued) {
            d.queued = true;
            this.queuedDevices.push(id);
          }
      },
    });
  }

  /** Hot path: O(1), in memory; rows are queued for the next group commit. */
  knows(sensorId: string): boolean {
    return this.byId.get(sensorId)?.has === true;
  }

  record(r: Reading): void {
    const s = this.byId.get(r.sensor);
    if (!s) {
      this.unknownReadings++;
      return;
    }
    if (!Number.isFinite(r.value) || !Number.isFinite(r.ts)) {
      this.badReadings++;
      return;
    }
    // the latest value is the one that arrived last, even if its clock stepped back; windows clip
    s.has = true;
    s.value = r.value;
    s.raw = r.raw;
    s.level = r.level_mm ?? null;
    s.ts = r.ts;
    s.received = r.received;
    s.rev++;
    if (r.retained && r.received === 0) {
      // last known, age unknown (an undated retained copy): shown as the value, stale, but no
      // point in any window or day of use, which hold measurements at known times; kept in storage
      // like any latest value, so a restart shows it the same way
      if (!this.stopped && !s.queued) {
        s.queued = true;
        this.queuedSensors.push(s);
        this.storage.commitSoon();
      }
      return;
    }
    const b = s.window.add(r.ts, r.value, r.level_mm ?? NaN);
    // a tank's minute counts toward its daily use once complete, i.e. when the next one opens
    let hour: UseHour | null = null;
    if (s.use && b.n === 1) {
      const bs = s.window.buckets;
      const p = bs.length >= 2 ? smoothedAt(bs, bs.length - 2) : null;
      if (p) hour = s.use.step(p.t, p.level, p.liters);
    }
    if (s.cfg.cold) {
      if (r.value > s.cfg.cold.safe_max_c) {
        if (s.aboveSince === null) s.aboveSince = s.window.newestTs;
      } else {
        s.aboveSince = null;
      }
    }
    if (this.stopped) return;
    let fresh = false;
    if (!b.dirty) {
      b.dirty = true;
      s.pending.push(b);
      fresh = true;
    }
    if (hour && !hour.dirty) {
      hour.dirty = true;
      s.usePending.push(hour);
    }
    if (!s.queued) {
      s.queued = true;
      this.queuedSensors.push(s);
      fresh = true;
    }
    if (fresh) this.storage.commitSoon();
  }

  setDeviceOnline(device: string, online: boolean, at: number): void {
    let d = this.devices.get(device);
    if (!d) this.devices.set(device, (d = { online, at, queued: false }));
    d.online = online;
    d.at = at;
    if (this.stopped || d.queued) return;
    d.queued = true;
    this.queuedDevices.push(device);
    this.storage.commitSoon();
  }

  /** Runs inside the storage group transaction. */
  private flush(): void {
    const st = this.stmts;
    if (!st || this.stopped) return;
    // write first, then clear the queues: if a write throws (disk full), the rows stay queued
    // for the next commit and the status goes on from memory
    for (const s of this.queuedSensors) {
      st.upLatest.run(s.cfg.id, s.value, s.raw, s.level, s.ts, s.received, s.aboveSince);
      for (const b of s.pending) {
        st.upBucket.run(s.cfg.id, b.t, b.n, b.sum, b.min, b.max, Number.isNaN(b.lsum) ? null : b.lsum, b.tsum);
      }
      for (const h of s.usePending) st.upUse.run(s.cfg.id, h.t, h.use, h.span);
    }
    for (const id of this.queuedDevices) {
      const d = this.devices.get(id)!;
      st.upDevice.run(id, d.online ? 1 : 0, d.at);
    }
    for (const s of this.queuedSensors) {
      s.queued = false;
      for (const b of s.pending) b.dirty = false;
      s.pending = [];
      for (const h of s.usePending) h.dirty = false;
      s.usePending = [];
    }
    this.queuedSensors = [];
    for (const id of this.queuedDevices) this.devices.get(id)!.queued = false;
    this.queuedDevices = [];
    const now = this.clock.now();
    if (now - this.lastPrune > 10 * 60_000 || now < this.lastPrune) {
      this.lastPrune = now;
      st.prune.run(now - HISTORY_KEEP_MS);
      st.pruneUse.run(now - USE_KEEP_MS - HOUR_MS);
    }
  }

  private isStale(s: StateSensor, now: number): boolean {
    const d = this.devices.get(s.cfg.device);
    if (d && !d.online && (!s.has || d.at >= s.received)) return true;
    // a clock stepping back gives a negative age: that is "just heard", not stale
    if (!s.has) return now - this.startedAt > s.staleMs;
    return now - s.received > s.staleMs;
  }

  /**
   * Each sensor's health now. An entry is made again only when the sensor took a reading, went
   * stale or fresh, or its device changed state; otherwise the one from before is handed out
   * again (the status loop asks at every compute): read the entries, do not change them.
   */
  sensors(): SensorHealth[] {
    const now = this.clock.now();
    return this.list.map((s) => {
      const d = this.devices.get(s.cfg.device);
      const stale = this.isStale(s, now);
      const online = d ? d.online : null;
      const h = s.health;
      if (h && h.rev === s.rev && h.stale === stale && h.online === online) return h.out;
      const out: SensorHealth = {
        id: s.cfg.id,
        name: s.name,
        device: s.cfg.device,
        kind: s.cfg.kind,
        value: s.has ? s.value : null,
        raw: s.has ? s.raw : null,
        last_seen: iso(s),
        stale,
        device_online: online,
      };
      s.health = { rev: s.rev, stale, online, out };
      return out;
    });
  }

  status(extra: { rejected_total: number }): Omit<ReserveStatus, 'alerts' | 'assembly'> {
    const now = this.clock.now();
    for (const s of this.list) s.staleNow = this.isStale(s, now);
    const stale = staleNow;
    const of = (...kinds: SensorConfig['kind'][]) => this.ofKinds(kinds);
    const fresh = (s: StateSensor) => s.has && !s.staleNow;
    /** 'unknown' with no fresh sensor, at least 'watch' while some are stale */
    const domain = (sensors: StateSensor[], computed: Level): Level => {
      if (!sensors.some(fresh)) return 'unknown';
      return sensors.some((s) => s.staleNow) ? worst(computed, 'watch') : computed;
    };

    const v = this.config.village;
    const online = this.list.filter(fresh).length;
    return {
      village: { id: v.id, name: v.name, population: v.population, timezone: v.timezone, language: v.language, minimum_water_lpd: v.minimum_water_lpd },
      at: new Date(now).toISOString(),
      water: this.water(of('tank_distance', 'tank_pressure', 'tank_level'), stale, domain),
      power: this.power(stale, of, domain),
      cold: this.cold(of('cold_temp'), of('door_open'), stale, domain),
      weather: this.weather(stale, of, domain),
      sensors: {
        online,
        total: this.list.length,
        stale: this.list.filter((s) => s.staleNow).map((s) => s.cfg.id),
        rejected_total: extra.rejected_total,
      },
    };
  }

  /** the configured sensors of these kinds, in config order; the config is fixed, so each set is filtered once */
  private ofKinds(kinds: SensorConfig['kind'][]): StateSensor[] {
    const key = kinds.join();
    let list = this.kindLists.get(key);
    if (!list) this.kindLists.set(key, (list = this.list.filter((s) => kinds.includes(s.cfg.kind))));
    return list;
  }

  private water(tanks: StateSensor[], stale: StaleOf, domain: DomainFn): WaterStatus {
    let liters = 0;
    let knownCapacity = 0;
    let capacity = 0;
    let known = false;
    let draw: number | null = null;
    let staleTanks = 0;
    const out: TankStatus[] = tanks.map((s) => {
      const isStale = stale.get(s)!;
      if (isStale) staleTanks++;
      capacity += s.capacity;
      if (s.has) {
        known = true;
        liters += s.value;
        knownCapacity += s.capacity;
      }
      // a tank that took no reading and kept its staleness reads as before: its entry and draw stand
      const c = s.tankOut;
      if (c && c.rev === s.rev && c.stale === isStale) {
        if (c.draw !== null) draw = (draw ?? 0) + c.draw;
        return c.out;
      }
      let tankDraw: number | null = null;
      if (s.has && !isStale) {
        tankDraw = drawLph(s.window.buckets);
        if (tankDraw !== null) draw = (draw ?? 0) + tankDraw;
      }
      const percent = s.has && s.capacity > 0 ? (s.value / s.capacity) * 100 : null;
      const entry: TankStatus = {
        id: s.cfg.id,
        name: s.name,
        liters: s.has ? round(s.value, 1) : null,
        capacity_liters: round(s.capacity, 1),
        percent: round(percent, 1),
        level_mm: s.has ? round(s.level, 1) : null,
        status: s.has && !isStale ? tankLevel(percent) : 'unknown',
        last_seen: iso(s),
        stale: isStale,
        draw_lph: round(tankDraw, 1),
      };
      s.tankOut = { rev: s.rev, stale: isStale, draw: tankDraw, out: entry };
      return entry;
    });
    const total = known ? liters : null;
    const percent = known && knownCapacity > 0 ? (liters / knownCapacity) * 100 : null;
    const v = this.config.village;
    const daysMinimum = total === null ? null : total / (v.population * v.minimum_water_lpd);
    const d = draw as number | null;
    // days at current use: litres ÷ the daily use of the last 24 h of the tanks holding water
    const use = this.villageUse(tanks);
    const daily = use.daily;
    const daysCurrent = total === null || daily === null || daily < MIN_DAILY_USE_L ? null : total / daily;
    // the range: litres ÷ the heaviest and ÷ the lightest known day of the last week (two days at least)
    const days = use.days.filter((u) => u >= MIN_DAILY_USE_L);
    const range: [number, number] | null =
      total !== null && daysCurrent !== null && days.length >= 2 ? [round(total / Math.max(...days), 2), round(total / Math.min(...days), 2)] : null;
    return {
      liters: round(total, 1),
      capacity_liters: round(capacity, 1),
      percent: round(percent, 1),
      draw_lph: round(d, 1),
      days_left_current: round(daysCurrent, 2),
      days_left_current_range: range,
      days_left_basis: useBasis(total === null ? null : use, sayIn(this.config.village.language)),
      daily_use_liters: round(daily, 1),
      days_left_minimum: round(daysMinimum, 2),
      stale_tanks: staleTanks,
      status: domain(tanks, waterLevel(percent, daysMinimum, daysCurrent)),
      tanks: out,
    };
  }

  /** villageUse of the tanks holding water, worked out again only when one of them changed */
  private villageUse(tanks: StateSensor[]): VillageUse {
    let revs = 0;
    let n = 0;
    for (const s of tanks)
      if (s.has && s.use) {
        revs += s.use.rev;
        n++;
      }
    // revs only grow and tanks only come to hold water: equal sums mean nothing changed
    const c = this.useCache;
    if (c && c.revs === revs && c.n === n) return c.use;
    const use = villageUse(tanks.filter((s) => s.has && s.use).map((s) => s.use!));
    this.useCache = { revs, n, use };
    return use;
  }

  private power(stale: StaleOf, of: OfFn, domain: DomainFn): PowerStatus {
    const socs = of('battery_soc').filter((s) => s.has);
    let stored: number | null = null;
    let usable: number | null = null;
    let capacity = 0;
    for (const s of socs) {
      const b = s.cfg.battery;
      if (!b) continue;
      const kwh = (Math.min(100, Math.max(0, s.value)) / 100) * b.capacity_kwh;
      stored = (stored ?? 0) + kwh;
      // energy below the reserve the battery keeps for its own health is not usable
      usable = (usable ?? 0) + Math.max(0, kwh - (1 - b.usable_fraction) * b.capacity_kwh);
      capacity += b.capacity_kwh;
    }
    const soc = stored !== null && capacity > 0 ? (stored / capacity) * 100 : null;
    const load = sum(of('load_power'));
    const solarSensors = of('solar_power');
    const solar = sum(solarSensors);
    // net needs the load, and the solar too where there are panels to measure
    const net = load === null || (solarSensors.length && solar === null) ? null : (solar ?? 0) - load;
    const volts = of('battery_voltage').find((s) => s.has);
    const hoursLeft = usable !== null && load !== null && load > 0 ? (usable * 1000) / load : null;
    const all = of('battery_soc', 'battery_voltage', 'load_power', 'solar_power');
    return {
      soc_percent: round(soc, 1),
      stored_kwh: round(stored, 3),
      usable_kwh: round(usable, 3),
      load_w: round(load, 1),
      solar_w: round(solar, 1),
      net_w: round(net, 1),
      hours_left: round(hoursLeft, 2),
      voltage_v: volts ? round(volts.value, 2) : null,
      status: domain(all, powerLevel(soc, usable, hoursLeft)),
      stale: all.some((s) => stale.get(s)),
    };
  }

  private cold(units: StateSensor[], doors: StateSensor[], stale: StaleOf, domain: DomainFn) {
    const out: ColdUnitStatus[] = units.map((s) => {
      const isStale = stale.get(s)!;
      const safe = s.cfg.cold?.safe_max_c ?? NaN;
      const minutes = s.has && s.aboveSince !== null ? Math.max(0, s.window.newestTs - s.aboveSince) / 60_000 : 0;
      const door = doors.find((d) => d.cfg.unit === s.cfg.id && d.has && !stale.get(d));
      return {
        id: s.cfg.id,
        name: s.name,
        temp_c: s.has ? round(s.value, 2) : null,
        safe_max_c: safe,
        minutes_above_safe: round(minutes, 1),
        door_open: door ? door.value >= 0.5 : null,
        status: s.has && !isStale ? coldLevel(minutes) : 'unknown',
        last_seen: iso(s),
        stale: isStale,
      };
    });
    return { status: domain(units, worst(...out.map((u) => u.status))), units: out, stale_units: out.filter((u) => u.stale).length };
  }

  private weather(stale: StaleOf, of: OfFn, domain: DomainFn): WeatherStatus {
    const pick = (list: StateSensor[]) => list.find((s) => s.has && !stale.get(s)) ?? list.find((s) => s.has);
    const p = pick(of('pressure'));
    const wind = pick(of('wind_speed'));
    const rain = pick(of('rain'));
    // gusts from a gust sensor; without one, the highest wind reading stands in
    const gustSensors = of('wind_gust').filter((s) => s.has);
    let gust: number | null = null;
    for (const s of gustSensors.length ? gustSensors : wind ? [wind] : []) {
      const g = maxSince(s.window.buckets, s.window.newestTs - (s.window.newestTs % BUCKET_MS) - GUST_WINDOW_MS);
      if (g !== null && (gust === null || g > gust)) gust = g;
    }
    const tendency = p ? pressureTendency3h(p.window.buckets) : null;
    const all = of('pressure', 'wind_speed', 'wind_gust', 'rain');
    return {
      pressure_hpa: p ? round(p.value, 1) : null,
      pressure_tendency_hpa_3h: round(tendency, 2),
      wind_ms: wind ? round(wind.value, 1) : null,
      gust_ms: round(gust, 1),
      rain_mm: rain ? round(rain.value, 1) : null,
      status: domain(all, weatherLevel(tendency, gust)),
      stale: all.some((s) => stale.get(s)),
    };
  }

  /**
   * Mean per `stepMs` bucket (5 minutes unless asked) since `sinceMs` (reading time), for the
   * sparklines. Reads the persisted minutes and overlays the ones in memory not written yet.
   */
  history(sensorId: string, sinceMs: number, stepMs = HISTORY_STEP_MS): { ts: number; value: number }[] {
    const s = this.byId.get(sensorId);
    if (!s) return [];
    const minutes = new Map<number, { n: number; sum: number }>();
    if (this.stmts && !this.stopped) {
      try {
        for (const b of this.stmts.buckets.all(sensorId, sinceMs) as { t: number; n: number; sum: number }[]) {
          minutes.set(b.t, { n: b.n, sum: b.sum });
        }
      } catch {
        // storage failing: the page still gets what is in memory (storage.lastError says why)
      }
    }
    // unwritten minutes: the window, and queued ones the window has already let go of
    for (const list of [s.pending, s.window.buckets]) {
      for (const b of list) if (b.t >= sinceMs) minutes.set(b.t, { n: b.n, sum: b.sum });
    }
    const steps = new Map<number, { n: number; sum: number }>();
    for (const [t, m] of [...minutes].sort((a, b) => a[0] - b[0])) {
      const k = t - (t % stepMs);
      const acc = steps.get(k);
      if (acc) {
        acc.n += m.n;
        acc.sum += m.sum;
      } else steps.set(k, { ...m });
    }
    return [...steps].map(([ts, m]) => ({ ts, value: m.sum / m.n }));
  }

  /** Write what is queued, then stop taking rows (the values stay readable). */
  stop(): void {
    if (this.stopped) return;
    if (this.started && this.storage.db.open) this.storage.commitNow();
    this.stopped = true;
  }
}

type DomainFn = (sensors: StateSensor[], computed: Level) => Level;
/** whether a sensor was stale at this status (status() sets staleNow first) */
type StaleOf = { get(s: StateSensor): boolean };
const staleNow: StaleOf = { get: (s) => s.staleNow };
type OfFn = (...kinds: SensorConfig['kind'][]) => StateSensor[];

/** What days_left_current stands on, in words for people (the page shows it beside the figure). */
function useBasis(use: VillageUse | null, say: Say): string {
  if (use === null || use.daily === null)
    return say('reserve.basis.unmeasured', 'water use not measured yet: needs {hours} h of readings', { hours: USE_MIN_SPAN_MS / HOUR_MS });
  const hours = Math.round(use.spanMs / HOUR_MS);
  if (use.daily < MIN_DAILY_USE_L)
    return use.fullDay
      ? say('reserve.basis.almost_none_day', 'almost no use in the last 24 h')
      : say('reserve.basis.almost_none', 'almost no use in the {hours} h seen so far', { hours });
  return use.fullDay ? say('reserve.basis.day', 'at the last 24 h of use') : say('reserve.basis.hours', 'at the {hours} h of use seen so far', { hours });
}

function iso(s: StateSensor): string | null {
  if (!s.has || !Number.isFinite(s.received)) return null;
  if (s.isoAt !== s.received) {
    s.isoAt = s.received;
    s.isoText = new Date(s.received).toISOString();
  }
  return s.isoText;
}

/** sum of the latest values of the sensors that have one (stale included: shown as stale) */
function sum(list: StateSensor[]): number | null {
  let t: number | null = null;
  for (const s of list) if (s.has) t = (t ?? 0) + s.value;
  return t;
}

function round(x: number, digits: number): number;
function round(x: number | null | undefined, digits: number): number | null;
function round(x: number | null | undefined, digits: number): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
