// Builds the assembly prompt for a crisis incident: a plain account of what is damaged, what
// still works, what is urgent (running out within a day) and what can wait, with the reserve
// figures exactly as the reserve status shows them, and questions for the assembly.
// Language rule (language.ts): inform and ask, never command; every suggestion is a question.
import type { Config } from '../../config/schema.ts';
import type { Alert, AssemblyPrompt, Incident, NeighbourOffer, ReserveStatus } from '../../core/types.ts';
import { fmt, shortTime } from '../../core/format.ts';
import { type Say, sayIn } from '../../core/i18n.ts';

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
  // every text in the village's language; English is written beside each key
  const say = sayIn(config.village.language);
  const closed = !!incident.closed_at;
  const active = inp.alerts.filter((a) => a.state !== 'resolved');
  const firing = (rule: string) => active.filter((a) => a.rule === rule && a.state === 'firing');
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
          if (a.resolved_at) lines.push({ at: a.resolved_at, text: `${resolvedText(a, say)}.` });
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
    const amount =
      t.liters === null
        ? say('assembly.tank.level_unknown', 'level unknown')
        : say('assembly.tank.amount', '{liters} L ({percent}%)', { liters: fmt(t.liters), percent: fmt(t.percent ?? 0) });
    if (a) {
      damaged.push(
        say('assembly.damaged.tank_loss', '{tank}: losing about {lph} L an hour since {time}, far faster than its usual draw; now {amount}', {
          tank: t.name,
          lph: fmt(a.value ?? 0),
          time: shortTime(since(a), tz),
          amount,
        }),
      );
      item(`tank-${t.id}`, t.name, 'damaged');
      const hours = a.value && t.liters !== null ? t.liters / a.value : null;
      if (hours !== null && hours < DAY_H) {
        urgent.push(say('assembly.urgent.tank_empty', '{tank} would be empty in about {hours} hours at this loss', { tank: t.name, hours: fmt(hours, 1) }));
        item(`tank-${t.id}`, t.name, 'urgent');
      }
      questions.push(
        say(
          'assembly.question.tank_look',
          'Who is able to look at the {tank}, and would the assembly like its water moved to another tank while it is checked?',
          {
            tank: t.name,
          },
        ),
      );
    } else if (t.stale) {
      damaged.push(
        say('assembly.damaged.tank_stale', '{tank}: no current reading (last {time}); {amount}', {
          tank: t.name,
          time: t.last_seen ? shortTime(t.last_seen, tz) : say('assembly.never', 'never'),
          amount: t.liters === null ? amount : say('assembly.tank.last_known', 'last known {liters} L', { liters: fmt(t.liters) }),
        }),
      );
      item(`tank-${t.id}`, t.name, 'damaged');
    } else {
      working.push(say('assembly.working.tank', '{tank}: {amount}', { tank: t.name, amount }));
    }
  }
  // a total that includes a tank not heard from is not current: say so beside it
  const staleTanks = w.tanks.filter((t) => t.stale && t.liters !== null);
  const waterStale = staleTanks.length
    ? say('assembly.water.includes_stale', ' (this includes {tanks})', {
        tanks: listWords(
          staleTanks.map((t) => notHeard(t, say)),
          say,
        ),
      })
    : '';
  if (w.days_left_current !== null && w.days_left_current < 1) {
    urgent.push(
      say('assembly.urgent.water', 'Water: about {hours} hours left at current use ({liters} L){stale}', {
        hours: fmt(w.days_left_current * DAY_H, 1),
        liters: fmt(w.liters ?? 0),
        stale: waterStale,
      }),
    );
    item('water-supply', say('assembly.item.water_supply', 'water supply'), 'urgent');
  } else if (w.days_left_minimum !== null) {
    const slots = { liters: fmt(w.liters ?? 0), days: fmt(w.days_left_minimum, 1), stale: waterStale };
    canWait.push(
      w.days_left_current === null
        ? say('assembly.can_wait.water_unmeasured', 'Water: {liters} L, use not measured yet and {days} days at minimum use{stale}', slots)
        : say('assembly.can_wait.water', 'Water: {liters} L, {current} and {days} days at minimum use{stale}', {
            ...slots,
            current: say('assembly.water.days_current', 'about {days} days at current use', { days: fmt(w.days_left_current, 1) }),
          }),
    );
  }
  if (firing('water_low').length || leaking.size) {
    const lpd = config.village.minimum_water_lpd;
    questions.push(
      w.days_left_minimum === null
        ? say('assembly.question.share_water', 'would the assembly like to share water at the minimum of {lpd} L a person a day until supply is restored?', {
            lpd,
          })
        : say(
            'assembly.question.share_water_days',
            'The tanks hold about {days} days at minimum use: would the assembly like to share water at the minimum of {lpd} L a person a day until supply is restored?',
            { days: fmt(w.days_left_minimum, 1), lpd },
          ),
    );
  }

  // power
  const pw = status.power;
  const unstable = firing('power_unstable')[0];
  const low = firing('battery_low')[0];
  if (unstable) {
    damaged.push(
      say('assembly.damaged.power_unstable', 'Power supply, unstable since {time}: {what}', {
        time: shortTime(unstable.fired_at!, tz),
        // the detail after its "Seen:" (in any language), without its full stop
        what: unstable.detail.replace(/^[^:.]*: /, '').replace(/\.$/, ''),
      }),
    );
    item('power-supply', say('assembly.item.power_supply', 'power supply'), 'damaged');
  }
  if (low) {
    damaged.push(say('assembly.damaged.battery', 'Battery bank: {percent}% charged', { percent: fmt(pw.soc_percent ?? 0) }));
    item('power-battery', say('assembly.item.battery', 'battery bank'), 'damaged');
  }
  const dark = firing('power_out')[0];
  if (dark) {
    damaged.push(say('assembly.damaged.electricity', 'Electricity: {what}, so none may be reaching the village', { what: dark.title.replace(/^.*?: /, '') }));
    item('power-electricity', say('assembly.item.electricity', 'electricity supply'), 'damaged');
  }
  if (!unstable && !low && !pw.stale && pw.soc_percent !== null)
    working.push(
      pw.net_w !== null && pw.net_w > 0
        ? say('assembly.working.battery_charging', 'Battery bank: {percent}% charged, charging', { percent: fmt(pw.soc_percent) })
        : say('assembly.working.battery', 'Battery bank: {percent}% charged', { percent: fmt(pw.soc_percent) }),
    );
  if (pw.stale) {
    damaged.push(say('assembly.damaged.power_monitor', 'Power monitor: no current readings'));
    item('power-monitor', say('assembly.item.power_monitor', 'power monitor'), 'damaged');
  }
  if (pw.hours_left !== null) {
    const line = say('assembly.power.stored', 'Stored power: about {hours} hours at the current load of {w} W, not counting solar{stale}', {
      hours: fmt(pw.hours_left, 1),
      w: fmt(pw.load_w ?? 0),
      stale: pw.stale ? say('assembly.power.stored_stale', ' (from readings that are not current)') : '',
    });
    (pw.hours_left < DAY_H ? urgent : canWait).push(line);
    if (pw.hours_left < DAY_H) item('power-battery', say('assembly.item.battery', 'battery bank'), 'urgent');
  }
  if (unstable || low || dark)
    questions.push(say('assembly.question.loads', 'Which loads does the village want to keep running while power is short or unstable, and which can wait?'));

  // cold
  const warm = new Map(firing('cold_above_safe').map((a) => [a.subject, a]));
  for (const u of status.cold.units) {
    const a = warm.get(u.id);
    if (a) {
      damaged.push(
        say('assembly.damaged.cold', '{unit}: {temp} °C, above its safe {safe} °C since about {time}', {
          unit: u.name,
          temp: u.temp_c === null ? '?' : fmt(u.temp_c, 1),
          safe: fmt(u.safe_max_c, 1),
          time: shortTime(Date.parse(a.started_at), tz),
        }),
      );
      item(`cold-${u.id}`, u.name, 'damaged');
      item(`cold-${u.id}`, u.name, 'urgent');
      const mins = (inp.now - Date.parse(a.started_at)) / 60_000;
      const left = 120 - mins;
      urgent.push(
        left > 0
          ? say('assembly.urgent.food_window', '{unit}: food has about {minutes} minutes left in the 2-hour food-safety window', {
              unit: u.name,
              minutes: fmt(left),
            })
          : say('assembly.urgent.food_past', '{unit}: food has been above safe temperature for more than 2 hours', { unit: u.name }),
      );
      questions.push(
        say('assembly.question.food', 'What would the assembly like to do with the food in the {unit}: eat it first, share it, or move it to a colder unit?', {
          unit: u.name,
        }),
      );
    } else if (u.stale) {
      damaged.push(say('assembly.damaged.cold_stale', '{unit}: no current reading', { unit: u.name }));
      item(`cold-${u.id}`, u.name, 'damaged');
    } else if (u.temp_c !== null) {
      working.push(
        say('assembly.working.cold', '{unit}: {temp} °C (safe up to {safe} °C)', { unit: u.name, temp: fmt(u.temp_c, 1), safe: fmt(u.safe_max_c, 1) }),
      );
    }
  }

  // weather and sensors
  const storm = active.find((a) => a.rule === 'storm');
  if (storm) questions.push(say('assembly.question.storm', 'Is there anything outside that the village wants to secure or bring in before the next gusts?'));
  for (const a of firing('sensor_stuck'))
    canWait.push(say('assembly.can_wait.stuck', '{title}; the alerts leave its readings out until it moves again', { title: a.title }));
  const quiet = firing('sensor_offline');
  const quietName = (a: Alert) =>
    titleSlot(say, a.title, 'alert.sensor_offline.title', '{device} is not reporting', 'device') ?? a.title.replace(/ is not reporting$/, '');
  for (const a of quiet)
    canWait.push(
      say('assembly.can_wait.offline', '{device}: not reporting since {time}; the figures here leave its readings out', {
        device: quietName(a),
        time: shortTime(since(a), tz),
      }),
    );
  if (quiet.length)
    questions.push(
      say('assembly.question.check_sensors', 'Can someone check {devices} when it is safe to do so?', {
        devices: quiet.map(quietName).reduce((first, last) => say('assembly.list.and', '{first} and {last}', { first, last })),
      }),
    );
  const s = status.sensors;
  working.push(say('assembly.working.sensors', 'Sensors: {online} of {total} reporting', { online: s.online, total: s.total }));

  // neighbours listed only for their need offer nothing; where an offer could meet a need, the fact and a question
  const offering = neighbours.filter((n) => n.offering !== false);
  if (offering.length) {
    questions.push(
      say('assembly.question.offers', 'Neighbouring villages offer help ({villages}): which offers would the assembly like to take up?', {
        villages: offering.map((n) => n.village).join(', '),
      }),
    );
  }
  for (const fact of new Set(neighbours.flatMap((n) => n.matches ?? [])))
    questions.push(`${fact} ${say('federation.prompt.match', 'Would the assembly like to take this up with the neighbouring village?')}`);
  questions.push(say('assembly.question.crews', 'Who can take a turn on the water and power crews, and who needs rest first?'));

  const what = [
    storm ? say('assembly.what.storm', 'storm') : null,
    leaking.size ? say('assembly.what.water_loss', 'water loss') : firing('water_low').length ? say('assembly.what.water_low', 'low water') : null,
    dark
      ? say('assembly.what.power_out', 'no electricity')
      : unstable
        ? say('assembly.what.power_unstable', 'unstable power')
        : low
          ? say('assembly.what.battery_low', 'low battery')
          : null,
    warm.size ? say('assembly.what.cold_warming', 'cold storage warming') : null,
  ].filter(Boolean) as string[];
  const told = closed
    ? say('assembly.headline.all_clear', 'All clear in {village}: the alerts of {time} have ended', { village, time: shortTime(incident.opened_at, tz) })
    : what.length
      ? say('assembly.headline.account', '{village}: {what} — an account for the assembly', { village, what: listWords(what, say) })
      : say('assembly.headline.ended', '{village}: the alerts have ended; the all-clear follows after a calm spell', { village });
  const headline = incident.exercise ? say('assembly.exercise', 'Exercise: {text}', { text: told }) : told;

  return {
    headline: headline.charAt(0).toUpperCase() + headline.slice(1),
    situation,
    damaged: closed ? [] : damaged,
    working,
    urgent: closed ? [] : urgent,
    can_wait: closed ? [] : canWait,
    reserves: reservesOf(status, say),
    neighbours,
    questions: closed ? recoveryQuestions(inp, say) : [...new Set(questions)],
    items: closed ? [] : [...items.values()],
  };
}

/** Days 6–14, recovery and redesign: the all-clear asks what failed and what would have helped. */
function recoveryQuestions(inp: PromptInput, say: Say): string[] {
  const low = inp.lowest?.water_days_minimum ?? null;
  // an exercise's titles carry its mark ("Exercise: …"): the kind of alert is what follows it
  const unmarked = (title: string) => titleSlot(say, title, 'assembly.exercise', 'Exercise: {text}', 'text') ?? title.replace(/^Exercise: /, '');
  const failed = [...new Set(inp.alerts.filter((a) => a.fired_at).map((a) => unmarked(a.title).split(':')[0]!.trim()))];
  const out = [say('assembly.recovery.learn', 'What did the village learn, and what would it like to change before the next storm?')];
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
export function reservesOf(status: ReserveStatus, say: Say = sayIn('en')): AssemblyPrompt['reserves'] {
  return {
    water_days_current: status.water.days_left_current,
    water_days_minimum: status.water.days_left_minimum,
    power_hours_left: status.power.hours_left,
    cold_units_at_risk: status.cold.units
      .filter((u) => u.status === 'strained' || u.status === 'critical' || u.minutes_above_safe > 0 || (u.temp_c !== null && u.temp_c > u.safe_max_c))
      .map((u) => u.name),
    includes_stale: staleParts(status, say),
  };
}

/** Which reserve figures include parts not heard from (their last values still count in them). */
function staleParts(status: ReserveStatus, say: Say): string[] {
  const out: string[] = [];
  const tanks = status.water.tanks.filter((t) => t.stale && t.liters !== null);
  if (tanks.length)
    out.push(
      say('assembly.reserves.water_stale', 'The water figures include {parts}', {
        parts: listWords(
          tanks.map((t) => notHeard(t, say)),
          say,
        ),
      }),
    );
  if (status.power.stale) out.push(say('assembly.reserves.power_stale', 'Some of the power readings are not current'));
  const units = status.cold.units.filter((u) => u.stale && u.temp_c !== null);
  if (units.length)
    out.push(
      say('assembly.reserves.cold_stale', 'The cold storage figures include {parts}', {
        parts: listWords(
          units.map((u) => notHeard(u, say)),
          say,
        ),
      }),
    );
  return out;
}

function notHeard(x: { name: string; last_seen: string | null }, say: Say): string {
  return say('assembly.stale.not_heard', '{name}, not heard since {time}', {
    name: x.name,
    time: x.last_seen ? shortTime(x.last_seen) : say('assembly.stale.start', 'the start'),
  });
}

/** What is seen when an alert ends, in the village's language (English unless `say` is given). */
export function resolvedText(a: Alert, say: Say = sayIn('en')): string {
  // the thing an alert is about, read back from its title as the title's own text wrote it
  const named = (key: string, english: string, slot: string, fallback: () => string) => titleSlot(say, a.title, key, english, slot) ?? fallback();
  switch (a.rule) {
    case 'storm':
      return say('assembly.resolved.storm', 'The storm has eased');
    case 'tank_drop':
      return say('assembly.resolved.tank_drop', '{tank} is holding its water again', {
        tank: named('alert.tank_drop.title', '{tank} is losing water fast: about {lph} L an hour', 'tank', () => a.title.split(' is losing')[0]!),
      });
    case 'power_unstable':
      return say('assembly.resolved.power_unstable', 'Power is steady again');
    case 'battery_low':
      return say('assembly.resolved.battery_low', 'The battery bank has recovered');
    case 'cold_above_safe':
      return say('assembly.resolved.cold_above_safe', '{unit} is back at a safe temperature', {
        unit: named('alert.cold_above_safe.title', '{unit} is above its safe {safe} °C: now {temp} °C', 'unit', () => a.title.split(' is above')[0]!),
      });
    case 'power_out':
      return say('assembly.resolved.power_out', 'Electricity is back');
    case 'sensor_stuck':
      return say('assembly.resolved.sensor_stuck', '{sensor} sensor is moving again', {
        sensor: named('alert.sensor_stuck.title', '{sensor} sensor may be stuck: the same reading since {time}', 'sensor', () =>
          a.title.replace(/ sensor may be stuck:.*$/, ''),
        ),
      });
    case 'sensor_offline':
      return say('assembly.resolved.sensor_offline', '{device} is reporting again', {
        device: named('alert.sensor_offline.title', '{device} is not reporting', 'device', () => a.title.replace(/ is not reporting$/, '')),
      });
    case 'water_low':
      return say('assembly.resolved.water_low', 'The water reserve has recovered');
    default:
      return say('assembly.resolved.other', '{title}: ended', { title: a.title });
  }
}

/**
 * One slot of a text, read back from the text as the language's template wrote it: the tank of
 * "North tank is losing water fast: …". Anything before the template (an exercise's mark) stays
 * with the slot, as the English always did; null when the text is not of that template.
 */
export function titleSlot(say: Say, text: string, key: string, english: string, slot: string): string | null {
  // say() without slots leaves every {slot} as written: the template itself
  const template = say(key, english);
  let group = 0;
  let wanted = -1;
  const pattern = template.split(/(\{\w+\})/).map((part) => {
    const m = part.match(/^\{(\w+)\}$/);
    if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    group++;
    if (m[1] === slot && wanted < 0) wanted = group;
    return m[1] === slot ? '(.+)' : '(.+?)';
  });
  if (wanted < 0) return null;
  const found = text.match(new RegExp(`^${pattern.join('')}$`, 's'));
  return found ? found[wanted]! : null;
}

/** "a, b and c" in the village's language */
export function listWords(items: string[], say: Say = sayIn('en')): string {
  return items.length <= 1 ? items.join('') : say('assembly.list.and', '{first} and {last}', { first: items.slice(0, -1).join(', '), last: items.at(-1)! });
}
