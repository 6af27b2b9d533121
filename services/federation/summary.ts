// What a village tells its neighbours, computed from its own reserve status: a compact summary,
// its open incidents (no notes, no names) and an offer. Pure functions.
import type { Alert, AssemblyPrompt, Incident, Level, ReserveStatus } from '../../core/types.ts';
import { FED_LIMITS, type FedIncidentSummary, type FedSummary, type Quantities } from './topics.ts';

const round1 = (n: number | null): number | null => (n === null || !Number.isFinite(n) ? null : Math.round(n * 10) / 10);
const round0 = (n: number | null): number | null => (n === null || !Number.isFinite(n) ? null : Math.round(n));
// neighbours refuse a summary with impossible figures (impossibleSummary in topics.ts), so one odd
// sensor value must not silence the village: a negative figure goes out as unknown, a percentage
// is held to 0–100
const notNegative = (n: number | null): number | null => (n === null || n < 0 ? null : n);
const percent = (n: number | null): number | null => (n === null ? null : Math.min(100, Math.max(0, n)));

const AT_RISK: Level[] = ['watch', 'strained', 'critical'];

export function summarize(status: ReserveStatus): FedSummary {
  return {
    v: 1,
    at: status.at,
    // the config does not bound the name; neighbours refuse a summary with a longer one
    name: status.village.name.slice(0, FED_LIMITS.name),
    population: status.village.population,
    water_days_current: notNegative(round1(status.water.days_left_current)),
    water_days_minimum: notNegative(round1(status.water.days_left_minimum)),
    water_percent: percent(round0(status.water.percent)),
    water_status: status.water.status,
    power_hours_left: notNegative(round1(status.power.hours_left)),
    power_soc_percent: percent(round0(status.power.soc_percent)),
    power_status: status.power.status,
    cold_at_risk: status.cold.units.filter((u) => AT_RISK.includes(u.status)).length,
    cold_status: status.cold.status,
    weather_status: status.weather.status,
    sensors_online: Math.min(status.sensors.online, status.sensors.total),
    sensors_total: status.sensors.total,
  };
}

/** Two summaries say the same thing when everything but the time matches (values are rounded). */
export function sameNews<T extends { at?: string }>(a: T | null, b: T | null): boolean {
  if (!a || !b) return a === b;
  const { at: _a, ...ra } = a;
  const { at: _b, ...rb } = b;
  return JSON.stringify(ra) === JSON.stringify(rb);
}

const FIGURES = ['water_days_current', 'water_days_minimum', 'water_percent', 'power_hours_left', 'power_soc_percent'] as const;

/**
 * Worth telling the neighbours at once: a status level, cold units at risk or sensors online
 * changed, or a figure moved by more than 5 % (at least one step of its rounding). Smaller drifts
 * (power hours wobble with every load reading) ride on the next heartbeat, to spare radio links.
 */
export function significantChange(prev: FedSummary | null, next: FedSummary): boolean {
  if (!prev) return true;
  if (
    prev.water_status !== next.water_status ||
    prev.power_status !== next.power_status ||
    prev.cold_status !== next.cold_status ||
    prev.weather_status !== next.weather_status ||
    prev.cold_at_risk !== next.cold_at_risk ||
    prev.sensors_online !== next.sensors_online ||
    prev.sensors_total !== next.sensors_total ||
    prev.name !== next.name ||
    prev.population !== next.population
  )
    return true;
  for (const k of FIGURES) {
    const a = prev[k] ?? null;
    const b = next[k] ?? null;
    if (a === null || b === null) {
      if (a !== b) return true;
      continue;
    }
    if (Math.abs(a - b) > Math.max(k.endsWith('percent') ? 1 : 0.1, Math.abs(a) * 0.05)) return true;
  }
  return false;
}

export interface OfferPolicy {
  population: number;
  /** Sphere minimum, litres per person per day */
  minimum_lpd: number;
  /** days of water at the larger of minimum and current use the village keeps for itself */
  margin_days: number;
}

/** A computed offer: its words, and what it counts (the water it shares, rounded down as said). */
export interface ComputedOffer {
  text: string;
  quantities: Quantities;
}

/** "about 4,000": rounded down, so a village never offers more than it has. */
export function roughLitres(l: number): string {
  return roughLitresValue(l).toLocaleString('en-US');
}

/** the figure behind roughLitres */
export function roughLitresValue(l: number): number {
  const step = l < 1000 ? 100 : l < 10_000 ? 500 : 1000;
  return Math.floor(l / step) * step;
}

/** The offer's words alone (see computedOffer); null when nothing. */
export function computeOffer(status: ReserveStatus, policy: OfferPolicy): string | null {
  return computedOffer(status, policy)?.text ?? null;
}

/**
 * What the village could share, computed from its reserves; null when nothing.
 * Water: what is left above `margin_days` at the larger of minimum use and the village's daily
 * use (the last 24 h, as the status has it: an hour's draw × 24 would swing with the time of
 * day, offering most at night). While the daily use is not known yet, the minimum stands alone.
 * Power: spare charging capacity when the bank is nearly full and the sun covers the load.
 */
export function computedOffer(status: ReserveStatus, policy: OfferPolicy): ComputedOffer | null {
  const parts: string[] = [];
  const quantities: Quantities = {};
  const w = status.water;
  if (w.liters !== null && (w.status === 'ok' || w.status === 'watch')) {
    const minimumPerDay = policy.population * policy.minimum_lpd;
    const dailyUse = w.daily_use_liters ?? null;
    const currentPerDay = dailyUse !== null && dailyUse > 0 ? dailyUse : 0;
    const keep = Math.max(minimumPerDay, currentPerDay) * policy.margin_days;
    const spare = w.liters - keep;
    if (spare >= 500) {
      parts.push(`can share about ${roughLitres(spare)} litres of water`);
      quantities.water_liters = roughLitresValue(spare);
    }
  }
  const p = status.power;
  if (
    p.soc_percent !== null &&
    p.soc_percent >= 80 &&
    p.solar_w !== null &&
    p.load_w !== null &&
    p.solar_w > p.load_w &&
    !p.stale &&
    p.status !== 'critical' &&
    p.status !== 'strained'
  ) {
    parts.push('spare charging capacity (battery charged, sun above load)');
  }
  return parts.length ? { text: parts.join('; '), quantities } : null;
}

/**
 * Open incidents as neighbours see them: ids, times, domains and generated titles only.
 * Prompt notes and anything people typed stay home.
 */
export function summarizeIncidents(incidents: Iterable<Incident>, prompts: Iterable<AssemblyPrompt>, alerts: Iterable<Alert>): FedIncidentSummary[] {
  const headlines = new Map<string, string>();
  for (const p of prompts) if (p.status === 'open') headlines.set(p.incident_id, p.headline.slice(0, FED_LIMITS.headline));
  const titles = new Map<string, string[]>();
  for (const a of alerts) {
    if (!a.incident_id || a.state === 'resolved') continue;
    const list = titles.get(a.incident_id) ?? [];
    if (list.length < FED_LIMITS.alertsPerIncident) list.push(a.title.slice(0, FED_LIMITS.alertTitle));
    titles.set(a.incident_id, list);
  }
  const out: FedIncidentSummary[] = [];
  for (const i of incidents) {
    if (i.closed_at) continue;
    out.push({
      id: i.id.slice(0, FED_LIMITS.incidentId),
      opened_at: i.opened_at,
      domains: i.domains.slice(0, FED_LIMITS.domainsPerIncident),
      crisis: i.crisis,
      exercise: i.exercise,
      headline: headlines.get(i.id) ?? null,
      alerts: titles.get(i.id) ?? [],
    });
  }
  out.sort((a, b) => a.opened_at.localeCompare(b.opened_at));
  return out.slice(-FED_LIMITS.openIncidents);
}
