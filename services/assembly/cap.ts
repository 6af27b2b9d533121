// CAP 1.2 (OASIS Common Alerting Protocol) for an assembly prompt, so sirens, signboards and
// regional systems that speak CAP can carry it. One CAP message per prompt version:
// v1 msgType Alert, later versions Update, the all-clear Cancel; each Update/Cancel references
// the earlier messages (CAP 1.2 §3.2.1 "references": sender,identifier,sent triples).
// responseType Assess (the assembly weighs the account) or Monitor (after the all-clear); never
// Evacuate/Shelter/Execute — tend informs and asks, it does not instruct, so no <instruction>.
import { shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import type { AssemblyPrompt, Domain } from '../../core/types.ts';

export interface CapInput {
  prompt: AssemblyPrompt;
  village: { id: string; name: string };
  /** when each version of the prompt was issued (epoch ms), index = version − 1 */
  versions: number[];
  domains: (Domain | 'sensors')[];
  /** any alert of the incident critical */
  severe: boolean;
  /** optional link to the prompt on the village page */
  web?: string;
  /** the village's time zone (IANA) for the times people read in the description; `sent` stays ISO */
  timeZone?: string;
  /** the village's language (BCP 47): the words of event, audience and description, and <language> */
  language?: string;
}

/** CAP dateTime: no fractional seconds and an explicit offset, "2026-11-26T03:27:04+00:00" (CAP 1.2 §3.3.2). */
export function capTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
}

/**
 * Characters XML 1.0 does not allow at all, even escaped (§2.2 Char: #x9 | #xA | #xD |
 * [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]): control characters, U+FFFE/U+FFFF and
 * unpaired surrogates (a neighbour's offer or a note cut in the middle of an emoji).
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** control characters separated words: they become a space; the rest of NOT_XML_CHAR just goes */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

/** Text as it may stand in a CAP element: forbidden characters replaced, markup escaped. */
export const capText = (s: string) =>
  s.replace(CONTROL, ' ').replace(NOT_XML_CHAR, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const esc = capText;

export function capIdentifier(villageId: string, promptId: string, version: number): string {
  return `tend-${villageId}-${promptId}-v${version}`;
}

export function capXml(inp: CapInput): string {
  const { prompt: p, village } = inp;
  const sender = `tend@${village.id}`;
  const sentMs = inp.versions[p.version - 1] ?? Date.parse(p.updated_at);
  const cancel = p.status === 'closed';
  const msgType = cancel ? 'Cancel' : p.version === 1 ? 'Alert' : 'Update';
  const refs = inp.versions
    .slice(0, p.version - 1)
    .map((at, i) => `${sender},${capIdentifier(village.id, p.id, i + 1)},${capTime(at)}`)
    .join(' ');
  const categories = new Set<string>();
  if (inp.domains.includes('weather')) categories.add('Met');
  if (inp.domains.some((d) => d === 'water' || d === 'power' || d === 'sensors')) categories.add('Infra');
  if (inp.domains.includes('cold')) categories.add('Health'); // food safety
  if (!categories.size) categories.add('Other');
  const urgency = cancel ? 'Past' : p.urgent.length ? 'Immediate' : 'Expected';
  const severity = cancel ? 'Minor' : inp.severe ? 'Severe' : 'Moderate';
  const language = inp.language ?? 'en';
  const say = sayIn(language);
  const list = (title: string, items: string[]) => (items.length ? `${title}:\n${items.map((i) => `- ${i}`).join('\n')}\n` : '');
  const description = [
    list(
      say('cap.situation', 'Situation'),
      p.situation.map((s) => `${shortTime(s.at, inp.timeZone)}: ${s.text}`),
    ),
    list(say('cap.damaged', 'Damaged'), p.damaged),
    list(say('cap.working', 'Still working'), p.working),
    list(say('cap.urgent', 'Urgent (running out within a day)'), p.urgent),
    list(say('cap.can_wait', 'Can wait'), p.can_wait),
    list(
      say('cap.neighbours', 'Neighbours offer'),
      p.neighbours.map((n) => `${n.village}: ${n.offer}`),
    ),
    list(
      say('cap.decisions', 'Decisions of the assembly'),
      (p.decisions ?? []).map((d) => `${shortTime(d.at, inp.timeZone)}${d.by ? ` (${d.by})` : ''}: ${d.text}`),
    ),
    list(
      say('cap.people', 'People looking at'),
      (p.items ?? [])
        .filter((i) => i.holders.length)
        .map(
          (i) =>
            `${i.name}: ${i.holders.map((h) => say('assembly.items.holder', '{by} since {time}', { by: h.by, time: shortTime(h.since, inp.timeZone) })).join(', ')}`,
        ),
    ),
    list(say('cap.questions', 'Questions for the assembly'), p.questions),
  ]
    .filter(Boolean)
    .join('\n');
  const param = (name: string, value: string | number | null) =>
    `      <parameter><valueName>${esc(name)}</valueName><value>${esc(value === null ? 'unknown' : String(value))}</value></parameter>\n`;
  const r = p.reserves;
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${esc(capIdentifier(village.id, p.id, p.version))}</identifier>
  <sender>${esc(sender)}</sender>
  <sent>${capTime(sentMs)}</sent>
  <status>${p.exercise ? 'Exercise' : 'Actual'}</status>
  <msgType>${msgType}</msgType>
  <source>tend</source>
  <scope>Public</scope>
${p.exercise ? `  <note>${esc(say('cap.exercise_note', 'Exercise: a drill, not a real event.'))}</note>\n` : ''}${refs ? `  <references>${esc(refs)}</references>\n` : ''}  <incidents>${esc(`${village.id}-${p.incident_id}`)}</incidents>
  <info>
    <language>${esc(language)}</language>
${[...categories].map((c) => `    <category>${c}</category>\n`).join('')}    <event>${esc(cancel ? say('cap.event.all_clear', 'All clear') : say('cap.event.strain', 'Village reserves under strain'))}</event>
    <responseType>${cancel ? 'Monitor' : 'Assess'}</responseType>
    <urgency>${urgency}</urgency>
    <severity>${severity}</severity>
    <certainty>Observed</certainty>
    <audience>${esc(say('cap.audience', 'the people of {village}', { village: village.name }))}</audience>
    <senderName>${esc(`${village.name} (tend)`)}</senderName>
    <headline>${esc(p.headline.slice(0, 160))}</headline>
    <description>${esc(description)}</description>
${inp.web ? `    <web>${esc(inp.web)}</web>\n` : ''}${param('water_days_current', r.water_days_current)}${param('water_days_minimum', r.water_days_minimum)}${param('power_hours_left', r.power_hours_left)}${param('cold_units_at_risk', r.cold_units_at_risk.join(', ') || 'none')}${param('prompt_version', p.version)}    <area>
      <areaDesc>${esc(village.name)}</areaDesc>
    </area>
  </info>
</alert>
`;
}
