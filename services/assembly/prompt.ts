// Builds the assembly prompt for a crisis incident: a plain account of what is damaged, what
// still works, what is urgent (running out within a day) and what can wait, with the reserve
// figures exactly as the reserve status shows them, and questions for the assembly.
// Language rule (language.ts): inform and ask, never command; every suggestion is a question.
import type { Config } from '../../config/schema.ts';
import type { Alert, AssemblyPrompt, Incident, NeighbourOffer, ReserveStatus } from '../../core/types.ts';
import { fmt, shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';

export interface PromptInput {
  config: Config;
  status: ReserveStatus;
  incident: Incident;
  /** the incident's alerts, in the order they fired */
  alerts: Alert[];
  neighbours: NeighbourOffer[];
  now: number;
  /** what was seen, as it was seen: one line per alert firing, escalating or ending */
  facts?: { at: string; text: string }[];
  /** for the all-clear's recovery questions: the lowest water days at minimum use the prompt showed */
  lowest?: { water_days_minimum: number | null };
}

/** A damaged or urgent thing of the prompt, under an id that stays the same from version to version. */
export interface ItemSeen {
  id: string;
  /** as read after "the": "North tank", "power supply" */
  name: string;
  lists: ('damaged' | 'urgent')[];
}

export type PromptContent = Pick<
  AssemblyPrompt,
  'headline' | 'situation' | 'damaged' | 'working' | 'urgent' | 'can_wait' | 'reserves' | 'neighbours' | 'questions'
> & { items: ItemSeen[] };

const DAY_H = 24;

export function buildPrompt(inp: PromptInput): PromptContent {
  const { config, status, incident, neighbours } = inp;
  const closed = !!incident.closed_at;
  const active = inp.alerts.filter((a) => a.state !== 'resolved');
  const firing = (rule: string) => active.filter((a) => a.rule === rule && a.state === 'firing');
  const exercise = incident.exercise ? 'Exercise: ' : '';
  const village = config.village.name;
  // every time in the prompt is read in the village's zone
  const tz = config.village.timezone;

  const situation = inp.facts
    ? [...inp.facts]
    : inp.alerts
        .filter((a) => a.fired_at)
        .sort((a, b) => Date.parse(a.fired_at!) - Date.parse(b.fired_at!))
        .flatMap((a) => {
          const lines = [{ at: a.fired_at!, text: `${a.title}. ${a.detail}`.trim() }];
          if (a.resolved_at) lines.push({ at: a.resolved_at, text: `${resolvedText(a)}.` });
          return lines;
        })
        .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

  const damaged: string[] = [];
  const working: string[] = [];
  const urgent: string[] = [];
  const canWait: string[] = [];
  const questions: string[] = [];
  // each damaged or urgent line is about a thing people can look at: one item per thing
  const items = new Map<string, ItemSeen>();
  const item = (id: string, name: string, list: 'damaged' | 'urgent') => {
    const it = items.get(id) ?? { id, name, lists: [] };
    if (!it.lists.includes(list)) it.lists.push(list);
    items.set(id, it);
  };
  // an alert that came back is told from when it came back
  const since = (a: Alert) => a.reopened_at ?? a.fired_at!;

  // water
  const w = status.water;
  const leaking = new Map(firing('tank_drop').map((a) => [a.subject, a]));
  for (const t of w.tanks) {
    const a = leaking.get(t.id);
    const amount = t.liters === null ? 'level unknown' : `${fmt(t.liters)} L (${fmt(t.percent ?? 0)}%)`;
    if (a) {
      damaged.push(`${t.name}: losing about ${fmt(a.value ?? 0)} L an hour since ${shortTime(since(a), tz)}, far faster than its usual draw; now ${amount}`);
      item(`tank-${t.id}`, t.name, 'damaged');
      const hours = a.value && t.liters !== null ? t.liters / a.value : null;
      if (hours !== null && hours < DAY_H) {
        urgent.push(`${t.name} would be empty in about ${fmt(hours, 1)} hours at this loss`);
        item(`tank-${t.id}`, t.name, 'urgent');
      }
      questions.push(`Who is able to look at the ${t.name}, and would the assembly like its water moved to another tank while it is checked?`);
    } else if (t.stale) {
      damaged.push(
        `${t.name}: no current reading (last ${t.last_seen ? shortTime(t.last_seen, tz) : 'never'}); ${t.liters === null ? 'level unknown' : `last known ${fmt(t.liters)} L`}`,
      );
      item(`tank-${t.id}`, t.name, 'damaged');
    } else {
      working.push(`${t.name}: ${amount}`);
    }
  }
  // a total that includes a tank not heard from is not current: say so beside it
  const staleTanks = w.tanks.filter((t) => t.stale && t.liters !== null);
  const waterStale = staleTanks.length ? ` (this includes ${listWords(staleTanks.map(notHeard))})` : '';
  if (w.days_left_current !== null && w.days_left_current < 1) {
    urgent.push(`Water: about ${fmt(w.days_left_current * DAY_H, 1)} hours left at current use (${fmt(w.liters ?? 0)} L)${waterStale}`);
    item('water-supply', 'water supply', 'urgent');
  } else if (w.days_left_minimum !== null) {
    const current = w.days_left_current === null ? 'use not measured yet' : `about ${fmt(w.days_left_current, 1)} days at current use`;
    canWait.push(`Water: ${fmt(w.liters ?? 0)} L, ${current} and ${fmt(w.days_left_minimum, 1)} days at minimum use${waterStale}`);
  }
  if (firing('water_low').length || leaking.size) {
    const days = w.days_left_minimum === null ? '' : `The tanks hold about ${fmt(w.days_left_minimum, 1)} days at minimum use: `;
    questions.push(
      `${days}would the assembly like to share water at the minimum of ${config.village.minimum_water_lpd} L a person a day until supply is restored?`,
    );
  }

  // power
  const pw = status.power;
  const unstable = firing('power_unstable')[0];
  const low = firing('battery_low')[0];
  if (unstable) {
    damaged.push(`Power supply, unstable since ${shortTime(unstable.fired_at!, tz)}: ${unstable.detail.replace(/^Seen: /, '').replace(/\.$/, '')}`);
    item('power-supply', 'power supply', 'damaged');
  }
  if (low) {
    damaged.push(`Battery bank: ${fmt(pw.soc_percent ?? 0)}% charged`);
    item('power-battery', 'battery bank', 'damaged');
  }
  const dark = firing('power_out')[0];
  if (dark) {
    damaged.push(`Electricity: ${dark.title.replace(/^.*?: /, '')}, so none may be reaching the village`);
    item('power-electricity', 'electricity supply', 'damaged');
  }
  if (!unstable && !low && !pw.stale && pw.soc_percent !== null)
    working.push(`Battery bank: ${fmt(pw.soc_percent)}% charged${pw.net_w !== null && pw.net_w > 0 ? ', charging' : ''}`);
  if (pw.stale) {
    damaged.push('Power monitor: no current readings');
    item('power-monitor', 'power monitor', 'damaged');
  }
  if (pw.hours_left !== null) {
    const line = `Stored power: about ${fmt(pw.hours_left, 1)} hours at the current load of ${fmt(pw.load_w ?? 0)} W, not counting solar${pw.stale ? ' (from readings that are not current)' : ''}`;
    (pw.hours_left < DAY_H ? urgent : canWait).push(line);
    if (pw.hours_left < DAY_H) item('power-battery', 'battery bank', 'urgent');
  }
  if (unstable || low || dark) questions.push('Which loads does the village want to keep running while power is short or unstable, and which can wait?');

  // cold
  const warm = new Map(firing('cold_above_safe').map((a) => [a.subject, a]));
  for (const u of status.cold.units) {
    const a = warm.get(u.id);
    if (a) {
      damaged.push(
        `${u.name}: ${u.temp_c === null ? '?' : fmt(u.temp_c, 1)} °C, above its safe ${fmt(u.safe_max_c, 1)} °C since about ${shortTime(Date.parse(a.started_at), tz)}`,
      );
      item(`cold-${u.id}`, u.name, 'damaged');
      item(`cold-${u.id}`, u.name, 'urgent');
      const mins = (inp.now - Date.parse(a.started_at)) / 60_000;
      const left = 120 - mins;
      urgent.push(
        left > 0
          ? `${u.name}: food has about ${fmt(left)} minutes left in the 2-hour food-safety window`
          : `${u.name}: food has been above safe temperature for more than 2 hours`,
      );
      questions.push(`What would the assembly like to do with the food in the ${u.name}: eat it first, share it, or move it to a colder unit?`);
    } else if (u.stale) {
      damaged.push(`${u.name}: no current reading`);
      item(`cold-${u.id}`, u.name, 'damaged');
    } else if (u.temp_c !== null) {
      working.push(`${u.name}: ${fmt(u.temp_c, 1)} °C (safe up to ${fmt(u.safe_max_c, 1)} °C)`);
    }
  }

  // weather and sensors
  const storm = active.find((a) => a.rule === 'storm');
  if (storm) questions.push('Is there anything outside that the village wants to secure or bring in before the next gusts?');
  for (const a of firing('sensor_stuck')) canWait.push(`${a.title}; the alerts leave its readings out until it moves again`);
  const quiet = firing('sensor_offline');
  for (const a of quiet)
    canWait.push(`${a.title.replace(/ is not reporting$/, '')}: not reporting since ${shortTime(since(a), tz)}; the figures here leave its readings out`);
  if (quiet.length) questions.push(`Can someone check ${quiet.map((a) => a.title.replace(/ is not reporting$/, '')).join(' and ')} when it is safe to do so?`);
  const s = status.sensors;
  working.push(`Sensors: ${s.online} of ${s.total} reporting`);

  // neighbours listed only for their need offer nothing; where an offer could meet a need, the fact and a question
  const offering = neighbours.filter((n) => n.offering !== false);
  if (offering.length) {
    questions.push(`Neighbouring villages offer help (${offering.map((n) => n.village).join(', ')}): which offers would the assembly like to take up?`);
  }
  const sayNb = sayIn(config.village.language);
  for (const fact of new Set(neighbours.flatMap((n) => n.matches ?? [])))
    questions.push(`${fact} ${sayNb('federation.prompt.match', 'Would the assembly like to take this up with the neighbouring village?')}`);
  questions.push('Who can take a turn on the water and power crews, and who needs rest first?');

  const what = [
    storm ? 'storm' : null,
    leaking.size ? 'water loss' : firing('water_low').length ? 'low water' : null,
    dark ? 'no electricity' : unstable ? 'unstable power' : low ? 'low battery' : null,
    warm.size ? 'cold storage warming' : null,
  ].filter(Boolean) as string[];
  const headline = closed
    ? `${exercise}All clear in ${village}: the alerts of ${shortTime(incident.opened_at, tz)} have ended`
    : what.length
      ? `${exercise}${village}: ${listWords(what)} — an account for the assembly`
      : `${exercise}${village}: the alerts have ended; the all-clear follows after a calm spell`;

  return {
    headline: headline.charAt(0).toUpperCase() + headline.slice(1),
    situation,
    damaged: closed ? [] : damaged,
    working,
    urgent: closed ? [] : urgent,
    can_wait: closed ? [] : canWait,
    reserves: reservesOf(status),
    neighbours,
    questions: closed ? recoveryQuestions(inp) : [...new Set(questions)],
    items: closed ? [] : [...items.values()],
  };
}

/** Days 6–14, recovery and redesign: the all-clear asks what failed and what would have helped. */
function recoveryQuestions(inp: PromptInput): string[] {
  const say = sayIn(inp.config.village.language);
  const low = inp.lowest?.water_days_minimum ?? null;
  const failed = [...new Set(inp.alerts.filter((a) => a.fired_at).map((a) => a.title.replace(/^Exercise: /, '').split(':')[0]!))];
  const out = ['What did the village learn, and what would it like to change before the next storm?'];
  if (failed.length)
    out.push(
      say('assembly.recovery.failed', 'What failed, and what held? The alerts were about: {alerts}. Which of these would the village like to make stronger?', {
        alerts: failed.slice(0, 6).join(', '),
      }),
    );
  out.push(
    low === null
      ? say('assembly.recovery.storage', 'What storage would have helped: more water, more stored power, more cold room?')
      : say('assembly.recovery.storage_low', 'At the lowest the tanks held about {days} days at minimum use: what storage would have helped?', {
          days: fmt(low, 1),
        }),
  );
  return out;
}

/** The reserve figures as the status has them, unrounded, so they equal /api/status. */
export function reservesOf(status: ReserveStatus): AssemblyPrompt['reserves'] {
  return {
    water_days_current: status.water.days_left_current,
    water_days_minimum: status.water.days_left_minimum,
    power_hours_left: status.power.hours_left,
    cold_units_at_risk: status.cold.units
      .filter((u) => u.status === 'strained' || u.status === 'critical' || u.minutes_above_safe > 0 || (u.temp_c !== null && u.temp_c > u.safe_max_c))
      .map((u) => u.name),
    includes_stale: staleParts(status),
  };
}

/** Which reserve figures include parts not heard from (their last values still count in them). */
function staleParts(status: ReserveStatus): string[] {
  const out: string[] = [];
  const tanks = status.water.tanks.filter((t) => t.stale && t.liters !== null);
  if (tanks.length) out.push(`The water figures include ${listWords(tanks.map(notHeard))}`);
  if (status.power.stale) out.push('Some of the power readings are not current');
  const units = status.cold.units.filter((u) => u.stale && u.temp_c !== null);
  if (units.length) out.push(`The cold storage figures include ${listWords(units.map(notHeard))}`);
  return out;
}

function notHeard(x: { name: string; last_seen: string | null }): string {
  return `${x.name}, not heard since ${x.last_seen ? shortTime(x.last_seen) : 'the start'}`;
}

export function resolvedText(a: Alert): string {
  switch (a.rule) {
    case 'storm':
      return 'The storm has eased';
    case 'tank_drop':
      return `${a.title.split(' is losing')[0]} is holding its water again`;
    case 'power_unstable':
      return 'Power is steady again';
    case 'battery_low':
      return 'The battery bank has recovered';
    case 'cold_above_safe':
      return `${a.title.split(' is above')[0]} is back at a safe temperature`;
    case 'power_out':
      return 'Electricity is back';
    case 'sensor_stuck':
      return `${a.title.replace(/ may be stuck:.*$/, '')} is moving again`;
    case 'sensor_offline':
      return `${a.title.replace(/ is not reporting$/, '')} is reporting again`;
    case 'water_low':
      return 'The water reserve has recovered';
    default:
      return `${a.title}: ended`;
  }
}

function listWords(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
