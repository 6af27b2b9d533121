// Alerting: rules → alert state → incidents → assembly prompts, kept in SQLite (tables alert_*)
// so a restart keeps every alert, incident, prompt and note and announces nothing twice.
// It emits `alert`, `incident` and `assembly` on the village hub only for real changes; the
// outputs (retained MQTT topics, page, SSE, webhooks, speech) listen there.
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import type { Alert, AssemblyPrompt, Clock, Incident, NeighbourOffer, PromptNote, ReserveStatus, SensorHealth } from '../../core/types.ts';
import { AlertEngine, type KeyState } from './engine.ts';
import { alertsOf, IncidentBook } from './incidents.ts';
import { evaluateRules, newMemory, type RuleMemory } from './rules.ts';
import { ruleParams, type AllRuleParams } from '../../config/rules.ts';
import { buildPrompt, reservesOf, resolvedText } from '../assembly/prompt.ts';
import { capXml } from '../assembly/cap.ts';

export interface AlertingOptions {
  config: Config;
  clock: Clock;
  storage: Storage;
  events: VillageEventHub;
  /** what federation neighbours currently offer (federation module) */
  neighbours?: () => NeighbourOffer[];
  log?: (m: string) => void;
  /** base URL of the village page, for the CAP <web> link */
  webUrl?: string;
}

/** Thrown by addNote; `code` maps to HTTP 404 / 409 / 400. */
export class NoteError extends Error {
  constructor(readonly code: 'not_found' | 'closed' | 'invalid', message: string) {
    super(message);
    this.name = 'NoteError';
  }
}

export const NOTE_LIMITS = { author: 60, text: 1000 };

interface PromptRecord {
  prompt: AssemblyPrompt;
  /** epoch ms each version was issued (CAP references) */
  versions: number[];
  signature: string;
}

/** what the next group commit writes, by id; one flush takes it whole and hands it back if its transaction rolls back */
interface Pending {
  alerts: Set<string>;
  keys: Set<string>;
  incidents: Set<string>;
  prompts: Set<string>;
  facts: { incident: string; at: string; text: string }[];
  meta: boolean;
}
const nothingPending = (): Pending => ({ alerts: new Set(), keys: new Set(), incidents: new Set(), prompts: new Set(), facts: [], meta: false });

const DAY = 86_400_000;
const MEMORY_WRITE_MS = 60_000;

export class Alerting {
  readonly params: AllRuleParams;
  private readonly engine: AlertEngine;
  private readonly book: IncidentBook;
  /** every alert an open incident or the last week refers to, by id */
  private readonly all = new Map<string, Alert>();
  private readonly records = new Map<string, PromptRecord>();
  /** the situation of each incident as it unfolded: what was seen, when */
  private readonly facts = new Map<string, { at: string; text: string }[]>();
  private mem: RuleMemory;
  private promptSeq = 0;
  private drillSeq = 0;
  private drillUntil: number | null = null;
  private lastStatus: ReserveStatus | null = null;
  private dirty = nothingPending();
  /** what the last flush wrote, to queue again if its transaction rolled back (disk full) */
  private inFlight: Pending | null = null;
  private memDirtyAt: number | null = null;
  private memWrittenAt = 0;
  private memWrittenWall = 0;
  private seqsWritten = '';
  private started = false;
  /** statements prepared once at start, run by every group commit */
  private put: Record<'alert' | 'key' | 'incident' | 'fact' | 'prompt' | 'meta', { run(...params: unknown[]): unknown }> | null = null;
  /** alerts() and prompts() as of the last change: the status loop asks several times per compute */
  private cache: { alerts?: Alert[]; prompts?: AssemblyPrompt[] } = {};

  constructor(private readonly opts: AlertingOptions) {
    this.params = ruleParams(opts.config.alerts.rules);
    this.engine = new AlertEngine(this.params);
    const a = opts.config.alerts;
    this.book = new IncidentBook({ groupWindowS: a.group_window_s, closeS: a.incident_close_s });
    this.mem = newMemory(opts.clock.now());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const db = this.opts.storage.db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS alert_alerts (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_keys (key TEXT PRIMARY KEY, alert_id TEXT, seq INTEGER NOT NULL, clear_since INTEGER);
      CREATE TABLE IF NOT EXISTS alert_incidents (id TEXT PRIMARY KEY, closed INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_prompts (id TEXT PRIMARY KEY, status TEXT NOT NULL, json TEXT NOT NULL, versions TEXT NOT NULL, signature TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_facts (n INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL, at TEXT NOT NULL, text TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS alert_facts_incident ON alert_facts (incident_id);
    `);
    this.put = {
      alert: db.prepare('INSERT OR REPLACE INTO alert_alerts (id, state, updated, json) VALUES (?, ?, ?, ?)'),
      key: db.prepare('INSERT OR REPLACE INTO alert_keys (key, alert_id, seq, clear_since) VALUES (?, ?, ?, ?)'),
      incident: db.prepare('INSERT OR REPLACE INTO alert_incidents (id, closed, json) VALUES (?, ?, ?)'),
      fact: db.prepare('INSERT INTO alert_facts (incident_id, at, text) VALUES (?, ?, ?)'),
      prompt: db.prepare('INSERT OR REPLACE INTO alert_prompts (id, status, json, versions, signature) VALUES (?, ?, ?, ?, ?)'),
      meta: db.prepare('INSERT OR REPLACE INTO alert_meta (key, value) VALUES (?, ?)'),
    };
    const now = this.opts.clock.now();
    for (const r of db.prepare('SELECT json FROM alert_incidents').all() as { json: string }[]) {
      const inc = JSON.parse(r.json) as Incident;
      this.book.incidents.set(inc.id, inc);
    }
    const needed = new Set(this.book.open().flatMap((i) => i.alert_ids));
    for (const r of db.prepare('SELECT id, state, updated, json FROM alert_alerts').all() as { id: string; state: string; updated: number; json: string }[]) {
      if (r.state !== 'resolved' || needed.has(r.id) || now - r.updated < 7 * DAY) this.all.set(r.id, JSON.parse(r.json) as Alert);
    }
    for (const r of db.prepare('SELECT key, alert_id, seq, clear_since FROM alert_keys').all() as { key: string; alert_id: string | null; seq: number; clear_since: number | null }[]) {
      this.engine.keys.set(r.key, { alert: (r.alert_id && this.all.get(r.alert_id)) || null, seq: r.seq, clearSince: r.clear_since });
    }
    for (const r of db.prepare('SELECT json, versions, signature FROM alert_prompts').all() as { json: string; versions: string; signature: string }[]) {
      const prompt = JSON.parse(r.json) as AssemblyPrompt;
      this.records.set(prompt.id, { prompt, versions: JSON.parse(r.versions) as number[], signature: r.signature });
    }
    for (const r of db.prepare('SELECT incident_id, at, text FROM alert_facts ORDER BY n').all() as { incident_id: string; at: string; text: string }[]) {
      const inc = this.book.incidents.get(r.incident_id);
      if (!inc || (inc.closed_at && !(inc.prompt_id && this.records.has(inc.prompt_id)))) continue;
      this.factsOf(r.incident_id).push({ at: r.at, text: r.text });
    }
    const meta = new Map((db.prepare('SELECT key, value FROM alert_meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    this.book.seq = Number(meta.get('incident_seq') ?? 0);
    this.promptSeq = Number(meta.get('prompt_seq') ?? 0);
    this.drillSeq = Number(meta.get('drill_seq') ?? 0);
    this.drillUntil = meta.get('drill_until') ? Number(meta.get('drill_until')) : null;
    if (meta.get('memory')) {
      try {
        this.mem = JSON.parse(meta.get('memory')!) as RuleMemory;
      } catch {
        this.opts.log?.('alerts: stored rule memory unreadable, learning normal draw afresh');
      }
    }
    this.cache = {};
    this.opts.storage.register({ flush: () => this.flush(), rolledBack: () => this.rolledBack() });
    const open = this.prompts().length;
    if (this.all.size || open) this.opts.log?.(`alerts: restored ${this.alerts().length} active alerts, ${this.book.open().length} open incidents, ${open} open prompts`);
  }

  stop(): void {
    if (!this.started) return;
    this.memDirtyAt = this.opts.clock.now();
    this.memWrittenAt = -Infinity;
    this.memWrittenWall = -Infinity;
    if (this.opts.storage.db.open) this.opts.storage.commitNow();
    this.started = false;
  }

  /** Called after each reserve status compute. */
  evaluate(status: ReserveStatus, sensors: SensorHealth[]): void {
    const now = this.opts.clock.now();
    this.lastStatus = status;
    const conditions = evaluateRules({
      status, sensors, now, config: this.opts.config, params: this.params, mem: this.mem,
      held: (rule, subject) => this.engine.held(rule, subject),
    });
    this.memDirtyAt = now;
    const changed = this.engine.step(now, conditions);
    changed.push(...this.drillStep(now));
    this.apply(now, changed, status);
  }

  private apply(now: number, changed: Alert[], status: ReserveStatus | null): void {
    // every evaluation: the engine rewrites titles and values in place even when it reports no change
    this.cache = {};
    for (const a of changed) {
      this.all.set(a.id, a);
    }
    const touched = this.book.place(now, changed, this.all, (a) => a.id.startsWith('drill:'));
    const closed = this.book.closeQuiet(now, this.all);
    // an exercise ends with its all-clear at once, not after the quiet time of a real incident
    for (const inc of this.book.open()) {
      if (inc.exercise && inc.alert_ids.every((id) => this.all.get(id)?.state === 'resolved')) {
        inc.closed_at = new Date(now).toISOString();
        closed.push(inc);
      }
    }
    for (const i of closed) touched.add(i);
    const events = this.opts.events;
    for (const a of changed) {
      if (!a.incident_id || a.state === 'pending') continue;
      if (a.state === 'resolved' && !a.fired_at) continue;
      const at = new Date(now).toISOString();
      const text = a.state === 'resolved' ? `${resolvedText(a)}.` : `${a.title}. ${a.detail.split(/(?<=\.)\s/)[0] ?? ''}`.trim();
      this.factsOf(a.incident_id).push({ at, text });
      this.dirty.facts.push({ incident: a.incident_id, at, text });
    }
    for (const a of changed) {
      this.dirty.alerts.add(a.id);
      this.dirty.keys.add(AlertEngine.key(a.rule, a.subject));
      events.emit('alert', { ...a });
    }
    // keys whose clear spell started or ended change no alert, but restart needs them
    for (const [k, st] of this.engine.keys) if (st.clearSince !== null) this.dirty.keys.add(k);
    const promptChanges: AssemblyPrompt[] = [];
    // asked at most once per evaluation, and only when a crisis prompt is looked at
    let offers: NeighbourOffer[] | undefined;
    const nb = () => (offers ??= this.neighbours());
    for (const inc of [...touched].sort((a, b) => a.id.localeCompare(b.id))) {
      const p = status ? this.updatePrompt(now, inc, status, nb) : null;
      if (p) promptChanges.push(p);
      this.dirty.incidents.add(inc.id);
      events.emit('incident', { ...inc, alert_ids: [...inc.alert_ids], domains: [...inc.domains] });
    }
    // neighbours' offers and slowly drifting reserves update open prompts too
    if (status) {
      for (const r of this.records.values()) {
        if (r.prompt.status !== 'open' || promptChanges.some((p) => p.id === r.prompt.id)) continue;
        const inc = this.book.incidents.get(r.prompt.incident_id);
        if (!inc) continue;
        const p = this.updatePrompt(now, inc, status, nb);
        if (p) promptChanges.push(p);
      }
    }
    for (const p of promptChanges) {
      this.dirty.prompts.add(p.id);
      events.emit('assembly', structuredClone(p));
    }
    // again at the end: a listener that read alerts() or prompts() mid-way saw a half-applied state
    this.cache = {};
    if (changed.length || touched.size || promptChanges.length || this.memDue(now)) this.opts.storage.commitSoon();
  }

  private signature(inc: Incident, neighbours: NeighbourOffer[]): string {
    const alerts = alertsOf(inc, this.all).map((a) => `${a.id}/${a.state}/${a.severity}`);
    const nb = neighbours.map((n) => `${n.village}:${n.offer}`);
    return JSON.stringify([inc.closed_at ? 'closed' : 'open', inc.crisis, alerts, nb]);
  }

  private factsOf(incident: string): { at: string; text: string }[] {
    let f = this.facts.get(incident);
    if (!f) this.facts.set(incident, (f = []));
    return f;
  }

  private neighbours(): NeighbourOffer[] {
    try {
      return this.opts.neighbours?.() ?? [];
    } catch (err) {
      this.opts.log?.(`alerts: neighbour offers unavailable: ${(err as Error).message}`);
      return [];
    }
  }

  /** Open, update or close the incident's prompt; returns it when it changed. */
  private updatePrompt(now: number, inc: Incident, status: ReserveStatus, offers: () => NeighbourOffer[]): AssemblyPrompt | null {
    if (!inc.crisis) return null;
    const rec = inc.prompt_id ? this.records.get(inc.prompt_id) : undefined;
    if (rec?.prompt.status === 'closed') return null;
    if (!rec && inc.closed_at) return null;
    const neighbours = offers();
    const sig = this.signature(inc, neighbours);
    const alerts = alertsOf(inc, this.all);
    const iso = new Date(now).toISOString();
    if (rec) {
      const refresh = this.opts.config.alerts.prompt_refresh_s * 1000;
      const drifted = now - rec.versions.at(-1)! >= refresh && reservesDrifted(rec.prompt.reserves, reservesOf(status));
      if (rec.signature === sig && !drifted) return null;
    }
    const content = buildPrompt({ config: this.opts.config, status, incident: inc, alerts, neighbours, now, facts: this.facts.get(inc.id) });
    if (!rec) {
      this.promptSeq++;
      const prompt: AssemblyPrompt = {
        id: `prompt-${this.promptSeq}`, incident_id: inc.id, status: 'open', exercise: inc.exercise, version: 1,
        opened_at: iso, updated_at: iso, closed_at: null, ...content, notes: [],
      };
      inc.prompt_id = prompt.id;
      this.records.set(prompt.id, { prompt, versions: [now], signature: sig });
      this.opts.log?.(`assembly: prompt ${prompt.id} opened for ${inc.id}: ${prompt.headline}`);
      return prompt;
    }
    const p = rec.prompt;
    Object.assign(p, content, { version: p.version + 1, updated_at: iso });
    if (inc.closed_at) Object.assign(p, { status: 'closed', closed_at: iso });
    rec.versions.push(now);
    rec.signature = sig;
    return p;
  }

  // ---- reading

  /**
   * Active alerts (pending and firing); with `recent`, also those resolved in the last day.
   * Without `recent` the list is a snapshot shared until the next change: read it, do not change it.
   */
  alerts(opts: { recent?: boolean } = {}): Alert[] {
    if (!opts.recent && this.cache.alerts) return this.cache.alerts;
    const now = this.opts.clock.now();
    const list = [...this.all.values()]
      .filter((a) => a.state !== 'resolved' || (opts.recent && now - Date.parse(a.resolved_at!) < DAY))
      .sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id))
      .map((a) => ({ ...a }));
    if (!opts.recent) this.cache.alerts = list;
    return list;
  }

  incidents(): Incident[] {
    return [...this.book.incidents.values()].map((i) => structuredClone(i));
  }

  /** Open prompts, oldest first ([] when none); a snapshot shared until the next change: read it, do not change it. */
  prompts(): AssemblyPrompt[] {
    return (this.cache.prompts ??= [...this.records.values()].filter((r) => r.prompt.status === 'open').map((r) => structuredClone(r.prompt)));
  }

  /** Any prompt, open or closed. */
  prompt(id: string): AssemblyPrompt | undefined {
    const r = this.records.get(id);
    return r && structuredClone(r.prompt);
  }

  addNote(id: string, note: { author: string; text: string }): AssemblyPrompt {
    const r = this.records.get(id);
    if (!r) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    if (r.prompt.status !== 'open') throw new NoteError('closed', `assembly prompt ${id} is closed (all clear); notes are no longer added`);
    const clean = (s: unknown) => (typeof s === 'string' ? s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim() : '');
    const author = clean(note?.author);
    const text = clean(note?.text);
    if (!author) throw new NoteError('invalid', 'a note needs an author (a name or a group)');
    if (author.length > NOTE_LIMITS.author) throw new NoteError('invalid', `author is too long (${author.length} characters, at most ${NOTE_LIMITS.author})`);
    if (!text) throw new NoteError('invalid', 'a note needs some text');
    if (text.length > NOTE_LIMITS.text) throw new NoteError('invalid', `note is too long (${text.length} characters, at most ${NOTE_LIMITS.text})`);
    const n: PromptNote = { at: new Date(this.opts.clock.now()).toISOString(), author, text };
    r.prompt.notes.push(n);
    this.cache = {};
    this.dirty.prompts.add(id);
    // a note is written at once: people expect what they added to be there after a restart
    this.opts.storage.commitNow();
    this.opts.events.emit('assembly', structuredClone(r.prompt));
    return structuredClone(r.prompt);
  }

  cap(id: string): string {
    const r = this.records.get(id);
    if (!r) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    const inc = this.book.incidents.get(r.prompt.incident_id);
    const alerts = alertsOf(inc, this.all);
    const c = this.opts.config.village;
    return capXml({
      prompt: r.prompt, village: { id: c.id, name: c.name }, versions: r.versions,
      domains: inc?.domains ?? [], severe: alerts.some((a) => a.severity === 'critical'),
      web: this.opts.webUrl ? `${this.opts.webUrl.replace(/\/$/, '')}/api/assembly/${r.prompt.id}` : undefined,
    });
  }

  // ---- drill (the page's "exercise" button)

  /**
   * Start an exercise: a storm with a leaking tank, unstable power and a warming fridge, raised as
   * alerts marked "Exercise" in their own incident, so the village rehearses the assembly on real
   * reserve figures without real data being touched. CAP status is Exercise. Ends (all clear)
   * after `duration_s` or with stopDrill().
   */
  startDrill(opts: { duration_s?: number } = {}): void {
    const now = this.opts.clock.now();
    if (this.drillUntil !== null && now < this.drillUntil) return;
    this.drillSeq++;
    this.drillUntil = now + (opts.duration_s ?? 900) * 1000;
    const cfg = this.opts.config;
    const tank = cfg.sensors.find((s) => s.kind.startsWith('tank_'));
    const fridge = cfg.sensors.find((s) => s.kind === 'cold_temp');
    const iso = new Date(now).toISOString();
    const mk = (rule: string, subject: string, domain: Alert['domain'], severity: Alert['severity'], title: string, detail: string, value: number): Alert => ({
      id: `drill:${rule}:${subject}:${this.drillSeq}`, rule, subject, domain, severity, state: 'firing',
      title: `Exercise: ${title}`, detail: `${detail} This is a drill; the figures below are the real reserves.`, value,
      started_at: iso, fired_at: iso, resolved_at: null, incident_id: null,
    });
    const drill: Alert[] = [mk('storm', 'weather', 'weather', 'warning', 'Storm warning: pressure fell 6.5 hPa in 3 hours, gusts up to 26 m/s', 'A practice storm.', 26)];
    if (tank) drill.push(mk('tank_drop', tank.id, 'water', 'warning', `${tank.name ?? tank.id} is losing water fast: about 2,400 L an hour`, 'A practice leak.', 2400));
    drill.push(mk('power_unstable', 'power', 'power', 'warning', 'Power supply is unstable', 'Seen: practice voltage swings and load shedding.', 12));
    if (fridge) drill.push(mk('cold_above_safe', fridge.id, 'cold', 'watch', `${fridge.name ?? fridge.id} is above its safe temperature`, 'A practice warm fridge.', 9));
    this.dirty.meta = true;
    this.opts.log?.(`alerts: exercise ${this.drillSeq} started`);
    this.apply(now, drill, this.lastStatus ?? this.blankStatus(now));
  }

  stopDrill(): void {
    if (this.drillUntil === null) return;
    this.drillUntil = this.opts.clock.now();
    this.apply(this.drillUntil, this.drillStep(this.drillUntil), this.lastStatus);
  }

  private drillStep(now: number): Alert[] {
    if (this.drillUntil === null || now < this.drillUntil) return [];
    this.drillUntil = null;
    this.dirty.meta = true;
    const ended: Alert[] = [];
    for (const a of this.all.values()) {
      if (a.id.startsWith('drill:') && a.state !== 'resolved') {
        Object.assign(a, { state: 'resolved', resolved_at: new Date(now).toISOString() });
        ended.push(a);
      }
    }
    return ended;
  }

  private blankStatus(now: number): ReserveStatus {
    const c = this.opts.config.village;
    return {
      village: { id: c.id, name: c.name, population: c.population }, at: new Date(now).toISOString(),
      water: { liters: null, capacity_liters: 0, percent: null, draw_lph: null, days_left_current: null, days_left_minimum: null, status: 'unknown', tanks: [] },
      power: { soc_percent: null, stored_kwh: null, usable_kwh: null, load_w: null, solar_w: null, net_w: null, hours_left: null, voltage_v: null, status: 'unknown', stale: true },
      cold: { status: 'unknown', units: [] },
      weather: { pressure_hpa: null, pressure_tendency_hpa_3h: null, wind_ms: null, gust_ms: null, rain_mm: null, status: 'unknown', stale: true },
      sensors: { online: 0, total: 0, stale: [], rejected_total: 0 }, alerts: [], assembly: [],
    };
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
    for (const k of ['alerts', 'keys', 'incidents', 'prompts'] as const) for (const id of f[k]) d[k].add(id);
    d.facts = [...f.facts, ...d.facts];
    d.meta ||= f.meta;
    this.seqsWritten = '';
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
    for (const f of d.facts) put.fact.run(f.incident, f.at, f.text);
    for (const id of d.prompts) {
      const r = this.records.get(id);
      if (r) put.prompt.run(id, r.prompt.status, JSON.stringify(r.prompt), JSON.stringify(r.versions), r.signature);
    }
    const meta = put.meta;
    const seqs = `${this.book.seq}/${this.promptSeq}`;
    if (seqs !== this.seqsWritten) {
      meta.run('incident_seq', String(this.book.seq));
      meta.run('prompt_seq', String(this.promptSeq));
      this.seqsWritten = seqs;
    }
    if (d.meta) {
      meta.run('drill_seq', String(this.drillSeq));
      meta.run('drill_until', this.drillUntil === null ? '' : String(this.drillUntil));
    }
    if (this.memDue(now)) {
      meta.run('memory', JSON.stringify(this.mem));
      this.memWrittenAt = now;
      this.memWrittenWall = Date.now();
      this.memDirtyAt = null;
    }
  }
}

/** Worth re-issuing the prompt for: a day more or less of water at minimum use, a third of the power hours, a changed list of cold units at risk. */
function reservesDrifted(was: AssemblyPrompt['reserves'], now: AssemblyPrompt['reserves']): boolean {
  const moved = (a: number | null, b: number | null, by: (x: number) => number) => (a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) >= by(a));
  // days at current use swing with the hour's draw; days at minimum use are the steady measure
  return moved(was.water_days_minimum, now.water_days_minimum, () => 1)
    || moved(was.power_hours_left, now.power_hours_left, (x) => Math.max(4, x / 3))
    || was.cold_units_at_risk.join() !== now.cold_units_at_risk.join();
}
