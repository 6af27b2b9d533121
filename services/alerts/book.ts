// The alert book: rules → alert state → incidents, kept in SQLite (tables alert_*), so a restart
// keeps every alert and incident and announces nothing twice.
//
// Each judgement runs the rules over one reserve status, steps the alert state machines, groups
// what changed into incidents and emits `alert` for every real change. It returns what it touched;
// the assembly (services/assembly/) turns crisis incidents into prompts and announces incidents.
// Alerts can also be raised from outside until a set time (an exercise): they end by themselves.
import type { Config } from '../../config/schema.ts';
import { ruleParams, type AllRuleParams } from '../../config/rules.ts';
import type { Alert, Clock, Incident, Reading, ReserveStatus, SensorHealth } from '../../core/types.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import { AlertEngine, type KeyState } from './engine.ts';
import { alertsOf, IncidentBook } from './incidents.ts';
import { evaluateRules } from './rules.ts';
import { ThresholdCrossings } from './crossing.ts';
import { newMemory, type RuleMemory } from './rule-types.ts';

export interface AlertBookOptions {
  config: Config;
  clock: Clock;
  storage: Storage;
  events: VillageEventHub;
  log?: LogSink;
}

/** What one judgement changed: the alerts, and the incidents they touched (sorted by id). */
export interface Judgement {
  now: number;
  changed: Alert[];
  incidents: Incident[];
}

/** what the next group commit writes, by id; one flush takes it whole and hands it back if its transaction rolls back */
interface Pending {
  alerts: Set<string>;
  keys: Set<string>;
  incidents: Set<string>;
  meta: boolean;
}
const nothingPending = (): Pending => ({ alerts: new Set(), keys: new Set(), incidents: new Set(), meta: false });

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MEMORY_WRITE_MS = 60_000;
/**
 * Resolved alerts stay in memory this long (an open incident's alerts, however old, stay too). A
 * start loads no older ones, and a running gateway lets them go the same way, once an hour: it
 * runs for months, and a flaky link raises dozens of alerts a day. They stay on disk.
 */
const KEEP_RESOLVED_MS = 7 * DAY;
/** whether an alert, last changed at `at` (epoch ms), is resolved and past KEEP_RESOLVED_MS */
const pastKeeping = (state: string, at: number, now: number): boolean => state === 'resolved' && now - at >= KEEP_RESOLVED_MS;
/** alerts raised from outside the rules (an exercise) carry this prefix in their id */
export const RAISED_PREFIX = 'drill:';
const RAISED = RAISED_PREFIX;

export class AlertBook {
  readonly params: AllRuleParams;
  private readonly engine: AlertEngine;
  private readonly book: IncidentBook;
  private readonly log: Logger;
  /** every alert an open incident or the last week refers to, by id */
  private readonly all = new Map<string, Alert>();
  private mem: RuleMemory;
  /** when the alerts raised from outside end by themselves (null: none active) */
  private raisedUntil: number | null = null;
  private dirty = nothingPending();
  /** what the last flush wrote, to queue again if its transaction rolled back (disk full) */
  private inFlight: Pending | null = null;
  private memDirtyAt: number | null = null;
  private memWrittenAt = 0;
  private memWrittenWall = 0;
  private seqWritten = -1;
  private started = false;
  /** when resolved alerts past KEEP_RESOLVED_MS were last let go */
  private forgottenAt = -Infinity;
  /** statements prepared once at start, run by every group commit */
  private put: Record<'alert' | 'key' | 'incident' | 'meta', { run(...params: unknown[]): unknown }> | null = null;
  /** alerts() as of the last change: the status loop asks several times per compute */
  private cached: Alert[] | null = null;
  private readonly crossings: ThresholdCrossings;

  constructor(private readonly opts: AlertBookOptions) {
    this.params = ruleParams(opts.config.alerts.rules);
    this.engine = new AlertEngine(this.params, opts.config.village.timezone, opts.config.village.language);
    const a = opts.config.alerts;
    this.book = new IncidentBook({ groupWindowS: a.group_window_s, closeS: a.incident_close_s });
    this.mem = newMemory(opts.clock.now());
    this.log = moduleLog(opts.log, 'alerts');
    this.crossings = new ThresholdCrossings(opts.config, this.params);
  }

  /** Whether a reading crossed a threshold of its rule: the status loop then judges at once. */
  crosses(r: Reading): boolean {
    return this.crossings.crosses(r);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const db = this.opts.storage.db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS alert_alerts (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_keys (key TEXT PRIMARY KEY, alert_id TEXT, seq INTEGER NOT NULL, clear_since INTEGER);
      CREATE TABLE IF NOT EXISTS alert_incidents (id TEXT PRIMARY KEY, closed INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.put = {
      alert: db.prepare('INSERT OR REPLACE INTO alert_alerts (id, state, updated, json) VALUES (?, ?, ?, ?)'),
      key: db.prepare('INSERT OR REPLACE INTO alert_keys (key, alert_id, seq, clear_since) VALUES (?, ?, ?, ?)'),
      incident: db.prepare('INSERT OR REPLACE INTO alert_incidents (id, closed, json) VALUES (?, ?, ?)'),
      meta: db.prepare('INSERT OR REPLACE INTO alert_meta (key, value) VALUES (?, ?)'),
    };
    const now = this.opts.clock.now();
    for (const r of db.prepare('SELECT json FROM alert_incidents').all() as { json: string }[]) {
      const inc = JSON.parse(r.json) as Incident;
      this.book.incidents.set(inc.id, inc);
    }
    const needed = this.heldByOpenIncidents();
    for (const r of db.prepare('SELECT id, state, updated, json FROM alert_alerts').all() as { id: string; state: string; updated: number; json: string }[]) {
      if (!pastKeeping(r.state, r.updated, now) || needed.has(r.id)) this.all.set(r.id, JSON.parse(r.json) as Alert);
    }
    for (const r of db.prepare('SELECT key, alert_id, seq, clear_since FROM alert_keys').all() as {
      key: string;
      alert_id: string | null;
      seq: number;
      clear_since: number | null;
    }[]) {
      this.engine.keys.set(r.key, { alert: (r.alert_id && this.all.get(r.alert_id)) || null, seq: r.seq, clearSince: r.clear_since });
    }
    const meta = new Map((db.prepare('SELECT key, value FROM alert_meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    this.book.seq = Number(meta.get('incident_seq') ?? 0);
    this.raisedUntil = meta.get('drill_until') ? Number(meta.get('drill_until')) : null;
    if (meta.get('memory')) {
      try {
        // what was learned carries over; this run's start and who went missing in it do not
        this.mem = { ...newMemory(now), ...(JSON.parse(meta.get('memory')!) as RuleMemory), startedAt: now, missing: {} };
      } catch {
        this.log.warn('stored rule memory unreadable, learning normal draw afresh');
      }
    }
    this.mem.startedAt = now;
    this.cached = null;
    this.opts.storage.register({ flush: () => this.flush(), rolledBack: () => this.rolledBack() });
  }

  stop(): void {
    if (!this.started) return;
    this.memDirtyAt = this.opts.clock.now();
    this.memWrittenAt = -Infinity;
    this.memWrittenWall = -Infinity;
    if (this.opts.storage.db.open) this.opts.storage.commitNow();
    this.started = false;
  }

  /** Run the rules over a freshly computed status; alerts raised from outside end here when due. */
  judge(status: ReserveStatus, sensors: SensorHealth[]): Judgement {
    const now = this.opts.clock.now();
    // stopping (or not started): what devices do as tend goes down is not news
    if (!this.started) return { now, changed: [], incidents: [] };
    const conditions = evaluateRules({
      status,
      sensors,
      now,
      config: this.opts.config,
      params: this.params,
      mem: this.mem,
      held: (rule, subject) => this.engine.held(rule, subject),
    });
    this.memDirtyAt = now;
    const changed = this.engine.step(now, conditions);
    if (this.raisedUntil !== null && now >= this.raisedUntil) changed.push(...this.endRaised(now));
    return this.apply(now, changed);
  }

  /**
   * Raise alerts made outside the rules (an exercise; ids start with RAISED_PREFIX) until `until`,
   * in an incident of their own. Returns null while earlier raised alerts are still active.
   */
  raise(alerts: Alert[], until: number): Judgement | null {
    const now = this.opts.clock.now();
    if (this.raisedUntil !== null && now < this.raisedUntil) return null;
    this.raisedUntil = until;
    this.dirty.meta = true;
    return this.apply(now, alerts);
  }

  /** End the alerts raised from outside now (the page's "end exercise"). */
  endRaisedNow(): Judgement | null {
    if (this.raisedUntil === null) return null;
    const now = this.opts.clock.now();
    return this.apply(now, this.endRaised(now));
  }

  /** The end time of the alerts raised from outside, or null. */
  raisedActiveUntil(): number | null {
    return this.raisedUntil;
  }

  private endRaised(now: number): Alert[] {
    this.raisedUntil = null;
    this.dirty.meta = true;
    const ended: Alert[] = [];
    for (const a of this.all.values()) {
      if (a.id.startsWith(RAISED) && a.state !== 'resolved') {
        Object.assign(a, { state: 'resolved', resolved_at: new Date(now).toISOString() });
        ended.push(a);
      }
    }
    return ended;
  }

  private apply(now: number, changed: Alert[]): Judgement {
    // every judgement: the engine rewrites titles and values in place even when it reports no change
    this.cached = null;
    this.forgetOld(now);
    for (const a of changed) this.all.set(a.id, a);
    const touched = this.book.place(now, changed, this.all, (a) => a.id.startsWith(RAISED));
    const closed = this.book.closeQuiet(now, this.all);
    // an exercise ends with its all-clear at once, not after the quiet time of a real incident
    for (const inc of this.book.open()) {
      if (inc.exercise && inc.alert_ids.every((id) => this.all.get(id)?.state === 'resolved')) {
        inc.closed_at = new Date(now).toISOString();
        closed.push(inc);
      }
    }
    for (const i of closed) touched.add(i);
    for (const a of changed) {
      this.dirty.alerts.add(a.id);
      this.dirty.keys.add(AlertEngine.key(a.rule, a.subject));
      this.opts.events.emit('alert', { ...a });
    }
    // keys whose clear spell started or ended change no alert, but restart needs them
    for (const [k, st] of this.engine.keys) if (st.clearSince !== null) this.dirty.keys.add(k);
    const incidents = [...touched].sort((a, b) => a.id.localeCompare(b.id));
    for (const inc of incidents) this.dirty.incidents.add(inc.id);
    this.cached = null;
    if (changed.length || incidents.length || this.memDue(now)) this.opts.storage.commitSoon();
    return { now, changed, incidents };
  }

  /**
   * Let go of alerts resolved more than KEEP_RESOLVED_MS ago that no open incident holds (once an
   * hour). One not yet on disk (writes failing all that time: a full disk) is kept until it is.
   */
  private forgetOld(now: number): void {
    if (now - this.forgottenAt < HOUR) return;
    this.forgottenAt = now;
    const needed = this.heldByOpenIncidents();
    // (a commit runs whole between judgements: a rolled-back one has queued its alerts here again)
    for (const id of this.dirty.alerts) needed.add(id);
    for (const [id, a] of this.all) {
      if (pastKeeping(a.state, Date.parse(a.resolved_at ?? ''), now) && !needed.has(id)) this.all.delete(id);
    }
  }

  /** the alerts an open incident holds: kept in memory however long ago they resolved */
  private heldByOpenIncidents(): Set<string> {
    return new Set(this.book.open().flatMap((i) => i.alert_ids));
  }

  // ---- reading (the assembly and the outputs read here; nothing here reads them)

  /**
   * Active alerts (pending and firing); with `recent`, also those resolved in the last day.
   * Without `recent` the list is a snapshot shared until the next change: read it, do not change it.
   */
  alerts(opts: { recent?: boolean } = {}): Alert[] {
    if (!opts.recent && this.cached) return this.cached;
    const now = this.opts.clock.now();
    const list = [...this.all.values()]
      .filter((a) => a.state !== 'resolved' || (opts.recent && now - Date.parse(a.resolved_at!) < DAY))
      .sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id))
      .map((a) => ({ ...a }));
    if (!opts.recent) this.cached = list;
    return list;
  }

  /** The alerts of one incident (live objects: read them, do not change them). */
  alertsOf(incidentId: string): Alert[] {
    return alertsOf(this.book.incidents.get(incidentId), this.all);
  }

  incident(id: string): Incident | undefined {
    return this.book.incidents.get(id);
  }

  incidents(): Incident[] {
    return [...this.book.incidents.values()].map((i) => structuredClone(i));
  }

  openIncidents(): Incident[] {
    return this.book.open();
  }

  /** The assembly names the prompt it opened for an incident; kept with the incident. */
  linkPrompt(incidentId: string, promptId: string): void {
    const inc = this.book.incidents.get(incidentId);
    if (!inc || inc.prompt_id === promptId) return;
    inc.prompt_id = promptId;
    this.dirty.incidents.add(incidentId);
  }

  // ---- persistence (runs inside the storage group commit)

  private memDue(now: number): boolean {
    // a minute of village time and ten real seconds: a fast simulated clock does not rewrite it each tick
    return this.memDirtyAt !== null && now - this.memWrittenAt >= MEMORY_WRITE_MS && Date.now() - this.memWrittenWall >= 10_000;
  }

  private rolledBack(): void {
    const f = this.inFlight;
    this.inFlight = null;
    if (!f) return;
    const d = this.dirty;
    for (const k of ['alerts', 'keys', 'incidents'] as const) for (const id of f[k]) d[k].add(id);
    d.meta ||= f.meta;
    this.seqWritten = -1;
  }

  private flush(): void {
    const put = this.put!;
    const now = this.opts.clock.now();
    const d = (this.inFlight = this.dirty);
    this.dirty = nothingPending();
    for (const id of d.alerts) {
      const a = this.all.get(id);
      if (a) put.alert.run(a.id, a.state, now, JSON.stringify(a));
    }
    for (const k of d.keys) {
      const st: KeyState | undefined = this.engine.keys.get(k);
      if (st) put.key.run(k, st.alert?.id ?? null, st.seq, st.clearSince);
    }
    for (const id of d.incidents) {
      const i = this.book.incidents.get(id);
      if (i) put.incident.run(i.id, i.closed_at ? 1 : 0, JSON.stringify(i));
    }
    if (this.book.seq !== this.seqWritten) {
      put.meta.run('incident_seq', String(this.book.seq));
      this.seqWritten = this.book.seq;
    }
    if (d.meta) put.meta.run('drill_until', this.raisedUntil === null ? '' : String(this.raisedUntil));
    if (this.memDue(now)) {
      put.meta.run('memory', JSON.stringify(this.mem));
      this.memWrittenAt = now;
      this.memWrittenWall = Date.now();
      this.memDirtyAt = null;
    }
  }
}
