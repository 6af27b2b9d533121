// The alert rules (defaults in config/rules.ts; docs/architecture.md, "Alerts") and how they read a
// ReserveStatus. A rule only says what it sees now, per subject: a severity, "clear" (null), or
// nothing at all when its input is stale or unknown — a stale value raises nothing. Hold times,
// pending → firing → resolved and re-opening live in engine.ts; hysteresis lives here, because
// only the rule knows which side of its threshold is "better".
import type { SensorHealth, Severity } from '../../core/types.ts';
import { MANUAL_DEVICE } from '../../config/schema.ts';
import { fmt, shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import { nightFlow, observeTanks, tankDrop } from './water.ts';
import { leaveOutStuck, sensorStuck } from './stuck.ts';
import { powerOut } from './power.ts';
import type { Condition, RuleInput, Sample } from './rule-types.ts';

export const SEVERITY_RANK: Record<Severity, number> = { watch: 1, warning: 2, critical: 3 };

/**
 * Pick a level with hysteresis: a level already held (or a higher one) stays until the value
 * has moved `hyst` back past the threshold, so a value wobbling on a threshold keeps one level.
 */
export function leveled(value: number, levels: [Severity, number][], dir: 'below' | 'above', hyst: number, held: Severity | null): Severity | null {
  const heldRank = held ? SEVERITY_RANK[held] : 0;
  for (const [sev, threshold] of [...levels].sort((a, b) => SEVERITY_RANK[b[0]] - SEVERITY_RANK[a[0]])) {
    const relaxed = heldRank >= SEVERITY_RANK[sev];
    const t = dir === 'below' ? threshold + (relaxed ? hyst : 0) : threshold - (relaxed ? hyst : 0);
    if (dir === 'below' ? value <= t : value >= t) return sev;
  }
  return null;
}

const maxSev = (a: Severity | null, b: Severity | null): Severity | null => (!a ? b : !b ? a : SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b);

// ---- memory the rules keep between evaluations (samples, learned draw), persisted by alerting

function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * (v.length - 1) + 0.5))]!;
}

/** Run every enabled rule; subjects with unknown input are left out (no change). */
export function evaluateRules(input: RuleInput): Condition[] {
  const out: Condition[] = [];
  const p = input.params;
  if (p.sensor_offline.enabled) out.push(...sensorOffline(input));
  out.push(...sensorStuck(input));
  // the rules below read a stuck sensor (and one settling after it) as stale: it raises nothing
  const view = leaveOutStuck(input);
  if (p.water_low.enabled) out.push(...waterLow(view));
  // the water rules always learn (a tank's usual draw, its nights); they raise only when enabled
  observeTanks(view);
  out.push(...tankDrop(view));
  out.push(...nightFlow(view));
  if (p.battery_low.enabled) out.push(...batteryLow(input));
  out.push(...powerUnstable(input));
  out.push(...powerOut(input));
  out.push(...coldAboveSafe(view));
  out.push(...storm(input));
  return out;
}

/** each device's name by id, once per config (the rule asks for every device at every judgement) */
const names = new WeakMap<RuleInput['config'], Map<string, string>>();
function deviceNames(config: RuleInput['config']): Map<string, string> {
  let m = names.get(config);
  if (!m) {
    m = new Map();
    const seen = new Set<string>();
    for (const d of config.devices) {
      // the first device of an id, as a search would find it
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      if (d.name != null) m.set(d.id, d.name);
    }
    names.set(config, m);
  }
  return m;
}

function sensorOffline({ sensors, now, params, mem, config }: RuleInput): Condition[] {
  const p = params.sensor_offline;
  const byDevice = new Map<string, SensorHealth[]>();
  for (const s of sensors) {
    // people, not a device, read a manual sensor: a late dipstick shows as stale on the page
    if (s.device === MANUAL_DEVICE) continue;
    const list = byDevice.get(s.device);
    if (list) list.push(s);
    else byDevice.set(s.device, [s]);
  }
  const out: Condition[] = [];
  for (const [device, list] of byDevice) {
    const name = deviceNames(config).get(device) ?? device;
    const counted = list.filter((s) => s.stale || s.device_online === false || s.last_seen === null);
    if (!counted.length) {
      delete mem.missing[device];
      out.push({ rule: 'sensor_offline', subject: device, domain: 'sensors', severity: null, value: null, title: `${name} is reporting`, detail: '' });
      continue;
    }
    // Missing counts only while tend runs: from when this run first saw it missing, and not
    // before the start-up grace is over (devices that dropped as tend stopped reconnect). Until
    // then nothing changes: no new alert, and an alert from before a restart stays as it was.
    const since = (mem.missing[device] ??= now);
    if (now < Math.max(since + p.missing_s * 1000, mem.startedAt + p.startup_grace_s * 1000)) continue;
    const last =
      counted
        .map((s) => s.last_seen)
        .filter((x): x is string => !!x)
        .sort()
        .at(-1) ?? null;
    const say = sayIn(config.village.language);
    const said = list.some((s) => s.device_online === false) ? say('alert.sensor_offline.said_offline', ' and said it is offline') : '';
    const names = counted.map((s) => s.name).join(', ');
    out.push({
      rule: 'sensor_offline',
      subject: device,
      domain: 'sensors',
      severity: 'watch',
      value: counted.length,
      title: say('alert.sensor_offline.title', '{device} is not reporting', { device: name }),
      detail: say(
        'alert.sensor_offline.detail',
        'No current readings from {sensors}{said}{last}. Their old values are shown as stale and raise no other alerts.',
        {
          sensors: names,
          said,
          last: last
            ? say('alert.sensor_offline.last_heard', '; last heard {time}', { time: shortTime(last, config.village.timezone) })
            : say('alert.sensor_offline.never_heard', '; never heard'),
        },
      ),
    });
  }
  return out;
}

function waterLow({ status, params, held, config }: RuleInput): Condition[] {
  const p = params.water_low;
  const w = status.water;
  // a stale tank makes the totals uncertain: no change either way until it reports again
  if (!w.tanks.length || w.tanks.some((t) => t.stale || t.liters === null) || w.percent === null) return [];
  const h = held('water_low', 'water');
  const byPercent = leveled(
    w.percent,
    [
      ['watch', p.watch_percent],
      ['warning', p.warning_percent],
      ['critical', p.critical_percent],
    ],
    'below',
    p.hysteresis_percent,
    h,
  );
  const byDays =
    w.days_left_minimum === null
      ? null
      : leveled(
          w.days_left_minimum,
          [
            ['watch', p.watch_days_minimum],
            ['warning', p.warning_days_minimum],
            ['critical', p.critical_days_minimum],
          ],
          'below',
          p.hysteresis_days,
          h,
        );
  const sev = maxSev(byPercent, byDays);
  const say = sayIn(config.village.language);
  const days =
    w.days_left_minimum === null
      ? ''
      : say('alert.water_low.detail_days', ', about {days} days at minimum use ({lpd} L a person a day)', {
          days: fmt(w.days_left_minimum, 1),
          lpd: config.village.minimum_water_lpd,
        });
  return [
    {
      rule: 'water_low',
      subject: 'water',
      domain: 'water',
      severity: sev,
      value: w.percent,
      title: sev
        ? say('alert.water_low.title', 'Water reserve is low: {percent}% full', { percent: fmt(w.percent) }) +
          (w.days_left_minimum === null ? '' : say('alert.water_low.title_days', ', {days} days at minimum use', { days: fmt(w.days_left_minimum, 1) }))
        : `Water reserve at ${fmt(w.percent)}%`,
      detail: say('alert.water_low.detail', 'The tanks hold {liters} L of {capacity} L{days}.', {
        liters: fmt(w.liters ?? 0),
        capacity: fmt(w.capacity_liters),
        days,
      }),
    },
  ];
}

function batteryLow({ status, params, held, config }: RuleInput): Condition[] {
  const p = params.battery_low;
  const pw = status.power;
  if (pw.stale || pw.soc_percent === null) return [];
  const sev = leveled(
    pw.soc_percent,
    [
      ['watch', p.watch_percent],
      ['warning', p.warning_percent],
      ['critical', p.critical_percent],
    ],
    'below',
    p.hysteresis_percent,
    held('battery_low', 'battery'),
  );
  const say = sayIn(config.village.language);
  const hours =
    pw.hours_left === null
      ? ''
      : say('alert.battery_low.detail_hours', ' That is about {hours} hours at the current load, not counting solar.', { hours: fmt(pw.hours_left, 1) });
  return [
    {
      rule: 'battery_low',
      subject: 'battery',
      domain: 'power',
      severity: sev,
      value: pw.soc_percent,
      title: sev
        ? say('alert.battery_low.title', 'Battery bank is low: {percent}% charged', { percent: fmt(pw.soc_percent) })
        : `Battery bank at ${fmt(pw.soc_percent)}%`,
      detail: say('alert.battery_low.detail', 'Usable energy left: {kwh} kWh.{hours}', { kwh: fmt(pw.usable_kwh ?? 0, 1), hours }),
    },
  ];
}

function powerUnstable({ sensors, now, params, mem, held, config }: RuleInput): Condition[] {
  const p = params.power_unstable;
  const volt = sensors.filter((s) => s.kind === 'battery_voltage');
  const load = sensors.filter((s) => s.kind === 'load_power');
  if (!volt.length && !load.length) return [];
  /** keep keepMs of readings, and at least keepN (never older than six times keepMs) */
  const take = (list: SensorHealth[], into: Sample[], keepMs: number, keepN = 0) => {
    for (const s of list) {
      if (s.stale || s.value === null || s.last_seen === null) continue;
      if (mem.lastSeen[s.id] === s.last_seen) continue;
      mem.lastSeen[s.id] = s.last_seen;
      into.push({ t: Date.parse(s.last_seen), v: s.value });
    }
    while (into.length && into[0]!.t < now - keepMs && (into.length > keepN || into[0]!.t < now - 6 * keepMs)) into.shift();
  };
  const before = mem.load.length;
  // the swing window holds at least window_readings readings: a monitor reporting every 5 minutes
  // gives a 10-minute window only 3, too few to tell a swinging supply from one odd reading
  take(volt, mem.voltage, p.window_s * 1000, p.window_readings);
  take(load, mem.load, p.shed_window_s * 1000);
  // a load shed: one reading to the next, the load falls by shed_fraction or more
  for (let i = Math.max(1, before); i < mem.load.length; i++) {
    const a = mem.load[i - 1]!.v,
      b = mem.load[i]!.v;
    if (a >= p.shed_min_w && b <= a * (1 - p.shed_fraction)) mem.sheds.push(mem.load[i]!.t);
  }
  while (mem.sheds.length && mem.sheds[0]! < now - p.shed_window_s * 1000) mem.sheds.shift();
  const fresh = [...volt, ...load].some((s) => !s.stale && s.value !== null);
  if (!fresh) return [];
  const h = held('power_unstable', 'power');
  const swingLimit = h ? p.swing_fraction * 0.6 : p.swing_fraction;
  let swing = 0,
    lo = 0,
    hi = 0,
    away = 0;
  if (mem.voltage.length >= 3) {
    const v = mem.voltage.map((s) => s.v);
    lo = Math.min(...v);
    hi = Math.max(...v);
    const med = percentile(v, 0.5);
    swing = med > 0 ? (hi - lo) / med : 0;
    // how many readings make the swing: those half of it away from the median
    away = med > 0 ? v.filter((x) => Math.abs(x - med) >= (swingLimit / 2) * med).length : 0;
  }
  const awayLimit = h ? Math.max(1, p.swing_readings - 1) : p.swing_readings;
  const shedLimit = h ? Math.max(1, p.shed_count - 1) : p.shed_count;
  // one odd reading (a sag as a pump starts) is not a swing: it has to persist over several readings
  const swinging = swing >= swingLimit && away >= awayLimit;
  const spanMin = mem.voltage.length ? Math.max(p.window_s, (mem.voltage.at(-1)!.t - mem.voltage[0]!.t) / 1000) / 60 : p.window_s / 60;
  const shedding = mem.sheds.length >= shedLimit;
  const say = sayIn(config.village.language);
  const parts: string[] = [];
  if (swinging)
    parts.push(
      say('alert.power_unstable.swing', 'battery voltage swinging between {low} and {high} V within {minutes} minutes', {
        low: fmt(lo, 1),
        high: fmt(hi, 1),
        minutes: fmt(spanMin),
      }),
    );
  if (shedding)
    parts.push(
      say('alert.power_unstable.shedding', 'the load dropped sharply {count} times within {minutes} minutes (load shedding)', {
        count: mem.sheds.length,
        minutes: fmt(p.shed_window_s / 60),
      }),
    );
  if (!p.enabled) return [];
  return [
    {
      rule: 'power_unstable',
      subject: 'power',
      domain: 'power',
      severity: swinging || shedding ? 'warning' : null,
      value: Math.round(swing * 1000) / 10,
      title: swinging || shedding ? say('alert.power_unstable.title', 'Power supply is unstable') : 'Power supply is steady',
      detail: parts.length ? say('alert.power_unstable.detail', 'Seen: {what}.', { what: parts.join('; ') }) : '',
    },
  ];
}

function coldAboveSafe({ status, now, params, mem, held, config }: RuleInput): Condition[] {
  const p = params.cold_above_safe;
  const out: Condition[] = [];
  for (const u of status.cold.units) {
    const m = (mem.cold[u.id] ??= { aboveSince: null });
    if (u.stale || u.temp_c === null) continue;
    const h = held('cold_above_safe', u.id);
    const limit = m.aboveSince !== null || h ? u.safe_max_c - p.hysteresis_c : u.safe_max_c;
    const above = u.temp_c > limit;
    if (above) m.aboveSince ??= u.last_seen ? Math.min(now, Date.parse(u.last_seen)) : now;
    else m.aboveSince = null;
    if (!p.enabled) continue;
    if (!above) {
      out.push({ rule: 'cold_above_safe', subject: u.id, domain: 'cold', severity: null, value: u.temp_c, title: `${u.name} is cold enough`, detail: '' });
      continue;
    }
    const mins = (now - m.aboveSince!) / 60_000;
    // food safety: watch after 15 min (hold_s), critical after 2 h above the safe temperature
    const sev: Severity = mins * 60 >= p.critical_after_s ? 'critical' : 'watch';
    const say = sayIn(config.village.language);
    out.push({
      rule: 'cold_above_safe',
      subject: u.id,
      domain: 'cold',
      severity: sev,
      value: u.temp_c,
      title: say('alert.cold_above_safe.title', '{unit} is above its safe {safe} °C: now {temp} °C', {
        unit: u.name,
        safe: fmt(u.safe_max_c, 1),
        temp: fmt(u.temp_c, 1),
      }),
      detail: say(
        'alert.cold_above_safe.detail',
        'Above safe for about {minutes} minutes{door}. Food kept above safe temperature for more than {hours} hours is at risk.',
        {
          minutes: fmt(mins),
          door: u.door_open ? say('alert.cold_above_safe.door_open', '; its door is open') : '',
          hours: fmt(p.critical_after_s / 3600, 1),
        },
      ),
    });
  }
  return out;
}

function storm({ status, sensors, now, params, mem, held, config }: RuleInput): Condition[] {
  const p = params.storm;
  const gustSensors = sensors.filter((s) => s.kind === 'wind_gust' || s.kind === 'wind_speed');
  for (const s of gustSensors) {
    if (s.stale || s.value === null || s.last_seen === null || mem.lastSeen[s.id] === s.last_seen) continue;
    mem.lastSeen[s.id] = s.last_seen;
    mem.gusts.push({ t: Date.parse(s.last_seen), v: s.value });
  }
  while (mem.gusts.length && mem.gusts[0]!.t < now - p.gust_window_s * 1000) mem.gusts.shift();
  const w = status.weather;
  const tendency = w.stale ? null : w.pressure_tendency_hpa_3h;
  const gust = mem.gusts.length ? Math.max(...mem.gusts.map((g) => g.v)) : null;
  if (tendency === null && gust === null) return [];
  if (!p.enabled) return [];
  const h = held('storm', 'weather');
  const byPressure =
    tendency === null
      ? null
      : leveled(
          -tendency,
          [
            ['watch', p.watch_fall_hpa_3h],
            ['warning', p.warning_fall_hpa_3h],
          ],
          'above',
          p.hysteresis_hpa,
          h,
        );
  const byGust =
    gust === null
      ? null
      : leveled(
          gust,
          [
            ['watch', p.watch_gust_ms],
            ['warning', p.warning_gust_ms],
          ],
          'above',
          p.hysteresis_ms,
          h,
        );
  const sev = maxSev(byPressure, byGust);
  const say = sayIn(config.village.language);
  const facts: string[] = [];
  if (tendency !== null) {
    const hpa = fmt(Math.abs(tendency), 1);
    facts.push(
      (tendency <= 0
        ? say('alert.storm.pressure_fell', 'pressure fell {hpa} hPa in 3 hours', { hpa })
        : say('alert.storm.pressure_rose', 'pressure rose {hpa} hPa in 3 hours', { hpa })) +
        (w.pressure_hpa !== null ? say('alert.storm.pressure_now', ' (now {hpa} hPa)', { hpa: fmt(w.pressure_hpa) }) : ''),
    );
  }
  if (gust !== null)
    facts.push(say('alert.storm.gusts', 'gusts up to {ms} m/s in the last {minutes} minutes', { ms: fmt(gust, 1), minutes: fmt(p.gust_window_s / 60) }));
  const word = sev === 'watch' ? say('alert.storm.watch', 'Storm watch') : say('alert.storm.warning', 'Storm warning');
  return [
    {
      rule: 'storm',
      subject: 'weather',
      domain: 'weather',
      severity: sev,
      value: gust ?? (tendency === null ? null : -tendency),
      title: sev ? say('alert.storm.title', '{word}: {facts}', { word, facts: facts.join(', ') }) : 'Weather is calm',
      detail: sev
        ? say(
            'alert.storm.detail',
            'Measured at the village mast. Falling {watch_hpa} hPa in 3 hours is "quickly", {warning_hpa} "very quickly"; {watch_ms} m/s is gale force, {warning_ms} m/s storm force.',
            { watch_hpa: p.watch_fall_hpa_3h, warning_hpa: p.warning_fall_hpa_3h, watch_ms: p.watch_gust_ms, warning_ms: p.warning_gust_ms },
          )
        : '',
    },
  ];
}
