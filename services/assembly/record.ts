// The record of an incident, for recovery: the timeline of its alerts, every version of its
// prompt, what the assembly decided, who looked at what, the notes, and the key figures (first,
// lowest, last). Kept when the incident ends (assembly_records) and served as JSON or Markdown
// (GET /api/assembly/<id>/record[?format=md]); the recovery assembly reads it to ask what failed
// and what storage would have helped.
import { fmt, shortTime } from '../../core/format.ts';
import { type Say, sayIn } from '../../core/i18n.ts';
import type { Alert, AssemblyPrompt, Decision, PromptNote } from '../../core/types.ts';
import type { Hold } from './volunteers.ts';

export interface VersionRow {
  prompt: string;
  version: number;
  at: string;
  headline: string;
  reserves: AssemblyPrompt['reserves'];
}

type Figure = { first: number | null; lowest: number | null; last: number | null };

export interface AssemblyRecord {
  prompt_id: string;
  incident_id: string;
  village: { id: string; name: string; timezone: string };
  exercise: boolean;
  /** false while the incident is still open: the record so far */
  complete: boolean;
  opened_at: string;
  closed_at: string | null;
  headline: string;
  alerts: {
    id: string;
    rule: string;
    severity: string;
    title: string;
    started_at: string;
    fired_at: string | null;
    reopened_at: string | null;
    resolved_at: string | null;
  }[];
  versions: { version: number; at: string; headline: string }[];
  decisions: Decision[];
  items: { item: string; name: string; by: string; since: string; until: string | null; ended: Hold['ended'] }[];
  notes: PromptNote[];
  situation: { at: string; text: string }[];
  figures: { water_days_minimum: Figure; water_days_current: Figure; power_hours_left: Figure; cold_units_at_risk: string[] };
  /** the recovery questions the all-clear asks */
  questions: string[];
}

export interface RecordInput {
  prompt: AssemblyPrompt;
  alerts: Alert[];
  versions: VersionRow[];
  decisions: Decision[];
  holds: Hold[];
  notes: PromptNote[];
  village: { id: string; name: string; timezone: string };
}

function figure(values: (number | null)[]): Figure {
  const known = values.filter((v): v is number => v !== null);
  return {
    first: values[0] ?? null,
    lowest: known.length ? Math.min(...known) : null,
    last: values.at(-1) ?? null,
  };
}

export function buildRecord(inp: RecordInput): AssemblyRecord {
  const p = inp.prompt;
  const res = inp.versions.map((v) => v.reserves);
  return {
    prompt_id: p.id,
    incident_id: p.incident_id,
    village: { id: inp.village.id, name: inp.village.name, timezone: inp.village.timezone },
    exercise: p.exercise,
    complete: p.status === 'closed',
    opened_at: p.opened_at,
    closed_at: p.closed_at,
    headline: p.headline,
    alerts: inp.alerts
      .filter((a) => a.fired_at)
      .map((a) => ({
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        title: a.title,
        started_at: a.started_at,
        fired_at: a.fired_at,
        reopened_at: a.reopened_at ?? null,
        resolved_at: a.resolved_at,
      })),
    versions: inp.versions.map((v) => ({ version: v.version, at: v.at, headline: v.headline })),
    decisions: inp.decisions,
    items: inp.holds.map((h) => ({ item: h.item, name: h.name, by: h.by, since: h.since, until: h.until, ended: h.ended })),
    notes: inp.notes,
    situation: p.situation,
    figures: {
      water_days_minimum: figure(res.map((r) => r.water_days_minimum)),
      water_days_current: figure(res.map((r) => r.water_days_current)),
      power_hours_left: figure(res.map((r) => r.power_hours_left)),
      cold_units_at_risk: [...new Set(res.flatMap((r) => r.cold_units_at_risk))],
    },
    questions: p.status === 'closed' ? p.questions : [],
  };
}

/** The record as Markdown, times in the village's zone, words in the village's language (English unless `say` is given). */
export function recordMarkdown(r: AssemblyRecord, say: Say = sayIn('en')): string {
  const tz = r.village.timezone;
  const t = (iso: string | null) => (iso ? shortTime(iso, tz) : '—');
  const n = (x: number | null, d = 1) => (x === null ? '—' : fmt(x, d));
  const md = (s: string) => s.replace(/([\\`*_[\]<>|])/g, '\\$1');
  const ended = (time: string | null) => say('assembly.record_md.ended', 'ended {time}', { time: t(time) });
  const lines: string[] = [];
  const headline = md(r.headline);
  lines.push(
    `# ${r.exercise ? say('assembly.record_md.title_exercise', 'Exercise record: {headline}', { headline }) : say('assembly.record.title', 'Record: {headline}', { headline })}`,
    '',
  );
  lines.push(
    say('assembly.record_md.span', '{village} · prompt {prompt} · opened {opened} · {closed}', {
      village: md(r.village.name),
      prompt: r.prompt_id,
      opened: t(r.opened_at),
      closed: r.closed_at ? ended(r.closed_at) : say('assembly.record_md.still_open', 'still open'),
    }),
    '',
  );
  lines.push(
    `## ${say('assembly.record_md.figures', 'Key figures')}`,
    '',
    say('assembly.record_md.table', '| figure | first | lowest | last |'),
    '|---|---|---|---|',
  );
  const f = r.figures;
  const row = (name: string, x: { first: number | null; lowest: number | null; last: number | null }) =>
    `| ${name} | ${n(x.first)} | ${n(x.lowest)} | ${n(x.last)} |`;
  lines.push(row(say('assembly.record_md.water_min', 'days of water at minimum use'), f.water_days_minimum));
  lines.push(row(say('assembly.record_md.water_current', 'days of water at current use'), f.water_days_current));
  lines.push(row(say('assembly.record_md.power', 'hours of stored power'), f.power_hours_left));
  lines.push(
    '',
    say('assembly.record_md.cold', 'Cold storage at risk at some point: {units}.', {
      units: f.cold_units_at_risk.length ? md(f.cold_units_at_risk.join(', ')) : say('assembly.record_md.cold_none', 'none'),
    }),
    '',
  );
  const none = `- ${say('assembly.record_md.none', 'none')}`;
  lines.push(`## ${say('assembly.record.alerts', 'Alerts')}`, '');
  for (const a of r.alerts)
    lines.push(
      `- ${t(a.fired_at)} [${a.severity}] ${md(a.title)}${a.reopened_at ? say('assembly.record_md.again', ' (again from {time})', { time: t(a.reopened_at) }) : ''}; ${a.resolved_at ? ended(a.resolved_at) : say('assembly.record_md.not_ended', 'not ended')}`,
    );
  if (!r.alerts.length) lines.push(none);
  lines.push('', `## ${say('assembly.record_md.seen', 'What was seen')}`, '');
  for (const s of r.situation) lines.push(`- ${t(s.at)} ${md(s.text)}`);
  lines.push('', `## ${say('assembly.record_md.decisions', 'Decisions')}`, '');
  for (const d of r.decisions) {
    const plan = d.plan ? planWords(d.plan, say) : '';
    lines.push(`- ${t(d.at)}${d.by ? ` (${md(d.by)})` : ''}: ${md(d.text)}${plan ? say('assembly.record_md.plan', ' — plan: {plan}', { plan }) : ''}`);
  }
  if (!r.decisions.length) lines.push(`- ${say('assembly.record_md.none_recorded', 'none recorded')}`);
  lines.push('', `## ${say('assembly.record_md.who', 'Who looked at what')}`, '');
  const why = {
    released: say('assembly.record_md.released', 'released'),
    done: say('assembly.record_md.done', 'done'),
    closed: say('assembly.record_md.closed', 'closed'),
  };
  for (const h of r.items)
    lines.push(
      `- ${say('assembly.record_md.hold', '{by}: the {item}, {since} to {until}', {
        by: md(h.by),
        item: md(h.name),
        since: t(h.since),
        until: h.until ? t(h.until) : say('assembly.record_md.now', 'now'),
      })}${h.ended ? ` (${why[h.ended]})` : ''}`,
    );
  if (!r.items.length) lines.push(`- ${say('assembly.record_md.nobody', 'nobody recorded')}`);
  lines.push('', `## ${say('assembly.record_md.notes', 'Notes')}`, '');
  for (const x of r.notes) lines.push(`- ${t(x.at)} ${md(x.author)}: ${md(x.text)}`);
  if (!r.notes.length) lines.push(none);
  lines.push('', `## ${say('assembly.record_md.versions', 'Prompt versions')}`, '');
  for (const v of r.versions) lines.push(`- v${v.version} ${t(v.at)}: ${md(v.headline)}`);
  if (r.questions.length) {
    lines.push('', `## ${say('assembly.record.questions', 'Questions for the recovery')}`, '');
    for (const q of r.questions) lines.push(`- ${md(q)}`);
  }
  return `${lines.join('\n')}\n`;
}

function planWords(p: { water_lpd?: number; load_w?: number }, say: Say): string {
  const parts: string[] = [];
  if (p.water_lpd !== undefined) parts.push(say('assembly.plan.water_words', '{lpd} L a person a day', { lpd: fmt(p.water_lpd, 1) }));
  if (p.load_w !== undefined) parts.push(say('assembly.record_md.load', 'a load of {w} W', { w: fmt(p.load_w) }));
  return parts.length ? parts.join(', ') : say('assembly.record_md.plan_ended', 'ended');
}
