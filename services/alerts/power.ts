// power_out (defaults in config/rules.ts): the village load at (or near) zero for minutes, where
// it normally never is. A village's load never falls to nothing by itself — a clinic fridge,
// lights, the inverter's own draw — so a load sensor reading 0 W for ten minutes means no
// electricity reaches the village: a dead inverter, a tripped breaker, a cut cable. What
// "normally" means is learned from the load's own history: the lowest median load of any
// window_s stretch over the last baseline_days (a single glitch reading does not move a median),
// judged once half a day is learned with a night's small hours in it.
// A village whose load does go to zero (a generator switched off at night) learns a usual
// minimum near zero, and the rule stays silent there.
//
// What is learned lives in the rule memory (RuleMemory.loads), which the alert book persists.
import { fmt, localHour, shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import type { Condition, RuleInput, LoadMemory } from './rule-types.ts';

const DAY = 86_400_000;

const newLoadMemory = (): LoadMemory => ({ lastSeen: null, from: null, values: [], windows: [], nightAt: null, lowSince: null, lowReadings: 0, last: null });

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function powerOut({ sensors, status, now, params, mem, held, config }: RuleInput): Condition[] {
  const p = params.power_out;
  const tz = config.village.timezone;
  const store = (mem.loads ??= {});
  const out: Condition[] = [];
  for (const s of sensors) {
    if (s.kind !== 'load_power') continue;
    const m = (store[s.id] ??= newLoadMemory());
    // a stale load is sensor_offline's to report: no change here
    if (s.stale || s.value === null || s.last_seen === null) continue;
    const h = held('power_out', s.id);
    // the usual minimum, from stretches that were not an outage
    const w = m.windows;
    const learnedMs = w.length ? w.at(-1)!.t - w[0]!.t + p.window_s * 1000 : 0;
    // the usual minimum needs the night in it: the lowest a village draws is in its small hours
    const nightSeen = m.nightAt !== null && !!w.length && m.nightAt >= w[0]!.t;
    const usual = learnedMs >= p.learn_s * 1000 && nightSeen ? Math.min(...w.map((x) => x.v)) : null;
    const floor = Math.max(p.floor_w, usual === null ? 0 : p.floor_fraction * usual);

    if (s.last_seen !== m.lastSeen) {
      m.lastSeen = s.last_seen;
      const ts = Date.parse(s.last_seen);
      const v = s.value;
      m.last = v;
      // learn: the median of each stretch, not while an outage alert is held
      m.from ??= ts;
      if (ts - m.from >= p.window_s * 1000) {
        if (m.values.length >= 2 && !h) {
          w.push({ t: ts, v: median(m.values) });
          if (localHour(ts - 1, tz) < 6) m.nightAt = ts;
        }
        m.from = ts;
        m.values = [];
      }
      m.values.push(v);
      while (w.length && w[0]!.t < now - p.baseline_days * DAY) w.shift();
      if (v <= floor) {
        m.lowSince ??= ts;
        m.lowReadings++;
      } else {
        m.lowSince = null;
        m.lowReadings = 0;
      }
    }

    // judged only where the load normally stays well above the floor
    if (usual === null || usual < 2 * floor) {
      if (m.last !== null && m.last > floor) out.push(clear(s.name, s.id));
      continue;
    }
    const down = m.lowSince !== null && m.lowReadings >= 2 && now - m.lowSince >= p.out_s * 1000;
    if (!down) {
      // a held alert ends only once the load is back above the floor
      if (!h || m.lowSince === null) out.push(clear(s.name, s.id));
      continue;
    }
    if (!p.enabled) continue;
    const mins = (now - m.lowSince!) / 60_000;
    const learned = Math.min(p.baseline_days * DAY, learnedMs);
    const say = sayIn(config.village.language);
    const over =
      learned < 2 * DAY
        ? say('alert.power_out.hours', '{n} hours', { n: fmt(learned / 3_600_000) })
        : say('alert.power_out.days', '{n} days', { n: fmt(learned / DAY) });
    const pw = status.power;
    const soc = pw.stale ? null : pw.soc_percent;
    const battery =
      soc === null
        ? ''
        : soc > params.battery_low.warning_percent
          ? say(
              'alert.power_out.battery_full',
              ' The battery bank holds {percent}%, so the energy is there: the inverter, a breaker or a cable may have failed.',
              {
                percent: fmt(soc),
              },
            )
          : say('alert.power_out.battery_low', ' The battery bank holds only {percent}%: the inverter may have switched off to protect it.', {
              percent: fmt(soc),
            });
    out.push({
      rule: 'power_out',
      subject: s.id,
      domain: 'power',
      severity: 'warning',
      value: m.last,
      title: say('alert.power_out.title', 'The village may have no electricity: {sensor} reads {w} W since {time}', {
        sensor: s.name,
        w: fmt(m.last ?? 0),
        time: shortTime(m.lowSince!, tz),
      }),
      detail: say(
        'alert.power_out.detail',
        '{sensor} has read no more than {floor} W for about {minutes} minutes ({readings} readings); ' +
          'over the last {over} it never stayed below about {usual} W. Homes, the clinic and pumps on it may be without power.{battery}',
        { sensor: s.name, floor: fmt(floor), minutes: fmt(mins), readings: m.lowReadings, over, usual: fmt(usual), battery },
      ),
    });
  }
  return out;
}

function clear(name: string, id: string): Condition {
  return { rule: 'power_out', subject: id, domain: 'power', severity: null, value: null, title: `${name} is drawing power`, detail: '' };
}
