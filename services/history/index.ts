// History: listens to the village's events, turns them into line-protocol points in the SQLite
// outbox (durable with the same group commit as the reading, before its PUBACK), and drains the
// outbox to InfluxDB when the config names one (the measurement schema is in README.md here).
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub, VillageEvents } from '../events.ts';
import type { Storage } from '../storage.ts';
import type { Clock, LinkStatus, Level, ReserveStatus } from '../../core/types.ts';
import { InfluxWriter } from './influx-writer.ts';
import { Outbox } from './outbox.ts';
import type { LogSink } from '../../core/log.ts';
import type { HttpFetch } from '../../core/http.ts';
import { alertPoint, devicePoint, incidentPoint, linkPoint, readingPoint, rejectPoint, SameMsSequence, statusPoints } from './points.ts';

export { Outbox } from './outbox.ts';
export { InfluxWriter } from './influx-writer.ts';
export * as points from './points.ts';

/** Derived samples (tank, power, cold, weather, reserve) at most this often, unless a level changes. */
export const STATUS_SAMPLE_MS = 10_000;

export interface HistoryStats {
  outbox_rows: number;
  outbox_bytes: number;
  dropped_total: number;
  written_total: number;
  rejected_total: number;
  last_error: string | null;
  connected: boolean;
  /** rows dropped by the bound, per class: raw readings go first */
  dropped_by_class: { raw: number; derived: number; keep: number };
  /** false when no influx: section is configured (nothing is queued then) */
  enabled: boolean;
  backoff_ms: number;
}

export interface HistoryOptions {
  config: Config;
  clock: Clock;
  storage: Storage;
  events: VillageEventHub;
  log?: LogSink;
  fetch?: HttpFetch;
  /** connection states to sample into the `link` measurement (broker, serial, federation …) */
  links?: () => LinkStatus[];
  /** writer tuning for tests/bench */
  writer?: { concurrency?: number; minBackoffMs?: number; maxBackoffMs?: number; maxBodyBytes?: number };
}

export class History {
  readonly outbox: Outbox;
  private writer: InfluxWriter | null = null;
  private readonly village: string;
  private unsubscribe: (() => void)[] = [];
  private lastSampleAt = -Infinity;
  private lastSignature = '';
  private rejects = new Map<string, { device: string; reason: string; count: number; detail: string }>();
  private lastRejectFlush = -Infinity;
  private started = false;
  /** readings of one sensor in the same millisecond each get their own time */
  private readonly sameMs = new SameMsSequence();

  constructor(private readonly opts: HistoryOptions) {
    this.village = opts.config.village.id;
    this.outbox = new Outbox(opts.storage, opts.config.storage.outbox_max_bytes, opts.log);
  }

  get enabled(): boolean {
    return this.opts.config.influx !== undefined;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.outbox.start();
    const influx = this.opts.config.influx;
    if (!influx) return; // nothing would ever drain the outbox; the page keeps its own 24 h in SQLite
    const { events, storage, clock } = this.opts;
    const on = <K extends keyof VillageEvents>(name: K, fn: (...args: VillageEvents[K]) => void) => {
      events.on(name, fn as never, 'history');
      this.unsubscribe.push(() => events.off(name, fn as never));
    };
    on('reading', (r) => {
      const p = readingPoint(this.village, r, this.sameMs.next(r));
      if (!p) return;
      this.outbox.add(p);
      storage.commitSoon();
    });
    on('status', (s) => this.onStatus(s));
    on('alert', (a) => {
      const p = alertPoint(this.village, a, clock.now());
      if (p) {
        this.outbox.add(p);
        storage.commitSoon();
      }
    });
    on('incident', (i) => {
      const p = incidentPoint(this.village, i, clock.now());
      if (p) {
        this.outbox.add(p);
        storage.commitSoon();
      }
    });
    on('device', (d) => {
      const p = devicePoint(this.village, d);
      if (p) {
        this.outbox.add(p);
        storage.commitSoon();
      }
    });
    on('reject', (r) => {
      const key = `${r.device}\u0000${r.reason}`;
      const agg = this.rejects.get(key);
      if (agg) {
        agg.count++;
        agg.detail = r.detail;
      } else this.rejects.set(key, { device: r.device, reason: r.reason, count: 1, detail: r.detail });
    });
    this.writer = new InfluxWriter({
      config: influx,
      outbox: this.outbox,
      fetch: this.opts.fetch,
      log: this.opts.log,
      now: () => clock.now(),
      ...this.opts.writer,
    });
    this.writer.start();
  }

  /** A status sample every STATUS_SAMPLE_MS of status time, and at once when any level or staleness changes. */
  private onStatus(s: ReserveStatus): void {
    const parsed = Date.parse(s.at);
    const ts = Number.isFinite(parsed) ? parsed : this.opts.clock.now();
    const sig = signature(s);
    const due = ts - this.lastSampleAt >= STATUS_SAMPLE_MS || ts < this.lastSampleAt;
    if (due || sig !== this.lastSignature) {
      this.lastSampleAt = ts;
      this.lastSignature = sig;
      for (const p of statusPoints(s, ts)) this.outbox.add(p);
      for (const l of this.linkStatuses()) {
        const p = linkPoint(this.village, l, ts);
        if (p) this.outbox.add(p);
      }
    }
    if (ts - this.lastRejectFlush >= STATUS_SAMPLE_MS || ts < this.lastRejectFlush) this.flushRejects(ts);
    this.opts.storage.commitSoon();
  }

  /** The links the village passed; a failing callback (not ready yet at startup) samples none. */
  private linkStatuses(): LinkStatus[] {
    try {
      return this.opts.links?.() ?? [];
    } catch {
      return [];
    }
  }

  private flushRejects(ts: number): void {
    this.lastRejectFlush = ts;
    for (const r of this.rejects.values()) {
      const p = rejectPoint(this.village, r.device, r.reason, r.count, r.detail, ts);
      if (p) this.outbox.add(p);
    }
    this.rejects.clear();
  }

  stats(): HistoryStats {
    const o = this.outbox.stats();
    const w = this.writer?.st;
    return {
      outbox_rows: o.rows + o.pending,
      outbox_bytes: o.bytes,
      dropped_total: o.dropped_total,
      written_total: w?.written_total ?? 0,
      rejected_total: o.rejected_total,
      last_error: w?.last_error ?? null,
      connected: w?.connected ?? false,
      dropped_by_class: o.dropped_by_class,
      enabled: this.enabled,
      backoff_ms: w?.backoff_ms ?? 0,
    };
  }

  /**
   * The links history shows on the page and /metrics: InfluxDB, and the outbox saying how much
   * history waits for it and whether any was dropped. None without InfluxDB.
   */
  links(since: string): LinkStatus[] {
    const influx = this.link();
    if (!influx) return [];
    const h = this.stats();
    return [
      influx,
      {
        name: `history outbox: ${h.outbox_rows.toLocaleString('en')} points waiting`,
        kind: 'storage',
        state: h.dropped_total > 0 ? 'error' : 'connected',
        last_error:
          h.dropped_total > 0 ? `outbox full: ${h.dropped_total.toLocaleString('en')} oldest raw readings dropped (reserve totals and alerts kept)` : null,
        since,
      },
    ];
  }

  /** Gauges for /metrics, read when scraped. */
  gauges(): [name: string, help: string, value: () => number][] {
    return [
      ['tend_history_outbox_rows', 'Points waiting in the history outbox', () => this.stats().outbox_rows],
      ['tend_history_outbox_bytes', 'Bytes in the history outbox', () => this.stats().outbox_bytes],
      ['tend_history_dropped_total', 'Outbox points dropped because the outbox was full (oldest raw readings first)', () => this.stats().dropped_total],
      ['tend_history_written_total', 'Points written to InfluxDB', () => this.stats().written_total],
      ['tend_history_rejected_total', 'Points InfluxDB refused (4xx), set aside', () => this.stats().rejected_total],
    ];
  }

  /** Connection state of the InfluxDB writer; null without InfluxDB. */
  link(): LinkStatus | null {
    if (!this.writer) return null;
    const w = this.writer.st;
    return {
      name: 'influxdb',
      kind: 'influx',
      state: w.connected ? 'connected' : w.last_error ? 'reconnecting' : 'connecting',
      last_error: w.last_error,
      since: new Date(this.opts.clock.now()).toISOString(),
    };
  }

  /** Points InfluxDB refused (4xx), newest first. */
  rejected(limit = 100): { at: number; status: number; error: string; line: string }[] {
    return this.outbox.rejectedRows(limit);
  }

  /** `tend history flush`: commit what is queued and send everything now. Returns points sent. */
  async flush(progress?: (done: number, total: number, rate: number) => void): Promise<number> {
    if (!this.started) this.start();
    if (!this.writer) throw new Error('no influx: section in the config, so there is nowhere to flush history to');
    if (this.rejects.size) this.flushRejects(this.opts.clock.now());
    this.opts.storage.commitNow();
    return this.writer.drain(progress);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.rejects.size) this.flushRejects(this.opts.clock.now());
    if (this.opts.storage.db.open) this.opts.storage.commitNow();
    await this.writer?.stop();
    this.writer = null;
    this.started = false;
  }
}

function signature(s: ReserveStatus): string {
  const l = (x: Level) => x[0];
  let sig = l(s.water.status) + l(s.power.status) + l(s.cold.status) + l(s.weather.status) + (s.power.stale ? 's' : '-') + (s.weather.stale ? 's' : '-');
  for (const t of s.water.tanks) sig += `|${t.id}${l(t.status)}${t.stale ? 's' : ''}`;
  for (const u of s.cold.units) sig += `|${u.id}${l(u.status)}${u.stale ? 's' : ''}${u.door_open ? 'o' : ''}`;
  sig += `|${s.sensors.online}/${s.sensors.total}|${s.alerts.filter((a) => a.state !== 'resolved').length}`;
  return sig;
}
