// sensor_stuck (defaults in config/rules.ts): a sensor that keeps reporting one value — exactly,
// or within a tiny band — while readings keep arriving and it should be moving. Its figure is then
// not a measurement: condensation on an ultrasonic transducer, a frozen firmware loop, a probe
// stuck in ice. Only kinds that move in ordinary life are judged, each in its own way:
//
// - tanks: flat for tank_s while another tank of the village clearly fell (use is going on, this
//   tank shows none); alone, flat for lone_tank_s. A tank at the top it held in recent days (an
//   overflow or a float valve keeps it there), full, or empty legitimately stays flat: not judged.
// - cold stores (cold_temp): a compressor cycles and doors open; flat for temp_s.
// - barometers (pressure): the air pressure moves through the day; flat for pressure_s.
//
// Every kind is judged only in the hours of the day it moved on earlier days (a school tank that
// nobody draws from in the afternoon is not stuck then). While stuck, and for settle_s after its
// value moves again, its readings are left out of the other rules as a stale value is
// (leaveOutStuck): a stale value raises nothing, so neither the flat spell nor the sudden catch-up
// to the true level is read as use, as a leak, or as a low reserve.
//
// What is learned lives in the rule memory (RuleMemory.stuck), which the alert book persists.
import { fmt, localHour, shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import type { ReserveStatus, SensorHealth, SensorKind, TankStatus } from '../../core/types.ts';
import type { Condition, MinuteSample, RuleInput, Sample, StuckMemory } from './rule-types.ts';
import { firstAfter, firstAtOrAfter, keepBeside } from './samples.ts';

const DAY = 86_400_000;
const MINUTE = 60_000;
const TANK_KINDS = new Set<SensorKind>(['tank_distance', 'tank_pressure', 'tank_level']);
/** the kinds judged: those that move in ordinary life */
const JUDGED = new Set<SensorKind>([...TANK_KINDS, 'cold_temp', 'pressure']);
/** "a fall clearly above the sensor's noise": this many standard errors */
const NOISE_SIGMAS = 3;

const newStuckMemory = (): StuckMemory => ({
  lastSeen: null,
  since: null,
  last: 0,
  lo: 0,
  hi: 0,
  n: 0,
  moved: new Array<number>(24).fill(0),
  recent: [],
  tops: [],
  stuck: false,
  why: '',
  settleUntil: null,
});

/** Whether a sensor's readings are left out of the other rules now: stuck, or settling after it. */
export function untrusted(mem: RuleInput['mem'], id: string, now: number): boolean {
  const m = mem.stuck?.[id];
  return !!m && (m.stuck || (m.settleUntil !== null && now < m.settleUntil));
}

/**
 * The status as the other rules are to read it: tanks and cold stores whose sensor is stuck (or
 * settling after it) are marked stale, which every rule already reads as "no current value,
 * raise nothing, change nothing". The status itself is not changed.
 */
export function leaveOutStuck(input: RuleInput): RuleInput {
  const { status, mem, now } = input;
  const out = (id: string) => untrusted(mem, id, now);
  // a village that turned the rule off (memory from before says stuck) trusts its sensors
  if (!input.params.sensor_stuck.enabled) return input;
  if (!status.water.tanks.some((t) => out(t.id)) && !status.cold.units.some((u) => out(u.id))) return input;
  const view: ReserveStatus = {
    ...status,
    water: { ...status.water, tanks: status.water.tanks.map((t) => (out(t.id) ? { ...t, stale: true } : t)) },
    cold: { ...status.cold, units: status.cold.units.map((u) => (out(u.id) ? { ...u, stale: true } : u)) },
  };
  return { ...input, status: view };
}

type StuckParams = RuleInput['params']['sensor_stuck'];

function band(s: SensorHealth, tank: TankStatus | undefined, p: StuckParams): number {
  if (TANK_KINDS.has(s.kind)) return tank ? (p.tank_band_percent / 100) * tank.capacity_liters : 0;
  return s.kind === 'cold_temp' ? p.temp_band_c : p.pressure_band_hpa;
}

/**
 * A tank's recent litres, one mean a minute: the fall of the others is a slope over hours, and a
 * minute's mean carries what its readings say of it. Kept reading by reading, a tank read every
 * second held 10,800 samples for its three hours, walked at every compute and rewritten with the
 * rule memory every minute: a 500-tank village read every 10 s held 75 MB of heap after 4 h
 * (39 MB a minute at a time), and each compute took twice as long.
 */
function takeMinute(recent: MinuteSample[], ts: number, v: number): void {
  const last = recent.at(-1);
  const minute = Math.floor(ts / MINUTE);
  const lastMinute = last ? Math.floor(last.t / MINUTE) : -Infinity;
  // a reading stamped in an earlier minute than the newest (a device clock stepping back) is left out
  if (minute < lastMinute) return;
  if (!last || minute > lastMinute) {
    recent.push({ t: ts, v, n: 1 });
    return;
  }
  // the same minute: a running mean of its times and litres (memory from before kept no count: one)
  const n = (last.n ?? 1) + 1;
  last.t += (ts - last.t) / n;
  last.v += (v - last.v) / n;
  last.n = n;
}

/** Take a sensor's new reading in: the flat spell, the hours it moves in, a tank's recent litres and daily top. */
function observe(s: SensorHealth, m: StuckMemory, tank: TankStatus | undefined, input: RuleInput): void {
  const p = input.params.sensor_stuck;
  const tz = input.config.village.timezone;
  const ts = Date.parse(s.last_seen!);
  const v = s.value!;
  if (TANK_KINDS.has(s.kind)) {
    takeMinute(m.recent, ts, v);
    while (m.recent.length && m.recent[0]!.t < ts - p.tank_s * 1000 - 3_600_000) m.recent.shift();
    const top = m.tops.at(-1);
    if (top && Math.floor(top.t / DAY) === Math.floor(ts / DAY)) top.v = Math.max(top.v, v);
    else m.tops.push({ t: ts, v });
    while (m.tops.length && m.tops[0]!.t < ts - p.baseline_days * DAY) m.tops.shift();
  }
  if (m.since !== null && Math.max(m.hi, v) - Math.min(m.lo, v) <= band(s, tank, p)) {
    m.lo = Math.min(m.lo, v);
    m.hi = Math.max(m.hi, v);
    m.n++;
    m.last = ts;
    return;
  }
  if (m.since !== null) {
    // it moved
    m.moved[localHour(ts, tz)] = ts;
    if (m.stuck) {
      m.stuck = false;
      const settle = TANK_KINDS.has(s.kind) ? Math.max(p.settle_s, input.params.tank_drop.window_s) : p.settle_s;
      m.settleUntil = ts + settle * 1000;
    }
  }
  Object.assign(m, { since: ts, last: ts, lo: v, hi: v, n: 1 });
}

/** Whether the sensor moved, on recent days, in at least half of the local hours the spell covers. */
function movesInTheseHours(m: StuckMemory, now: number, tz: string, p: StuckParams): boolean {
  const hours = new Set<number>();
  for (let t = m.since!; t <= m.last && hours.size < 24; t += 3_600_000) hours.add(localHour(t, tz));
  hours.add(localHour(m.last, tz));
  let moving = 0;
  for (const h of hours) if (m.moved[h]! > 0 && m.moved[h]! >= now - p.baseline_days * DAY) moving++;
  return moving * 2 >= hours.size;
}

/**
 * The fall (litres) of a tank over `spanMs` by least squares through s[i..j], if clearly above its
 * noise; else null. Walks the samples in place (no copy of the window).
 */
function clearFall(s: Sample[], i: number, j: number, spanMs: number): number | null {
  const n = j - i + 1;
  if (n < 3) return null;
  let st = 0;
  let sv = 0;
  for (let k = i; k <= j; k++) {
    st += s[k]!.t;
    sv += s[k]!.v;
  }
  const mt = st / n;
  const mv = sv / n;
  let sxx = 0;
  let sxy = 0;
  for (let k = i; k <= j; k++) {
    sxx += (s[k]!.t - mt) ** 2;
    sxy += (s[k]!.t - mt) * (s[k]!.v - mv);
  }
  if (sxx <= 0) return null;
  const b = sxy / sxx;
  let res = 0;
  for (let k = i; k <= j; k++) res += (s[k]!.v - mv - b * (s[k]!.t - mt)) ** 2;
  const se = Math.sqrt(res / Math.max(1, n - 2) / sxx);
  return -b > NOISE_SIGMAS * se ? -b * spanMs : null;
}

/** what fallSince() last found for a tank's samples (not enumerable: never written with the memory) */
const FALL = Symbol('the fall over the completed minutes');
type WithFall = MinuteSample[] & { [FALL]?: { first: number; last: number; n: number; span: number; fall: number | null } };

/**
 * A tank's clear fall from `from` to now, over its completed minutes: the minute still filling
 * changes with every reading, the completed ones never do, so the fit is made again when a
 * minute completes or leaves the window (about once a minute), not at every judgement (several a
 * second, for every tank the others are compared with).
 */
function fallSince(s: MinuteSample[], from: number, now: number): number | null {
  const i = firstAtOrAfter(s, from);
  let j = firstAfter(s, now) - 1;
  if (j >= 0 && Math.floor(s[j]!.t / MINUTE) >= Math.floor(now / MINUTE)) j--;
  if (j - i + 1 < 3) return null;
  const c = (s as WithFall)[FALL];
  const span = now - from;
  if (c && c.n === j - i + 1 && c.first === s[i]!.t && c.last === s[j]!.t && c.span === span) return c.fall;
  return keepBeside(s, FALL, { first: s[i]!.t, last: s[j]!.t, n: j - i + 1, span, fall: clearFall(s, i, j, span) }).fall;
}

export function sensorStuck(input: RuleInput): Condition[] {
  const { sensors, status, now, params, mem, config } = input;
  const p = params.sensor_stuck;
  const tz = config.village.timezone;
  const store = (mem.stuck ??= {});
  const tanks = new Map<string, TankStatus>();
  for (const t of status.water.tanks) tanks.set(t.id, t);
  const judged = sensors.filter((s) => JUDGED.has(s.kind));

  for (const s of judged) {
    const m = (store[s.id] ??= newStuckMemory());
    if (m.settleUntil !== null && now >= m.settleUntil) m.settleUntil = null;
    // a gap in the readings ends the spell: "the same value" counts only while readings keep
    // arriving (a sensor already judged stuck stays so until its value moves)
    if (s.stale && !m.stuck) m.since = null;
    if (s.stale || s.value === null || s.last_seen === null || s.last_seen === m.lastSeen) continue;
    m.lastSeen = s.last_seen;
    observe(s, m, tanks.get(s.id), input);
  }

  // The other tanks that can show whether water is being used: fresh, with readings of their own,
  // and trusted themselves. Their clear falls over the last tank_s are the same for every tank
  // judged, so they are worked out once per compute, when a first spell is long enough; whether a
  // tank is trusted is asked at each use, as this loop may find one stuck. (Worked out per tank,
  // a village with many tanks standing unused took seconds a compute.)
  let others: TankStatus[] | null = null;
  let fellOthers: { j: TankStatus; fall: number }[] | null = null;
  const othersOnce = () => (others ??= status.water.tanks.filter((j) => !j.stale && j.liters !== null && store[j.id]));
  const fellOnce = () =>
    (fellOthers ??= othersOnce()
      .map((j) => ({ j, fall: fallSince(store[j.id]!.recent, now - p.tank_s * 1000, now) }))
      .filter((x): x is { j: TankStatus; fall: number } => x.fall !== null && x.fall >= (p.peer_fall_percent / 100) * x.j.capacity_liters));

  const out: Condition[] = [];
  const say = sayIn(config.village.language);
  for (const s of judged) {
    const m = store[s.id]!;
    if (s.stale || s.value === null || m.since === null) continue;
    const tank = tanks.get(s.id);
    const isTank = TANK_KINDS.has(s.kind);
    if (isTank && (!tank || tank.liters === null)) continue;
    const span = m.last - m.since;
    let because = '';
    // once judged stuck it stays so until the value moves (observe ends the spell)
    let stuck = m.stuck;
    // the hours it moves in are asked last: the cheaper tests rule most spells out
    if (!stuck && m.n >= p.min_readings) {
      if (isTank) {
        const t = tank!;
        const cap = t.capacity_liters;
        const v = s.value;
        const top = m.tops.length ? Math.max(...m.tops.map((x) => x.v)) : Number.POSITIVE_INFINITY;
        const resting = v >= (p.full_percent / 100) * cap || v <= (p.empty_percent / 100) * cap || v >= top - (p.top_margin_percent / 100) * cap;
        // the others are looked at only once the spell is long enough for either test
        const long = !resting && span >= Math.min(p.tank_s, p.lone_tank_s) * 1000;
        const peer = (j: TankStatus) => j.id !== t.id && !untrusted(mem, j.id, now);
        const anyPeer = long && othersOnce().some(peer);
        if (anyPeer && span >= p.tank_s * 1000) {
          // whether any fell first: the list (for the message) only for a tank found stuck
          if (fellOnce().some((x) => peer(x.j)) && movesInTheseHours(m, now, tz, p)) {
            stuck = true;
            const fell = fellOnce().filter((x) => peer(x.j));
            const names = fell.map((x) => say('alert.sensor_stuck.tank_fell', '{tank} (about {liters} L)', { tank: x.j.name, liters: fmt(x.fall) }));
            because = say('alert.sensor_stuck.because_tanks', '; in the {hours} hours before it was noticed {tanks} fell', {
              hours: fmt(p.tank_s / 3600, 1),
              tanks: names.length > 1 ? say('alert.list.and', '{first} and {last}', { first: names.slice(0, -1).join(', '), last: names.at(-1)! }) : names[0]!,
            });
          }
        } else if (long && !anyPeer && span >= p.lone_tank_s * 1000 && movesInTheseHours(m, now, tz, p)) {
          stuck = true;
          because = say('alert.sensor_stuck.because_hours', ', though on earlier days it moved at these hours');
        }
      } else if (span >= (s.kind === 'cold_temp' ? p.temp_s : p.pressure_s) * 1000 && movesInTheseHours(m, now, tz, p)) {
        stuck = true;
        because = ', though on earlier days it moved at these hours';
      }
    }
    if (!p.enabled) continue;
    if (stuck && !m.stuck) m.why = because;
    m.stuck = stuck;
    if (!stuck) {
      out.push({ rule: 'sensor_stuck', subject: s.id, domain: 'sensors', severity: null, value: null, title: `${s.name} sensor is moving`, detail: '' });
      continue;
    }
    const value = isTank
      ? say('alert.sensor_stuck.value_liters', 'about {liters} L', { liters: fmt(s.value) })
      : s.kind === 'cold_temp'
        ? `${fmt(s.value, 1)} °C`
        : `${fmt(s.value, 1)} hPa`;
    const leftOut = isTank
      ? say('alert.sensor_stuck.left_out_water', ' Until it moves again it is left out of the water alerts.')
      : s.kind === 'cold_temp'
        ? say('alert.sensor_stuck.left_out_cold', ' Until it moves again it is left out of the cold alerts.')
        : '';
    out.push({
      rule: 'sensor_stuck',
      subject: s.id,
      domain: 'sensors',
      severity: 'watch',
      value: s.value,
      title: say('alert.sensor_stuck.title', '{sensor} sensor may be stuck: the same reading since {time}', { sensor: s.name, time: shortTime(m.since, tz) }),
      detail: say(
        'alert.sensor_stuck.detail',
        'It has reported {value} at each of {count} readings over {hours} hours{why}. Its figure may not be current.{left_out} ' +
          'Condensation, dirt or ice on the sensor, a loose cable or a device that has hung can do this.',
        { value, count: m.n, hours: fmt(span / 3_600_000, 1), why: m.why, left_out: leftOut },
      ),
    });
  }
  return out;
}
