// The assembly stage: crisis incidents become assembly prompts, kept in SQLite (tables assembly_*)
// with the situation as it unfolded (facts), the notes people add, and every version issued (for
// CAP references), so a restart keeps every prompt and announces nothing twice.
//
// It follows each judgement of the alert book: facts from the alerts that changed, a prompt opened
// or updated for each touched crisis incident, open prompts refreshed when neighbours' offers or
// the reserves drift. It announces `incident` (with its prompt linked) and `assembly` on the hub;
// the outputs (retained topics, page, SSE, webhooks, speech, CAP) listen there.
import type { Config } from '../../config/schema.ts';
import type {
  Alert,
  AssemblyPrompt,
  Clock,
  Decision,
  Incident,
  NeighbourOffer,
  PlanInForce,
  PlanStatus,
  PromptItem,
  PromptNote,
  ReserveStatus,
} from '../../core/types.ts';
import { shortTime } from '../../core/format.ts';
import { type Say, sayIn } from '../../core/i18n.ts';
import { NOTE_LIMITS, NOTES_SHOWN } from '../../core/limits.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import type { Judgement } from '../alerts/book.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import { capXml } from './cap.ts';
import { blankStatus, drillAlerts, practiceStatus } from './drill.ts';
import { buildPrompt, type PromptContent, reservesOf, resolvedText } from './prompt.ts';
import { DecisionBook, DecisionInputError, parseDecision } from './decisions.ts';
import { buildOptions } from './options.ts';
import { type AssemblyRecord, buildRecord, recordMarkdown, type VersionRow } from './record.ts';
import { parseBy, VolunteerInputError, volunteerQuestions, Volunteers } from './volunteers.ts';

/** actual use well above the plan for this long: the next version asks whether the plan still fits */
export const PLAN_ASK_MS = 12 * 3600_000;

/** What the assembly reads of the alert book: a narrow view, so it can be tested on its own. */
export interface AlertBookView {
  alertsOf(incidentId: string): Alert[];
  incident(id: string): Incident | undefined;
  /** keeps the link on the incident object that `incident()` returns and the judgement holds */
  linkPrompt(incidentId: string, promptId: string): void;
  raise(alerts: Alert[], until: number): Judgement | null;
  endRaisedNow(): Judgement | null;
  raisedActiveUntil(): number | null;
}

export interface AssemblyOptions {
  config: Config;
  clock: Clock;
  storage: Storage;
  events: VillageEventHub;
  alerts: AlertBookView;
  /** what federation neighbours currently offer (federation module); `stale`: heard long ago or before our link went down */
  neighbours?: () => (NeighbourOffer & { stale?: boolean })[];
  log?: LogSink;
  /** base URL of the village page, for the CAP <web> link */
  webUrl?: string;
}

/** Thrown by addNote and cap; `code` maps to HTTP 404 / 409 / 400. */
export class NoteError extends Error {
  constructor(
    readonly code: 'not_found' | 'closed' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'NoteError';
  }
}

export { NOTE_LIMITS };

interface PromptRecord {
  prompt: AssemblyPrompt;
  /** epoch ms each version was issued (CAP references) */
  versions: number[];
  signature: string;
}

interface Fact {
  at: string;
  text: string;
}

/** what the next group commit writes; one flush takes it whole and hands it back if its transaction rolls back */
interface Pending {
  prompts: Set<string>;
  facts: (Fact & { incident: string })[];
  notes: (PromptNote & { prompt: string })[];
  meta: boolean;
  versions: VersionRow[];
  /** prompts whose record is written (they closed) */
  records: Set<string>;
}
const nothingPending = (): Pending => ({ prompts: new Set(), facts: [], notes: [], meta: false, versions: [], records: new Set() });

export class Assembly {
  private readonly records = new Map<string, PromptRecord>();
  /** the situation of each incident as it unfolded: what was seen, when */
  private readonly facts = new Map<string, Fact[]>();
  private readonly log: Logger;
  private promptSeq = 0;
  private drillSeq = 0;
  private lastStatus: ReserveStatus | null = null;
  private dirty = nothingPending();
  private inFlight: Pending | null = null;
  private seqWritten = -1;
  private started = false;
  private put: Record<'fact' | 'prompt' | 'note' | 'meta' | 'version' | 'record', { run(...params: unknown[]): unknown }> | null = null;
  private readonly decisions: DecisionBook;
  private readonly volunteers: Volunteers;
  /** every version issued of each prompt: its time, headline and reserves (for the record) */
  private readonly history = new Map<string, VersionRow[]>();
  private readonly say: Say;
  private getRecord: { get(id: string): unknown } | null = null;
  /** decisions, takes and releases refused for a bad body */
  refusedInputs = 0;
  /** prompts() as of the last change: the status loop asks several times per compute */
  private cached: AssemblyPrompt[] | null = null;
  private allNotes: { all(id: string): unknown[] } | null = null;

  constructor(private readonly opts: AssemblyOptions) {
    this.log = moduleLog(opts.log, 'assembly');
    this.decisions = new DecisionBook(opts.storage);
    this.volunteers = new Volunteers(opts.storage);
    this.say = sayIn(opts.config.village.language);
  }

  /** Restore prompts and facts; the alert book must have started (facts refer to its incidents). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const db = this.opts.storage.db;
    migrateFromAlertTables(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS assembly_prompts (id TEXT PRIMARY KEY, status TEXT NOT NULL, json TEXT NOT NULL, versions TEXT NOT NULL, signature TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS assembly_facts (n INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL, at TEXT NOT NULL, text TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS assembly_facts_incident ON assembly_facts (incident_id);
      CREATE TABLE IF NOT EXISTS assembly_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS assembly_notes (n INTEGER PRIMARY KEY AUTOINCREMENT, prompt_id TEXT NOT NULL, at TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS assembly_notes_prompt ON assembly_notes (prompt_id);
      CREATE TABLE IF NOT EXISTS assembly_versions (prompt_id TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, headline TEXT NOT NULL, reserves TEXT NOT NULL, PRIMARY KEY (prompt_id, version));
      CREATE TABLE IF NOT EXISTS assembly_records (prompt_id TEXT PRIMARY KEY, json TEXT NOT NULL);
    `);
    this.decisions.start();
    this.volunteers.start();
    this.put = {
      fact: db.prepare('INSERT INTO assembly_facts (incident_id, at, text) VALUES (?, ?, ?)'),
      prompt: db.prepare('INSERT OR REPLACE INTO assembly_prompts (id, status, json, versions, signature) VALUES (?, ?, ?, ?, ?)'),
      meta: db.prepare('INSERT OR REPLACE INTO assembly_meta (key, value) VALUES (?, ?)'),
      note: db.prepare('INSERT INTO assembly_notes (prompt_id, at, author, text) VALUES (?, ?, ?, ?)'),
      version: db.prepare('INSERT OR IGNORE INTO assembly_versions (prompt_id, version, at, headline, reserves) VALUES (?, ?, ?, ?, ?)'),
      record: db.prepare('INSERT OR REPLACE INTO assembly_records (prompt_id, json) VALUES (?, ?)'),
    };
    this.getRecord = db.prepare('SELECT json FROM assembly_records WHERE prompt_id = ?');
    for (const r of db.prepare('SELECT prompt_id, version, at, headline, reserves FROM assembly_versions ORDER BY prompt_id, version').all() as {
      prompt_id: string;
      version: number;
      at: string;
      headline: string;
      reserves: string;
    }[]) {
      this.historyOf(r.prompt_id).push({ prompt: r.prompt_id, version: r.version, at: r.at, headline: r.headline, reserves: JSON.parse(r.reserves) });
    }
    this.allNotes = db.prepare('SELECT at, author, text FROM assembly_notes WHERE prompt_id = ? ORDER BY n');
    for (const r of db.prepare('SELECT json, versions, signature FROM assembly_prompts').all() as { json: string; versions: string; signature: string }[]) {
      const prompt = JSON.parse(r.json) as AssemblyPrompt;
      this.records.set(prompt.id, { prompt, versions: JSON.parse(r.versions) as number[], signature: r.signature });
      // prompts from before notes had their own table carry them all in their JSON: move them once
      if (prompt.notes_total === undefined) {
        for (const n of prompt.notes) this.dirty.notes.push({ prompt: prompt.id, ...n });
        prompt.notes_total = prompt.notes.length;
        prompt.notes = prompt.notes.slice(-NOTES_SHOWN);
        this.dirty.prompts.add(prompt.id);
      }
    }
    for (const r of db.prepare('SELECT incident_id, at, text FROM assembly_facts ORDER BY n').all() as { incident_id: string; at: string; text: string }[]) {
      const inc = this.opts.alerts.incident(r.incident_id);
      if (!inc || (inc.closed_at && !(inc.prompt_id && this.records.has(inc.prompt_id)))) continue;
      this.factsOf(r.incident_id).push({ at: r.at, text: r.text });
    }
    const meta = new Map((db.prepare('SELECT key, value FROM assembly_meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    this.promptSeq = Number(meta.get('prompt_seq') ?? 0);
    this.seqWritten = this.promptSeq;
    this.drillSeq = Number(meta.get('drill_seq') ?? 0);
    this.cached = null;
    this.opts.storage.register({ flush: () => this.flush(), rolledBack: () => this.rolledBack() });
    const open = this.prompts().length;
    if (open) this.log.info(`restored ${open} open prompts`);
  }

  stop(): void {
    if (!this.started) return;
    if (this.opts.storage.db.open) this.opts.storage.commitNow();
    this.started = false;
  }

  /**
   * Follow one judgement of the alert book: record what was seen, open or update the prompts of
   * the touched incidents, announce them. Without a status (an exercise ended before any status),
   * prompts wait for the next judgement.
   */
  follow(j: Judgement, status: ReserveStatus | null): void {
    const { now } = j;
    if (status) this.lastStatus = status;
    this.cached = null;
    for (const a of j.changed) {
      if (!a.incident_id || a.state === 'pending') continue;
      if (a.state === 'resolved' && !a.fired_at) continue;
      const at = new Date(now).toISOString();
      // the detail's first sentence ends before a capital: a French month ("20 nov. 04:10") ends none
      const text = a.state === 'resolved' ? `${resolvedText(a, this.say)}.` : `${a.title}. ${a.detail.split(/(?<=\.)\s(?=\p{Lu})/u)[0] ?? ''}`.trim();
      this.factsOf(a.incident_id).push({ at, text });
      this.dirty.facts.push({ incident: a.incident_id, at, text });
    }
    const changed: AssemblyPrompt[] = [];
    // asked at most once per judgement, and only when a crisis prompt is looked at
    let offers: NeighbourOffer[] | undefined;
    const nb = () => (offers ??= this.neighbours());
    for (const inc of j.incidents) {
      const p = status ? this.updatePrompt(now, inc, status, nb) : null;
      if (p) changed.push(p);
      this.opts.events.emit('incident', { ...inc, alert_ids: [...inc.alert_ids], domains: [...inc.domains] });
    }
    // neighbours' offers and slowly drifting reserves update open prompts too
    if (status) {
      for (const r of this.records.values()) {
        if (r.prompt.status !== 'open' || changed.some((p) => p.id === r.prompt.id)) continue;
        const inc = this.opts.alerts.incident(r.prompt.incident_id);
        if (!inc) continue;
        const p = this.updatePrompt(now, inc, status, nb);
        if (p) changed.push(p);
      }
    }
    // the options and the plan beside the actual figures follow the live figures, without a new version
    if (status) for (const r of this.records.values()) if (r.prompt.status === 'open') this.live(r.prompt, status, nb, now);
    for (const p of changed) {
      this.dirty.prompts.add(p.id);
      this.opts.events.emit('assembly', structuredClone(p));
    }
    // again at the end: a listener that read prompts() mid-way saw a half-applied state
    this.cached = null;
    if (changed.length || this.dirty.facts.length) this.opts.storage.commitSoon();
  }

  // ---- reading

  /** Open prompts, oldest first ([] when none); a snapshot shared until the next change: read it, do not change it. */
  prompts(): AssemblyPrompt[] {
    return (this.cached ??= [...this.records.values()].filter((r) => r.prompt.status === 'open').map((r) => structuredClone(r.prompt)));
  }

  /** Any prompt, open or closed. */
  prompt(id: string): AssemblyPrompt | undefined {
    const r = this.records.get(id);
    return r && structuredClone(r.prompt);
  }

  // ---- what people do

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
    const p = r.prompt;
    p.notes = [...p.notes, n].slice(-NOTES_SHOWN);
    p.notes_total = (p.notes_total ?? 0) + 1;
    this.cached = null;
    this.dirty.notes.push({ prompt: id, ...n });
    this.dirty.prompts.add(id);
    // a note is written at once: people expect what they added to be there after a restart
    this.opts.storage.commitNow();
    this.opts.events.emit('assembly', structuredClone(r.prompt));
    return structuredClone(r.prompt);
  }

  /** Every note of a prompt, oldest first (the prompt itself carries only the latest). */
  notes(id: string): PromptNote[] {
    if (!this.records.has(id)) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    // notes still waiting for a commit (the disk was full) are not in the table yet
    const stored = (this.allNotes?.all(id) ?? []) as PromptNote[];
    const waiting = this.dirty.notes.filter((n) => n.prompt === id).map(({ at, author, text }) => ({ at, author, text }));
    return [...stored, ...waiting];
  }

  cap(id: string): string {
    const r = this.records.get(id);
    if (!r) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    const inc = this.opts.alerts.incident(r.prompt.incident_id);
    const alerts = this.opts.alerts.alertsOf(r.prompt.incident_id);
    const c = this.opts.config.village;
    return capXml({
      prompt: r.prompt,
      village: { id: c.id, name: c.name },
      versions: r.versions,
      domains: inc?.domains ?? [],
      severe: alerts.some((a) => a.severity === 'critical'),
      web: this.opts.webUrl ? `${this.opts.webUrl.replace(/\/$/, '')}/api/assembly/${r.prompt.id}` : undefined,
      timeZone: c.timezone,
      language: c.language,
    });
  }

  /**
   * Start an exercise (see drill.ts); it ends (all clear) after `duration_s` or with stopDrill().
   * Returns when it ends (epoch ms), or null while another exercise is still running.
   */
  startDrill(opts: { duration_s?: number } = {}): number | null {
    const now = this.opts.clock.now();
    const running = this.opts.alerts.raisedActiveUntil();
    if (running !== null && now < running) return null;
    const until = now + (opts.duration_s ?? 900) * 1000;
    const j = this.opts.alerts.raise(drillAlerts(this.opts.config, this.drillSeq + 1, now, until), until);
    if (!j) return null;
    this.drillSeq++;
    this.dirty.meta = true;
    this.log.info(`exercise ${this.drillSeq} started, ends at ${new Date(until).toISOString()}`);
    this.follow(j, this.lastStatus ?? blankStatus(this.opts.config, now));
    return until;
  }

  /** End the running exercise now (its all-clear follows); false when none is running. */
  stopDrill(): boolean {
    const j = this.opts.alerts.endRaisedNow();
    if (!j) return false;
    this.log.info('exercise ended from the page');
    this.follow(j, this.lastStatus ?? blankStatus(this.opts.config, this.opts.clock.now()));
    return true;
  }

  // ---- prompts

  private signature(inc: Incident, neighbours: NeighbourOffer[]): string {
    const alerts = this.opts.alerts.alertsOf(inc.id).map((a) => `${a.id}/${a.state}/${a.severity}`);
    // a neighbour's need and the facts where offers meet needs change the prompt too (unchanged when there are none)
    const nb = neighbours.map((n) => `${n.village}:${n.offer}${n.need ? `:${n.need}` : ''}${n.matches?.length ? `:${n.matches.join('|')}` : ''}`);
    return JSON.stringify([inc.closed_at ? 'closed' : 'open', inc.crisis, alerts, nb]);
  }

  private factsOf(incident: string): Fact[] {
    let f = this.facts.get(incident);
    if (!f) this.facts.set(incident, (f = []));
    return f;
  }

  private neighbours(): NeighbourOffer[] {
    try {
      // old news stays in the prompt, marked as such
      return (this.opts.neighbours?.() ?? []).map((o) =>
        o.stale
          ? {
              ...o,
              offer: `${o.offer}${this.say('assembly.neighbours.heard', ' (heard {time}; may be out of date)', { time: shortTime(o.heard_at, this.opts.config.village.timezone) })}`,
            }
          : o,
      );
    } catch (err) {
      this.log.warn(`neighbour offers unavailable: ${(err as Error).message}`);
      return [];
    }
  }

  /** Open, update or close the incident's prompt; returns it when it changed. */
  private updatePrompt(now: number, inc: Incident, status: ReserveStatus, offers: () => NeighbourOffer[], force = false): AssemblyPrompt | null {
    if (!inc.crisis) return null;
    const rec = inc.prompt_id ? this.records.get(inc.prompt_id) : undefined;
    if (rec?.prompt.status === 'closed') return null;
    if (!rec && inc.closed_at) return null;
    const neighbours = offers();
    const sig = this.signature(inc, neighbours) + (rec ? this.peopleSignature(rec.prompt, status, now) : '');
    const alerts = this.opts.alerts.alertsOf(inc.id);
    const iso = new Date(now).toISOString();
    // an exercise is told in its practice figures throughout (drill.ts), so no section contradicts another
    const seen = inc.exercise ? practiceStatus(this.opts.config, status, alerts, now) : status;
    if (rec) {
      const refresh = this.opts.config.alerts.prompt_refresh_s * 1000;
      const drifted = now - rec.versions.at(-1)! >= refresh && reservesDrifted(rec.prompt.reserves, reservesOf(seen));
      if (rec.signature === sig && !drifted && !force) return null;
    }
    const lows = (rec ? this.historyOf(rec.prompt.id) : []).map((v) => v.reserves.water_days_minimum).filter((x): x is number => x !== null);
    const built = buildPrompt({
      config: this.opts.config,
      status: seen,
      incident: inc,
      alerts,
      neighbours,
      now,
      facts: this.facts.get(inc.id),
      lowest: { water_days_minimum: lows.length ? Math.min(...lows, seen.water.days_left_minimum ?? Infinity) : seen.water.days_left_minimum },
    });
    const { items: seenItems, ...rest } = built;
    const content: Omit<PromptContent, 'items'> & Pick<AssemblyPrompt, 'exercise_ends_at'> = rest;
    if (inc.exercise) {
      // when the exercise ends: by itself at the raised alerts' end, or now (its all-clear)
      const until = this.opts.alerts.raisedActiveUntil();
      content.exercise_ends_at = inc.closed_at || until === null ? iso : new Date(until).toISOString();
    }
    if (!rec) {
      this.promptSeq++;
      const prompt: AssemblyPrompt = {
        id: `prompt-${this.promptSeq}`,
        incident_id: inc.id,
        status: 'open',
        exercise: inc.exercise,
        version: 1,
        opened_at: iso,
        updated_at: iso,
        closed_at: null,
        ...content,
        notes: [],
        notes_total: 0,
        items: seenItems.map((i) => ({ ...i, listed_since: iso, holders: [] })),
        decisions: [],
        plan: null,
      };
      this.live(prompt, status, () => neighbours, now);
      // the incident as announced carries its prompt (the alert book keeps the link)
      this.opts.alerts.linkPrompt(inc.id, prompt.id);
      this.records.set(prompt.id, { prompt, versions: [now], signature: sig + this.peopleSignature(prompt, status, now) });
      this.versionIssued(prompt, now);
      this.log.info(`prompt ${prompt.id} opened for ${inc.id}: ${prompt.headline}`);
      return prompt;
    }
    const p = rec.prompt;
    const before = new Map((p.items ?? []).map((i) => [i.id, i]));
    const items: PromptItem[] = seenItems.map((i) => ({ ...i, listed_since: before.get(i.id)?.listed_since ?? iso, holders: [] }));
    // a thing no longer damaged or urgent is done with: its holds end (the record keeps them)
    this.volunteers.endMissing(p.id, inc.closed_at ? null : new Set(items.map((i) => i.id)), now);
    for (const i of items) i.holders = this.volunteers.holders(p.id, i.id);
    Object.assign(p, content, { version: p.version + 1, updated_at: iso, items, decisions: this.decisions.of(p.id) });
    if (inc.closed_at) Object.assign(p, { status: 'closed', closed_at: iso, plan: null });
    else p.questions = [...p.questions, ...this.peopleQuestions(p, status, now)];
    rec.versions.push(now);
    rec.signature = this.signature(inc, neighbours) + this.peopleSignature(p, status, now);
    this.versionIssued(p, now);
    if (inc.closed_at) this.dirty.records.add(p.id);
    return p;
  }

  // ---- the assembly's own tool: options, decisions, plans, volunteers, the record

  /** The parts of an open prompt that follow the live figures: the options, and the plan beside the actual figures. */
  private live(p: AssemblyPrompt, status: ReserveStatus, offers: () => NeighbourOffer[], now: number): void {
    const seen = p.exercise ? practiceStatus(this.opts.config, status, this.opts.alerts.alertsOf(p.incident_id), now) : status;
    const next = buildOptions({ config: this.opts.config, status: seen, neighbours: offers(), now, say: this.say });
    // `at` moves only with the figures, so the retained topics and the page change only when they do
    if (!p.options || JSON.stringify({ ...next, at: '' }) !== JSON.stringify({ ...p.options, at: '' })) p.options = next;
    p.plan = status.plan && status.plan.prompt_id === p.id ? structuredClone(status.plan) : null;
  }

  /** What of the people's side changes the questions: unheld items, long holds, a plan that strays. */
  private peopleSignature(p: AssemblyPrompt, status: ReserveStatus, now: number): string {
    const items = p.items ?? [];
    return JSON.stringify([
      this.volunteers.unheld(p.id, items, now).map((u) => u.item.id),
      this.volunteers.tired(p.id, now).map((t) => t.by),
      this.strayed(p, status.plan, now).map((x) => x.kind),
    ]);
  }

  private peopleQuestions(p: AssemblyPrompt, status: ReserveStatus, now: number): string[] {
    const tz = this.opts.config.village.timezone;
    const out = volunteerQuestions(this.volunteers, p.id, p.items ?? [], now, this.say, tz);
    for (const x of this.strayed(p, status.plan, now)) {
      const when = shortTime(x.since, tz);
      out.push(
        x.kind === 'water'
          ? this.say(
              'assembly.plan.water_above',
              'Since the agreement of {when} to {agreed} L a person a day, use has been about {actual} L a person a day. Does the plan still fit?',
              { when, agreed: x.agreed, actual: x.actual },
            )
          : this.say(
              'assembly.plan.load_above',
              'Since the agreement of {when} to a load of {agreed} W, the load has been about {actual} W. Does the plan still fit?',
              {
                when,
                agreed: x.agreed,
                actual: x.actual,
              },
            ),
      );
    }
    return out;
  }

  /** The parts of this prompt's plan that actual use has stayed well above for half a day. */
  private strayed(p: AssemblyPrompt, plan: PlanStatus | undefined, now: number): { kind: 'water' | 'load'; since: string; agreed: number; actual: number }[] {
    if (!plan || plan.prompt_id !== p.id) return [];
    const out: { kind: 'water' | 'load'; since: string; agreed: number; actual: number }[] = [];
    const long = (at: string | null | undefined) => !!at && now - Date.parse(at) >= PLAN_ASK_MS;
    if (plan.water_lpd !== null && plan.actual_lpd !== null && long(plan.water_above_since))
      out.push({ kind: 'water', since: plan.since, agreed: plan.water_lpd, actual: Math.round(plan.actual_lpd) });
    if (plan.load_w !== undefined && plan.actual_load_w != null && long(plan.load_above_since))
      out.push({ kind: 'load', since: plan.since, agreed: plan.load_w, actual: Math.round(plan.actual_load_w) });
    return out;
  }

  private historyOf(prompt: string): VersionRow[] {
    let h = this.history.get(prompt);
    if (!h) this.history.set(prompt, (h = []));
    return h;
  }

  private versionIssued(p: AssemblyPrompt, now: number): void {
    const row: VersionRow = { prompt: p.id, version: p.version, at: new Date(now).toISOString(), headline: p.headline, reserves: structuredClone(p.reserves) };
    this.historyOf(p.id).push(row);
    this.dirty.versions.push(row);
  }

  /** The plan in force: the newest decision with a plan on an open prompt (exercises never set one). */
  planInForce(): PlanInForce | null {
    let best: PlanInForce | null = null;
    for (const r of this.records.values()) {
      if (r.prompt.status !== 'open' || r.prompt.exercise) continue;
      const pl = this.decisions.planOf(r.prompt.id);
      if (!pl || (best && best.since >= pl.decision.at)) continue;
      best = { prompt_id: r.prompt.id, decision_id: pl.decision.id, since: pl.decision.at, ...pl.plan };
    }
    return best;
  }

  private openRecord(id: string): PromptRecord {
    const r = this.records.get(id);
    if (!r) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    if (r.prompt.status !== 'open') throw new NoteError('closed', `assembly prompt ${id} is closed (all clear)`);
    return r;
  }

  /** Record what the assembly agreed; a new version of the prompt carries it (topic, webhooks, CAP Update). */
  addDecision(id: string, body: Record<string, unknown>): { decision: Decision; prompt: AssemblyPrompt } {
    const r = this.openRecord(id);
    let input: ReturnType<typeof parseDecision>;
    try {
      input = parseDecision(body);
    } catch (err) {
      if (err instanceof DecisionInputError) this.refuse('decision', id, err.message);
      throw err;
    }
    const now = this.opts.clock.now();
    const decision = this.decisions.add(id, input, now);
    this.log.info(`decision ${decision.id} recorded on ${id}${input.plan ? ` with plan ${JSON.stringify(input.plan)}` : ''}`);
    this.reissue(r, now);
    return { decision, prompt: structuredClone(r.prompt) };
  }

  /** Someone says they are looking at an item; false when they already were. */
  take(id: string, itemId: string, body: Record<string, unknown>): AssemblyPrompt {
    return this.hold(id, itemId, body, 'take');
  }

  release(id: string, itemId: string, body: Record<string, unknown>): AssemblyPrompt {
    return this.hold(id, itemId, body, 'release');
  }

  private hold(id: string, itemId: string, body: Record<string, unknown>, what: 'take' | 'release'): AssemblyPrompt {
    const r = this.openRecord(id);
    const item = (r.prompt.items ?? []).find((i) => i.id === itemId);
    if (!item) throw new NoteError('not_found', `prompt ${id} lists no item "${String(itemId).slice(0, 80)}"`);
    let by: string;
    try {
      by = parseBy(body);
    } catch (err) {
      if (err instanceof VolunteerInputError) this.refuse(what, id, err.message);
      throw err;
    }
    const now = this.opts.clock.now();
    const changed = what === 'take' ? this.volunteers.take(id, item, by, now) : this.volunteers.release(id, itemId, by, now);
    if (!changed && what === 'release') this.refuse(what, id, `${by} is not looking at the ${item.name}`);
    if (changed) {
      item.holders = this.volunteers.holders(id, itemId);
      // seen by all at once, like a note; the questions follow with the next version
      this.cached = null;
      this.dirty.prompts.add(id);
      this.opts.storage.commitNow();
      this.opts.events.emit('assembly', structuredClone(r.prompt));
    }
    return structuredClone(r.prompt);
  }

  /** A new version now, with the latest decisions (an assembly's decision is news). */
  private reissue(r: PromptRecord, now: number): void {
    const inc = this.opts.alerts.incident(r.prompt.incident_id);
    const status = this.lastStatus ?? blankStatus(this.opts.config, now);
    const offers = this.neighbours();
    const p = inc ? this.updatePrompt(now, inc, status, () => offers, true) : null;
    if (!p) {
      r.prompt.decisions = this.decisions.of(r.prompt.id);
      r.prompt.version += 1;
      r.prompt.updated_at = new Date(now).toISOString();
      r.versions.push(now);
      this.versionIssued(r.prompt, now);
    }
    this.cached = null;
    this.dirty.prompts.add(r.prompt.id);
    this.opts.storage.commitNow();
    this.opts.events.emit('assembly', structuredClone(r.prompt));
  }

  /** The record of a prompt: kept as it was when its incident ended, or the record so far while open. */
  record(id: string): AssemblyRecord {
    const r = this.records.get(id);
    if (!r) throw new NoteError('not_found', `no assembly prompt "${String(id).slice(0, 80)}"`);
    if (r.prompt.status === 'closed') {
      const kept = this.getRecord?.get(id) as { json: string } | undefined;
      if (kept) return JSON.parse(kept.json) as AssemblyRecord;
    }
    return this.buildRecordOf(r.prompt);
  }

  recordMarkdown(id: string): string {
    return recordMarkdown(this.record(id), this.say);
  }

  /** A refused decision or hold: counted, and logged at most once a window. */
  private refuse(what: string, id: string, message: string): never {
    this.refusedInputs++;
    this.log.limited(`refused:${what}`, () => `refused a ${what} on ${String(id).slice(0, 80)}: ${message} (${this.refusedInputs} refused so far)`);
    throw new NoteError('invalid', message);
  }

  private buildRecordOf(p: AssemblyPrompt): AssemblyRecord {
    return buildRecord({
      prompt: p,
      alerts: this.opts.alerts.alertsOf(p.incident_id),
      versions: this.historyOf(p.id),
      decisions: this.decisions.of(p.id),
      holds: this.volunteers.all(p.id),
      notes: this.notes(p.id),
      village: this.opts.config.village,
    });
  }

  // ---- persistence (runs inside the storage group commit)

  private rolledBack(): void {
    const f = this.inFlight;
    this.inFlight = null;
    if (!f) return;
    const d = this.dirty;
    for (const id of f.prompts) d.prompts.add(id);
    d.facts = [...f.facts, ...d.facts];
    d.notes = [...f.notes, ...d.notes];
    d.versions = [...f.versions, ...d.versions];
    for (const id of f.records) d.records.add(id);
    d.meta ||= f.meta;
    this.seqWritten = -1;
  }

  private flush(): void {
    const put = this.put!;
    const d = (this.inFlight = this.dirty);
    this.dirty = nothingPending();
    for (const f of d.facts) put.fact.run(f.incident, f.at, f.text);
    for (const n of d.notes) put.note.run(n.prompt, n.at, n.author, n.text);
    for (const v of d.versions) put.version.run(v.prompt, v.version, v.at, v.headline, JSON.stringify(v.reserves));
    for (const id of d.prompts) {
      const r = this.records.get(id);
      if (r) put.prompt.run(id, r.prompt.status, JSON.stringify(r.prompt), JSON.stringify(r.versions), r.signature);
    }
    if (this.promptSeq !== this.seqWritten) {
      put.meta.run('prompt_seq', String(this.promptSeq));
      this.seqWritten = this.promptSeq;
    }
    if (d.meta) put.meta.run('drill_seq', String(this.drillSeq));
    // the record of an ended incident is kept as it was then (its notes are written above)
    for (const id of d.records) {
      const r = this.records.get(id);
      if (r) put.record.run(id, JSON.stringify(this.buildRecordOf(r.prompt)));
    }
  }
}

/**
 * Prompts and facts were kept in alert_* tables before the assembly had its own: move them once.
 * RENAME keeps every row; the counters move from alert_meta.
 */
function migrateFromAlertTables(db: Storage['db']): void {
  const has = (t: string) => !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t);
  if (!has('alert_prompts') || has('assembly_prompts')) return;
  db.transaction(() => {
    db.exec('ALTER TABLE alert_prompts RENAME TO assembly_prompts');
    if (has('alert_facts')) {
      db.exec('ALTER TABLE alert_facts RENAME TO assembly_facts');
      db.exec('DROP INDEX IF EXISTS alert_facts_incident');
    }
    db.exec('CREATE TABLE IF NOT EXISTS assembly_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    if (has('alert_meta')) db.exec("INSERT OR REPLACE INTO assembly_meta SELECT key, value FROM alert_meta WHERE key IN ('prompt_seq', 'drill_seq')");
  })();
}

/** Worth re-issuing the prompt for: a day more or less of water at minimum use, a third of the power hours, a changed list of cold units at risk. */
function reservesDrifted(was: AssemblyPrompt['reserves'], now: AssemblyPrompt['reserves']): boolean {
  const moved = (a: number | null, b: number | null, by: (x: number) => number) =>
    (a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) >= by(a));
  // days at current use swing with the hour's draw; days at minimum use are the steady measure
  return (
    moved(was.water_days_minimum, now.water_days_minimum, () => 1) ||
    moved(was.power_hours_left, now.power_hours_left, (x) => Math.max(4, x / 3)) ||
    was.cold_units_at_risk.join() !== now.cold_units_at_risk.join()
  );
}
