// Runs the scenario library (firmware-bridge/simulator/scenarios/library/) through the real
// pipeline — `tend simulate --config … --scenario … --json --speed 0`, in-process: each scenario
// device a real MQTT client, the embedded broker, ingest, reserve, rules, incidents, prompts — and
// judges the --json output against the scenario's sidecar (`<name>.expect.json`). Shared by
// test/scenarios/library.test.ts and test/bench/scenarios.ts, so both read the same truth.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AlertMatch, Expectation, Severity } from '../../firmware-bridge/simulator/scenarios/library/expect.ts';
import { LIBRARY_DIR } from '../../firmware-bridge/simulator/scenarios/library/generate.ts';
import { loadConfig } from '../../config/load.ts';
import { localParts } from '../../core/format.ts';
import { runSimulate } from '../../services/simulate.ts';

export { LIBRARY_DIR };

export type Ev = { t: number; event: string } & Record<string, unknown>;

export interface RunResult {
  name: string;
  code: number;
  events: Ev[];
  /** lines that were not JSON (usage or scenario errors) */
  other: string[];
  wall_ms: number;
}

/** every sidecar in the library, longest scenario first (so a pool finishes soonest) */
export function loadLibrary(dir = LIBRARY_DIR): Expectation[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.expect.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Expectation)
    .sort((a, b) => b.days - a.days || a.name.localeCompare(b.name));
}

/**
 * `--tick` for the rules between readings: 60 s, as the CLI does by default. Set TEND_SCENARIO_TICK
 * to try another.
 */
const TICK = process.env.TEND_SCENARIO_TICK ?? '60';

export async function runScenario(e: Expectation, dir = LIBRARY_DIR): Promise<RunResult> {
  let buf = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      buf += String(chunk);
      done();
    },
  });
  const t0 = performance.now();
  const code = await runSimulate(
    ['--config', join(dir, e.village), '--scenario', join(dir, e.scenario), '--json', '--speed', '0', '--start', e.start, '--tick', TICK],
    out,
  );
  const events: Ev[] = [];
  const other: string[] = [];
  for (const line of buf.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as Ev;
      if (o && typeof o === 'object' && typeof o.event === 'string') events.push(o);
      else other.push(line);
    } catch {
      other.push(line);
    }
  }
  return { name: e.name, code, events, other, wall_ms: performance.now() - t0 };
}

/** Start every run, at most `concurrency` at once; each name's promise settles when its run does. */
export function startRuns(list: Expectation[], concurrency: number): Map<string, Promise<RunResult>> {
  const out = new Map<string, Promise<RunResult>>();
  let active = 0;
  const queue: (() => void)[] = [];
  const slot = () =>
    new Promise<void>((resolve) => {
      if (active < concurrency) {
        active++;
        resolve();
      } else queue.push(() => resolve());
    });
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  for (const e of list) {
    const p = slot().then(async () => {
      try {
        return await runScenario(e);
      } finally {
        release();
      }
    });
    p.catch(() => undefined); // awaited by its test; never an unhandled rejection meanwhile
    out.set(e.name, p);
  }
  return out;
}

// ---- judging

const RANK: Record<Severity, number> = { watch: 1, warning: 2, critical: 3 };

type AlertEv = Ev & { id: string; rule: string; subject: string; domain: string; severity: Severity; state: string; title: string };

export function matches(a: AlertEv, m: AlertMatch): boolean {
  if (m.rule && !m.rule.includes(a.rule)) return false;
  if (m.except_rule?.includes(a.rule)) return false;
  if (m.subject && !m.subject.includes(a.subject)) return false;
  if (m.domain && a.domain !== m.domain) return false;
  if (m.min_severity && RANK[a.severity] < RANK[m.min_severity]) return false;
  return true;
}

export function describeMatch(m: AlertMatch): string {
  const parts = [
    m.rule ? m.rule.join('|') : m.domain ? `any ${m.domain} alert` : 'any alert',
    m.except_rule ? `except ${m.except_rule.join('|')}` : '',
    m.subject ? `on ${m.subject.join('|')}` : '',
    m.rule && m.domain ? `(${m.domain})` : '',
    m.min_severity ? `at ${m.min_severity} or worse` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

export interface Verdict {
  name: string;
  kind: Expectation['kind'];
  /** empty: the scenario passes */
  problems: string[];
  /** damage scenarios: every must_fire met in time */
  detected: boolean | null;
  /** minutes from the damage to the first firing alert matching must_fire[0] (any deadline), null if none */
  detect_min: number | null;
  /** alerts that fired though must_not_fire forbids them: `rule:subject (severity) at t` */
  false_alerts: string[];
  /** distinct alerts that reached warning or critical */
  warnings: number;
  /** assembly prompts opened (not exercises) */
  prompts: number;
  /** every alert that fired, for the report: `rule:subject severity @ minutes` */
  fired: string[];
}

const fmtMin = (s: number) => `${Math.round(s / 60)} min`;

/** "day 1 00:05": a scenario time as the village's clock shows it (day 0 is the start's local date) */
function stamper(e: Expectation, dir: string): (t: number) => string {
  const tz = loadConfig(join(dir, e.village)).village.timezone;
  const start = Date.parse(e.start);
  const p0 = localParts(start, tz);
  const day0 = Date.UTC(p0.year, p0.month - 1, p0.day);
  return (t) => {
    const p = localParts(start + t * 1000, tz);
    const day = Math.round((Date.UTC(p.year, p.month - 1, p.day) - day0) / 86_400_000);
    return `day ${day} ${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  };
}

export function judge(e: Expectation, r: RunResult, dir = LIBRARY_DIR): Verdict {
  const at = stamper(e, dir);
  const problems: string[] = [];
  if (r.code !== 0) problems.push(`tend simulate exited ${r.code}: ${r.other.join(' / ').slice(0, 500)}`);
  const firing = r.events.filter((x) => x.event === 'alert' && x.state === 'firing') as AlertEv[];
  const dmg = e.damage?.t ?? 0;

  let detectMin: number | null = null;
  let detected: boolean | null = e.kind === 'damage' ? true : null;
  e.must_fire.forEach((m, i) => {
    const first = firing.find((a) => a.t >= dmg && matches(a, m));
    if (i === 0 && first) detectMin = (first.t - dmg) / 60;
    if (!first) {
      problems.push(`expected ${describeMatch(m)} within ${m.within_min} min of the damage; it never fired (${m.why})`);
      detected = detected === null ? null : false;
      return;
    }
    const dt = first.t - dmg;
    if (dt > m.within_min * 60) {
      problems.push(`expected ${describeMatch(m)} within ${m.within_min} min of the damage; it fired after ${fmtMin(dt)}, ${at(first.t)} (${m.why})`);
      detected = detected === null ? null : false;
    }
    if (m.not_before_min !== undefined && dt < m.not_before_min * 60) {
      problems.push(
        `expected ${describeMatch(m)} no sooner than ${m.not_before_min} min after the damage; it fired after ${fmtMin(dt)}, ${at(first.t)} (${m.why})`,
      );
      detected = detected === null ? null : false;
    }
  });

  const falseAlerts = new Set<string>();
  for (const m of e.must_not_fire) {
    const bad = firing.filter((a) => matches(a, m) && (!m.before_damage || a.t < dmg));
    const ids = [...new Set(bad.map((a) => a.id))];
    for (const id of ids) {
      const a = bad.find((x) => x.id === id)!;
      falseAlerts.add(`${a.rule}:${a.subject} ${a.severity} ${at(a.t)}`);
    }
    if (ids.length) {
      const a = bad[0]!;
      problems.push(
        `${describeMatch(m)}${m.before_damage ? ' before the damage' : ''} must not fire (${m.why}); fired: ${ids.length} alert(s), first ${a.rule}:${a.subject} ${a.severity} ${at(a.t)}: "${a.title}"`,
      );
    }
  }

  const prompts = r.events.filter((x) => x.event === 'assembly' && !x.exercise);
  const promptIds = new Set(prompts.map((p) => p.id as string));
  if (e.prompts === 'forbidden' && promptIds.size)
    problems.push(`no assembly prompt may open; ${promptIds.size} did, first ${at(prompts[0]!.t)}: "${prompts[0]!.headline}"`);
  if (e.prompts === 'expected' && !prompts.some((p) => p.t >= dmg)) problems.push('an assembly prompt must open after the damage; none did');

  const warnIds = new Set(firing.filter((a) => RANK[a.severity] >= RANK.warning).map((a) => a.id));
  if (e.max_warnings !== undefined && warnIds.size > e.max_warnings) {
    const list = [...warnIds].map((id) => firing.find((a) => a.id === id && RANK[a.severity] >= 2)!);
    problems.push(`at most ${e.max_warnings} warning(s) on ordinary days; ${warnIds.size}: ${list.map((a) => `${a.rule}:${a.subject} ${at(a.t)}`).join(', ')}`);
  }

  const n = e.earlier_each_night;
  if (n) {
    const firstByNight = new Map<number, number>();
    for (const a of firing) {
      if (!matches(a, n) || a.t < n.first_noon_t) continue;
      const night = Math.floor((a.t - n.first_noon_t) / 86400);
      if (!firstByNight.has(night)) firstByNight.set(night, a.t - n.first_noon_t - night * 86400);
    }
    const nights = [...firstByNight.entries()].sort((a, b) => a[0] - b[0]);
    // seconds after local noon → the local time of day
    const clock = (s: number) => `${String(Math.floor((12 + s / 3600) % 24)).padStart(2, '0')}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
    if (nights.length < n.min_nights) problems.push(`${describeMatch(n)} on at least ${n.min_nights} nights; on ${nights.length} (${n.why})`);
    for (let i = 1; i < nights.length; i++) {
      if (nights[i]![1] >= nights[i - 1]![1])
        problems.push(
          `${describeMatch(n)} should come earlier each night (${n.why}); night ${nights[i]![0]} at ${clock(nights[i]![1])} is not earlier than night ${nights[i - 1]![0]} at ${clock(nights[i - 1]![1])}`,
        );
    }
  }

  const seen = new Set<string>();
  const fired: string[] = [];
  for (const a of firing) {
    const key = `${a.id}/${a.severity}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fired.push(`${a.rule}:${a.subject} ${a.severity} ${at(a.t)}${e.damage ? ` (${Math.round((a.t - dmg) / 60)} min from the damage)` : ''}`);
  }
  return {
    name: e.name,
    kind: e.kind,
    problems,
    detected,
    detect_min: detectMin,
    false_alerts: [...falseAlerts],
    warnings: warnIds.size,
    prompts: promptIds.size,
    fired,
  };
}

/** The library's figures (for the bench and the test's summary). */
export interface LibraryFigures {
  total: number;
  damage: number;
  detected: number;
  median_detect_min: number | null;
  ordinary_days: number;
  false_prompts_per_30_days: number | null;
  false_warnings_per_30_days: number | null;
  /** forbidden alerts in any scenario */
  false_alerts: number;
  passed: number;
  per_scenario: Record<
    string,
    { pass: boolean; detected: boolean | null; detect_min: number | null; false_alerts: string[]; problems: string[]; wall_s: number }
  >;
}

export function figures(lib: Expectation[], verdicts: Verdict[], runs: RunResult[]): LibraryFigures {
  const damage = verdicts.filter((v) => v.kind === 'damage');
  const times = damage
    .map((v) => v.detect_min)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const median = times.length ? (times.length % 2 ? times[(times.length - 1) / 2]! : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2) : null;
  const ordinary = lib.filter((e) => e.kind === 'ordinary');
  const days = ordinary.reduce((s, e) => s + e.days, 0);
  const ov = verdicts.filter((v) => v.kind === 'ordinary');
  const per: LibraryFigures['per_scenario'] = {};
  for (const v of verdicts) {
    per[v.name] = {
      pass: v.problems.length === 0,
      detected: v.detected,
      detect_min: v.detect_min,
      false_alerts: v.false_alerts,
      problems: v.problems,
      wall_s: Math.round((runs.find((r) => r.name === v.name)?.wall_ms ?? 0) / 100) / 10,
    };
  }
  return {
    total: verdicts.length,
    damage: damage.length,
    detected: damage.filter((v) => v.detected).length,
    median_detect_min: median,
    ordinary_days: days,
    false_prompts_per_30_days: days ? (ov.reduce((s, v) => s + v.prompts, 0) * 30) / days : null,
    false_warnings_per_30_days: days ? (ov.reduce((s, v) => s + v.warnings, 0) * 30) / days : null,
    false_alerts: verdicts.reduce((s, v) => s + v.false_alerts.length, 0),
    passed: verdicts.filter((v) => v.problems.length === 0).length,
    per_scenario: per,
  };
}
