// The page's "exercise": a storm with a leaking tank, unstable power and a warming fridge, raised
// as alerts marked "Exercise" in their own incident, so the village rehearses the assembly without
// real data being touched. CAP status is Exercise.
//
// An exercise is told in its practice figures throughout: its prompt is built from the real
// status with the practice events laid over it (practiceStatus), so the leak shows in the water
// days, the warm fridge in the cold units at risk and in the food-safety window, and no section of
// the prompt contradicts another. It ends by itself at `until`, or earlier from the page.
import type { Config } from '../../config/schema.ts';
import { fmt, shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import type { Alert, ColdUnitStatus, Level, ReserveStatus, TankStatus } from '../../core/types.ts';
import { RAISED_PREFIX } from '../alerts/book.ts';

/** The practice figures. The fridge has been warm for a while when the exercise starts: past the 15-minute watch, well inside the 2-hour window. */
export const PRACTICE = { fall_hpa_3h: 6.5, gust_ms: 26, wind_ms: 15, leak_lph: 2400, fridge_c: 9, fridge_warm_min: 30 };

/** The alerts of exercise number `seq`, raised at `now`, ending by themselves at `until`. */
export function drillAlerts(config: Config, seq: number, now: number, until: number): Alert[] {
  const tz = config.village.timezone;
  // the practice alerts read like real ones, in the village's language
  const say = sayIn(config.village.language);
  const tank = config.sensors.find((s) => s.kind.startsWith('tank_'));
  const fridge = config.sensors.find((s) => s.kind === 'cold_temp');
  const iso = new Date(now).toISOString();
  const mk = (rule: string, subject: string, domain: Alert['domain'], severity: Alert['severity'], title: string, detail: string, value: number): Alert => ({
    id: `${RAISED_PREFIX}${rule}:${subject}:${seq}`,
    rule,
    subject,
    domain,
    severity,
    state: 'firing',
    title: say('assembly.exercise', 'Exercise: {text}', { text: title }),
    detail,
    value,
    started_at: iso,
    fired_at: iso,
    resolved_at: null,
    exercise: true,
    incident_id: null,
  });
  const drill: Alert[] = [
    mk(
      'storm',
      'weather',
      'weather',
      'warning',
      say('assembly.drill.storm_title', 'Storm warning: pressure fell {hpa} hPa in 3 hours, gusts up to {ms} m/s', {
        hpa: fmt(PRACTICE.fall_hpa_3h, 1),
        ms: fmt(PRACTICE.gust_ms),
      }),
      // the first sentence goes into the prompt's situation: it says when the exercise ends
      say(
        'assembly.drill.storm_detail',
        'A practice storm; the exercise ends by itself at {time}, or earlier when someone ends it from the page. ' +
          'The figures of this exercise are practice figures laid over the real reserves.',
        { time: shortTime(until, tz) },
      ),
      PRACTICE.gust_ms,
    ),
  ];
  if (tank)
    drill.push(
      mk(
        'tank_drop',
        tank.id,
        'water',
        'warning',
        say('alert.tank_drop.title', '{tank} is losing water fast: about {lph} L an hour', { tank: tank.name ?? tank.id, lph: fmt(PRACTICE.leak_lph) }),
        say('assembly.drill.leak_detail', 'A practice leak.'),
        PRACTICE.leak_lph,
      ),
    );
  drill.push(
    mk(
      'power_unstable',
      'power',
      'power',
      'warning',
      say('alert.power_unstable.title', 'Power supply is unstable'),
      say('assembly.drill.power_detail', 'Seen: practice voltage swings and load shedding.'),
      12,
    ),
  );
  if (fridge) {
    const safe = fridge.cold?.safe_max_c ?? 5;
    const warm = mk(
      'cold_above_safe',
      fridge.id,
      'cold',
      'watch',
      say('alert.cold_above_safe.title', '{unit} is above its safe {safe} °C: now {temp} °C', {
        unit: fridge.name ?? fridge.id,
        safe: fmt(safe, 1),
        temp: fmt(PRACTICE.fridge_c, 1),
      }),
      say('assembly.drill.fridge_detail', 'A practice warm fridge, above safe since {time}.', {
        time: shortTime(now - PRACTICE.fridge_warm_min * 60_000, tz),
      }),
      PRACTICE.fridge_c,
    );
    // warm since before the exercise began: the prompt counts the food-safety window from here
    warm.started_at = new Date(now - PRACTICE.fridge_warm_min * 60_000).toISOString();
    drill.push(warm);
  }
  return drill;
}

/** the reserve gives days to two decimals */
const round2 = (x: number) => Math.round(x * 100) / 100;

const RANK: Record<Level, number> = { unknown: -1, ok: 0, watch: 1, strained: 2, critical: 3 };
const atLeast = (l: Level, floor: Level): Level => (RANK[l] >= RANK[floor] ? l : floor);

/**
 * The status an exercise is told in: the real one with the practice events of its still active
 * alerts laid over it. The leaking tank loses its practice litres from the moment it fired, the
 * village draw includes the leak (so the water days say what the leak would mean), the fridge is
 * at its practice temperature for the minutes since it warmed, and the storm blows at its
 * practice gusts. Everything else is the real reserve.
 */
export function practiceStatus(config: Config, real: ReserveStatus, alerts: Alert[], now: number): ReserveStatus {
  const s = structuredClone(real);
  for (const a of alerts) {
    if (a.state === 'resolved') continue;
    if (a.rule === 'storm') {
      Object.assign(s.weather, {
        pressure_tendency_hpa_3h: -PRACTICE.fall_hpa_3h,
        gust_ms: a.value ?? PRACTICE.gust_ms,
        wind_ms: Math.max(s.weather.wind_ms ?? 0, PRACTICE.wind_ms),
        status: atLeast(s.weather.status, 'strained'),
        stale: false,
      });
    } else if (a.rule === 'power_unstable') {
      s.power.status = atLeast(s.power.status, 'strained');
    } else if (a.rule === 'tank_drop') {
      leak(config, s, a, now);
    } else if (a.rule === 'cold_above_safe') {
      warm(config, s, a, now);
    }
  }
  return s;
}

function leak(config: Config, s: ReserveStatus, a: Alert, now: number): void {
  const w = s.water;
  let tank = w.tanks.find((t) => t.id === a.subject);
  if (!tank) {
    // no status yet (an exercise right after start): the tank is known by name only
    const sensor = config.sensors.find((x) => x.id === a.subject);
    tank = {
      id: a.subject,
      name: sensor?.name ?? a.subject,
      liters: null,
      capacity_liters: 0,
      percent: null,
      level_mm: null,
      status: 'unknown',
      last_seen: null,
      stale: false,
    };
    w.tanks.push(tank as TankStatus);
  }
  const lossLph = a.value ?? PRACTICE.leak_lph;
  if (tank.liters !== null) {
    const lost = Math.min(tank.liters, (lossLph * Math.max(0, now - Date.parse(a.fired_at ?? a.started_at))) / 3600_000);
    tank.liters -= lost;
    if (tank.capacity_liters > 0) tank.percent = (tank.liters / tank.capacity_liters) * 100;
    if (w.liters !== null && w.liters > 0) {
      // days at minimum use shrink with the litres, however the reserve counts them
      if (w.days_left_minimum !== null) w.days_left_minimum = round2((w.days_left_minimum * (w.liters - lost)) / w.liters);
      w.liters -= lost;
      if (w.capacity_liters > 0) w.percent = (w.liters / w.capacity_liters) * 100;
    }
  }
  tank.status = atLeast(tank.status, 'strained');
  tank.stale = false;
  // the leak is part of the village's use while it runs: days at current use say what it would mean
  w.draw_lph = (w.draw_lph ?? 0) + lossLph;
  w.daily_use_liters = w.draw_lph * 24;
  w.days_left_current = w.liters === null ? null : round2(w.liters / w.daily_use_liters);
  w.days_left_current_range = null;
  const say = sayIn(config.village.language);
  w.days_left_basis = say('assembly.drill.basis', 'with the practice leak');
  w.status = atLeast(w.status, 'watch');
}

function warm(config: Config, s: ReserveStatus, a: Alert, now: number): void {
  let unit = s.cold.units.find((u) => u.id === a.subject);
  if (!unit) {
    const sensor = config.sensors.find((x) => x.id === a.subject);
    unit = {
      id: a.subject,
      name: sensor?.name ?? a.subject,
      temp_c: null,
      safe_max_c: sensor?.cold?.safe_max_c ?? 5,
      minutes_above_safe: 0,
      door_open: null,
      status: 'unknown',
      last_seen: null,
      stale: false,
    };
    s.cold.units.push(unit as ColdUnitStatus);
  }
  const minutes = Math.max(0, (now - Date.parse(a.started_at)) / 60_000);
  // the food-safety levels of the reserve (watch after 15 min, critical after 2 h)
  const level: Level = minutes >= 120 ? 'critical' : minutes >= 15 ? 'watch' : 'ok';
  Object.assign(unit, { temp_c: a.value ?? PRACTICE.fridge_c, minutes_above_safe: minutes, status: level, stale: false });
  s.cold.status = atLeast(s.cold.status, level);
}

/** A status with nothing known, for an exercise started before the first status was computed. */
export function blankStatus(config: Config, now: number): ReserveStatus {
  const c = config.village;
  return {
    village: { id: c.id, name: c.name, population: c.population },
    at: new Date(now).toISOString(),
    water: { liters: null, capacity_liters: 0, percent: null, draw_lph: null, days_left_current: null, days_left_minimum: null, status: 'unknown', tanks: [] },
    power: {
      soc_percent: null,
      stored_kwh: null,
      usable_kwh: null,
      load_w: null,
      solar_w: null,
      net_w: null,
      hours_left: null,
      voltage_v: null,
      status: 'unknown',
      stale: true,
    },
    cold: { status: 'unknown', units: [] },
    weather: { pressure_hpa: null, pressure_tendency_hpa_3h: null, wind_ms: null, gust_ms: null, rain_mm: null, status: 'unknown', stale: true },
    sensors: { online: 0, total: 0, stale: [], rejected_total: 0 },
    alerts: [],
    assembly: [],
  };
}
