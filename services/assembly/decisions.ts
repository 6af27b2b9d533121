// What the assembly agreed: decisions recorded on a prompt with their time and who recorded them,
// kept in SQLite (assembly_decisions). A decision may carry a plan (litres a person a day, a load
// in watts); the newest decision with a plan is the plan in force, so a later one supersedes an
// earlier one, and an empty plan {} ends it. tend follows a plan with figures; it never enforces one.
import { NOTE_LIMITS } from '../../core/limits.ts';
import type { Decision, PlanFigures } from '../../core/types.ts';
import type { Storage } from '../storage.ts';

/** what a plan figure may be: a village's litres a person a day, a load in watts */
export const PLAN_LIMITS = { water_lpd: [1, 500], load_w: [1, 1_000_000] } as const;

export class DecisionInputError extends Error {}

export interface DecisionInput {
  text: string;
  by: string | null;
  plan: PlanFigures | null;
}

const clean = (s: unknown) => (typeof s === 'string' ? s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim() : '');

/** Check a decision as it comes from the API; every problem is a sentence for the 400. */
export function parseDecision(body: Record<string, unknown>): DecisionInput {
  const text = clean(body.text);
  if (!text) throw new DecisionInputError('a decision needs its text: what the assembly agreed');
  if (text.length > NOTE_LIMITS.text) throw new DecisionInputError(`text is too long (${text.length} characters, at most ${NOTE_LIMITS.text})`);
  if (body.by !== undefined && body.by !== null && typeof body.by !== 'string') throw new DecisionInputError('by is a name or a group, as text');
  const by = clean(body.by) || null;
  if (by && by.length > NOTE_LIMITS.author) throw new DecisionInputError(`by is too long (${by.length} characters, at most ${NOTE_LIMITS.author})`);
  let plan: PlanFigures | null = null;
  if (body.plan !== undefined && body.plan !== null) {
    if (typeof body.plan !== 'object' || Array.isArray(body.plan)) throw new DecisionInputError('plan is an object: {water_lpd?, load_w?}');
    const raw = body.plan as Record<string, unknown>;
    plan = {};
    for (const [k, v] of Object.entries(raw)) {
      if (k !== 'water_lpd' && k !== 'load_w') throw new DecisionInputError(`plan.${k.slice(0, 40)} is not known (a plan holds water_lpd and load_w)`);
      if (v === null || v === undefined) continue;
      const [lo, hi] = PLAN_LIMITS[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new DecisionInputError(`plan.${k} is a number from ${lo} to ${hi}`);
      plan[k] = v;
    }
  }
  return { text, by, plan };
}

interface Row extends Decision {
  prompt: string;
}

export class DecisionBook {
  private readonly byPrompt = new Map<string, Decision[]>();
  private seq = 0;
  private pending: Row[] = [];
  private inFlight: Row[] = [];
  private put: { run(...p: unknown[]): unknown } | null = null;

  constructor(private readonly storage: Storage) {}

  start(): void {
    const db = this.storage.db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS assembly_decisions (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, prompt_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT, text TEXT NOT NULL, plan TEXT)',
    );
    this.put = db.prepare('INSERT OR IGNORE INTO assembly_decisions (n, id, prompt_id, at, by, text, plan) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of db.prepare('SELECT n, id, prompt_id, at, by, text, plan FROM assembly_decisions ORDER BY n').all() as {
      n: number;
      id: string;
      prompt_id: string;
      at: string;
      by: string | null;
      text: string;
      plan: string | null;
    }[]) {
      this.listOf(r.prompt_id).push({ id: r.id, at: r.at, by: r.by, text: r.text, plan: r.plan === null ? null : (JSON.parse(r.plan) as PlanFigures) });
      this.seq = Math.max(this.seq, r.n);
    }
    this.storage.register({ flush: () => this.flush(), rolledBack: () => this.rolledBack() });
  }

  /** The decisions of a prompt, oldest first (copies). */
  of(prompt: string): Decision[] {
    return structuredClone(this.byPrompt.get(prompt) ?? []);
  }

  add(prompt: string, d: DecisionInput, now: number): Decision {
    this.seq++;
    const decision: Decision = { id: `decision-${this.seq}`, at: new Date(now).toISOString(), by: d.by, text: d.text, plan: d.plan };
    this.listOf(prompt).push(decision);
    this.pending.push({ ...decision, prompt });
    return structuredClone(decision);
  }

  /** The plan in force on a prompt: the newest decision with a plan; null when none, or when it was ended with {}. */
  planOf(prompt: string): { decision: Decision; plan: PlanFigures } | null {
    const list = this.byPrompt.get(prompt) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const d = list[i]!;
      if (d.plan === null) continue;
      if (d.plan.water_lpd === undefined && d.plan.load_w === undefined) return null;
      return { decision: d, plan: d.plan };
    }
    return null;
  }

  private listOf(prompt: string): Decision[] {
    let l = this.byPrompt.get(prompt);
    if (!l) this.byPrompt.set(prompt, (l = []));
    return l;
  }

  private flush(): void {
    this.inFlight = this.pending;
    this.pending = [];
    for (const r of this.inFlight)
      this.put!.run(Number(r.id.slice('decision-'.length)), r.id, r.prompt, r.at, r.by, r.text, r.plan === null ? null : JSON.stringify(r.plan));
  }

  private rolledBack(): void {
    this.pending = [...this.inFlight, ...this.pending];
    this.inFlight = [];
  }
}
