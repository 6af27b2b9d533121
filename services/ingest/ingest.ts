// Where a reading enters the village. Every transport hands its RawReadings here; ingest checks
// them against the config (known device, known metric, plausible range, sane clock), calibrates
// them to engineering units and passes the Reading on. Everything refused is counted per device
// and reason and logged at most once a minute per device — never a crash, never silent.
import type { Config, SensorConfig } from '../../config/schema.ts';
import type { TransportSink } from '../../core/transport.ts';
import { MAX_CLOCK_SKEW_MS } from '../../core/limits.ts';
import type { VillageEventHub } from '../events.ts';
import type { Clock, RawReading, Reading, RejectReason } from '../../core/types.ts';
import { calibrate } from './calibrate.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';

/** The one thing ingest needs from the state: somewhere to put an accepted reading. */
export interface ReadingStore {
  record(r: Reading): void;
  /** a value is known for the sensor (live, or restored from storage after a restart) */
  knows(sensorId: string): boolean;
  setDeviceOnline(device: string, online: boolean, at: number): void;
}

const LOG_EVERY_MS = 60_000;
/** the metric firmware uses to say its sensor failed, instead of sending a fake value */
export const FAULT_METRIC = 'fault';
/** unknown device names come from the wire: count them under one label, not one each */
export const UNKNOWN_DEVICE = '(unknown)';

export class Ingest implements TransportSink {
  /** device → metric → sensor; a device with no sensors has an empty map. Two lookups by the
   * strings as they arrive, not one by a joined key: a joined key is a new string to hash on
   * every reading, the topic's device name and the payload's key each hash once */
  private readonly devices = new Map<string, Map<string, SensorConfig>>();
  /** sensor → newest ts of a live (not retained) reading it took since start */
  private readonly live = new Map<string, number>();
  /** at most one line a minute per device: a flood of garbage must not flood the log too */
  private readonly log: Logger;
  /** `${device}\0${reason}` → count */
  readonly rejects = new Map<string, number>();
  readonly accepted = new Map<string, number>();
  /** `${device}\0${code}` → count of sensor faults the device reported */
  readonly faults = new Map<string, number>();
  rejectedTotal = 0;
  acceptedTotal = 0;
  clockReplacedTotal = 0;

  constructor(
    private readonly opts: {
      config: Config;
      clock: Clock;
      events: VillageEventHub;
      store: ReadingStore;
      log?: LogSink;
    },
  ) {
    this.log = moduleLog(opts.log, 'ingest', { clock: opts.clock, windowMs: LOG_EVERY_MS });
    for (const d of opts.config.devices) this.devices.set(d.id, new Map());
    for (const s of opts.config.sensors) this.devices.get(s.device)?.set(metricOf(s), s);
  }

  reading(raw: RawReading): void {
    const sensors = this.devices.get(raw.device);
    if (!sensors) return this.reject(raw.device, 'unknown_device', `no device "${raw.device.slice(0, 64)}" in the config`);
    const sensor = sensors.get(raw.metric);
    if (!sensor && raw.metric === FAULT_METRIC) return this.fault(raw);
    if (!sensor) return this.reject(raw.device, 'unknown_metric', `device ${raw.device} has no sensor for metric "${raw.metric.slice(0, 64)}"`);
    if (!Number.isFinite(raw.value)) return this.reject(raw.device, 'not_finite', `${raw.metric} is not a finite number`);
    if (sensor.range && (raw.value < sensor.range[0] || raw.value > sensor.range[1])) {
      return this.reject(raw.device, 'out_of_range', `${sensor.id}: ${raw.value} outside ${sensor.range[0]}…${sensor.range[1]}`);
    }
    let received = this.opts.clock.now();
    let ts = raw.ts;
    let tsReplaced = false;
    let ageUnknown = false;
    if (raw.retained) {
      // A copy from a broker's retained store is the last value kept, not a live one: it is never
      // stamped with the receive time. With a sane device time it counts at that time (and is
      // stale as soon as that is long enough ago); without one its age is unknown.
      const liveTs = this.live.get(sensor.id);
      if (Number.isFinite(ts) && Math.abs(ts - received) <= MAX_CLOCK_SKEW_MS) {
        // the broker keeps the last publish, which usually reached us live already
        if (liveTs !== undefined && ts <= liveTs) {
          return this.reject(
            raw.device,
            'retained_older',
            `${sensor.id}: retained ${raw.metric} from ${new Date(ts).toISOString()}, not newer than the live reading`,
          );
        }
        received = Math.min(ts, received);
      } else if (liveTs !== undefined || this.opts.store.knows(sensor.id)) {
        // a value with a known time is already here (live, or restored from storage after a
        // restart): an undated copy tells nothing newer and would hide when it was last heard
        return this.reject(raw.device, 'retained_without_time', `${sensor.id}: retained ${raw.metric} without a device time, and a dated value is known`);
      } else {
        // last known, age unknown: shown, but stale (arrived at the epoch) until a live reading
        ts = 0;
        received = 0;
        ageUnknown = true;
      }
    } else if (!Number.isFinite(ts) || Math.abs(ts - received) > MAX_CLOCK_SKEW_MS) {
      // A device clock off by more than 10 min (no RTC, no NTP after a power cut) would put the
      // reading in the wrong place in every window; keep the value, use our time, flag it.
      ts = received;
      tsReplaced = true;
      this.clockReplacedTotal++;
    }
    const { value, level_mm } = calibrate(sensor, raw.value);
    const reading: Reading = {
      sensor: sensor.id,
      device: raw.device,
      kind: sensor.kind,
      raw: raw.value,
      value,
      ts,
      received,
      source: raw.source,
    };
    if (level_mm !== undefined) reading.level_mm = level_mm;
    if (tsReplaced) reading.ts_replaced = true;
    if (raw.seq !== undefined) reading.seq = raw.seq;
    if (raw.retained) reading.retained = true;
    else this.live.set(sensor.id, Math.max(ts, this.live.get(sensor.id) ?? -Infinity));
    this.acceptedTotal++;
    this.accepted.set(raw.device, (this.accepted.get(raw.device) ?? 0) + 1);
    this.opts.store.record(reading);
    if (ageUnknown) {
      // no 'reading' event: it is no measurement at a time (history would get a point at the
      // epoch); the status shows it, stale, at its next recompute
      this.log.limited(
        `retained:${raw.device}`,
        () => `${sensor.id}: took a retained ${raw.metric} of unknown age from the broker; stale until ${raw.device} sends a live reading`,
      );
      return;
    }
    this.opts.events.emit('reading', reading);
  }

  /**
   * A reading a person entered (services/ingest/manual.ts has checked the sensor, the number and
   * the range, and turned a dipstick level into the sensor's raw unit): calibrated, stored and
   * passed on like a device's, at the time it was entered, with source 'manual'.
   */
  manual(sensor: SensorConfig, raw: number, person: { by?: string; note?: string }): Reading {
    const now = this.opts.clock.now();
    const { value, level_mm } = calibrate(sensor, raw);
    const reading: Reading = { sensor: sensor.id, device: sensor.device, kind: sensor.kind, raw, value, ts: now, received: now, source: 'manual', ...person };
    if (level_mm !== undefined) reading.level_mm = level_mm;
    // a live value now: a retained copy without a time must not hide it
    this.live.set(sensor.id, Math.max(now, this.live.get(sensor.id) ?? -Infinity));
    this.acceptedTotal++;
    this.opts.store.record(reading);
    this.opts.events.emit('reading', reading);
    return reading;
  }

  /**
   * A device reporting its own sensor fault (tank-node firmware: `fault=1` no echo / signal too
   * low, `fault=2` out of range) sends it instead of a fake level: counted and logged, and the
   * sensor goes stale on its own because no level arrives.
   */
  private fault(raw: RawReading): void {
    if (raw.value === 0) return;
    const key = `${raw.device}\0${raw.value}`;
    this.faults.set(key, (this.faults.get(key) ?? 0) + 1);
    this.log.limited(
      `fault:${raw.device}`,
      () =>
        `${raw.device} reports sensor fault ${raw.value} (${raw.value === 1 ? 'no echo or signal too low' : raw.value === 2 ? 'out of range' : 'device-specific'}); its level is not updated`,
    );
  }

  /** device faults as [device, code, count] for /metrics */
  faultCounts(): [string, string, number][] {
    return [...this.faults].map(([k, n]) => {
      const [device, code] = k.split('\0') as [string, string];
      return [device, code, n];
    });
  }

  reject(device: string, reason: RejectReason, detail: string): void {
    const label = this.devices.has(device) ? device : UNKNOWN_DEVICE;
    const key = `${label}\0${reason}`;
    this.rejects.set(key, (this.rejects.get(key) ?? 0) + 1);
    this.rejectedTotal++;
    this.log.limited(
      label,
      () => `rejected from ${label}: ${reason}: ${detail} (${this.rejects.get(key)} ${reason} so far; logging this device at most once a minute)`,
    );
    this.opts.events.emit('reject', { device: label, reason, detail, at: this.opts.clock.now() });
  }

  online(device: string, online: boolean): void {
    if (!this.devices.has(device)) return;
    const at = this.opts.clock.now();
    this.opts.store.setDeviceOnline(device, online, at);
    this.opts.events.emit('device', { device, online, at });
  }

  /** rejects as [device, reason, count] for /metrics */
  rejectCounts(): [string, RejectReason, number][] {
    return [...this.rejects].map(([k, n]) => {
      const [device, reason] = k.split('\0') as [string, RejectReason];
      return [device, reason, n];
    });
  }
}

/** The metric name a sensor is keyed by: its metric, else a source sensor's id, else a firmata pin. */
export function metricOf(s: SensorConfig): string {
  return s.metric ?? (s.source ? s.id : String(s.firmata?.pin ?? s.id));
}
