// The page's "exercise": a storm with a leaking tank, unstable power and a warming fridge, raised
// as alerts marked "Exercise" in their own incident, so the village rehearses the assembly on real
// reserve figures without real data being touched. CAP status is Exercise.
import type { Config } from '../../config/schema.ts';
import type { Alert, ReserveStatus } from '../../core/types.ts';
import { RAISED_PREFIX } from '../alerts/book.ts';

/** The alerts of exercise number `seq`, raised at `now`. */
export function drillAlerts(config: Config, seq: number, now: number): Alert[] {
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
    title: `Exercise: ${title}`,
    detail: `${detail} This is a drill; the figures below are the real reserves.`,
    value,
    started_at: iso,
    fired_at: iso,
    resolved_at: null,
    incident_id: null,
  });
  const drill: Alert[] = [
    mk('storm', 'weather', 'weather', 'warning', 'Storm warning: pressure fell 6.5 hPa in 3 hours, gusts up to 26 m/s', 'A practice storm.', 26),
  ];
  if (tank)
    drill.push(mk('tank_drop', tank.id, 'water', 'warning', `${tank.name ?? tank.id} is losing water fast: about 2,400 L an hour`, 'A practice leak.', 2400));
  drill.push(mk('power_unstable', 'power', 'power', 'warning', 'Power supply is unstable', 'Seen: practice voltage swings and load shedding.', 12));
  if (fridge)
    drill.push(mk('cold_above_safe', fridge.id, 'cold', 'watch', `${fridge.name ?? fridge.id} is above its safe temperature`, 'A practice warm fridge.', 9));
  return drill;
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
