// The federation's wire format: topics under fed/<village>/ on a broker the villages share, and
// the JSON payloads (all retained, QoS 1). Pure functions only; services/federation/README.md
// documents them for other implementations.
//
// Payloads are parsed leniently (unknown keys are ignored, so a newer village can add fields)
// but every field tend uses is checked: a neighbour's bad message is refused and counted, never
// shown and never a crash.
import { z } from 'zod';

export const FED_ROOT = 'fed';
export const FED_KINDS = ['summary', 'incidents', 'offer', 'need', 'link'] as const;
export type FedKind = (typeof FED_KINDS)[number];

/** Largest payload tend accepts from a neighbour (the biggest, incidents, is a few kB). */
export const FED_MAX_PAYLOAD_BYTES = 16 * 1024;

/**
 * Lengths and counts the wire format allows, stated once: the publisher cuts its news to them
 * (summary.ts) and refuses a longer offer (Federation.setOffer), the receiver refuses past them
 * (the schemas below), so a village never publishes what its neighbours would refuse.
 */
export const FED_LIMITS = {
  /** a village's display name */
  name: 120,
  incidentId: 120,
  domain: 20,
  domainsPerIncident: 8,
  headline: 300,
  alertTitle: 300,
  alertsPerIncident: 20,
  openIncidents: 20,
  /** offer text, on the page and on the wire */
  offer: 500,
  /** need text, on the page and on the wire */
  need: 500,
} as const;

/**
 * What an offer or a need may count, beside its words: water and freezer space in litres, stored
 * power in kWh, hands in people. Each is bounded to what a federation of villages could hold, so a
 * neighbour's typo or lie cannot show as a million litres.
 */
export const QUANTITY_KINDS = ['water_liters', 'power_kwh', 'freezer_liters', 'hands'] as const;
export type QuantityKind = (typeof QUANTITY_KINDS)[number];
export type Quantities = Partial<Record<QuantityKind, number>>;
export const QUANTITY_MAX: Record<QuantityKind, number> = {
  water_liters: 10_000_000,
  power_kwh: 100_000,
  freezer_liters: 1_000_000,
  hands: 10_000,
};

const villageId = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function fedTopic(village: string, kind: FedKind): string {
  return `${FED_ROOT}/${village}/${kind}`;
}

/** The topic filters a village subscribes to ([MQTT-4.7.1-3]: '+' matches one level). */
export const FED_SUBSCRIPTIONS = FED_KINDS.map((k) => `${FED_ROOT}/+/${k}`);

/** `fed/<village>/<kind>` → its parts; null for anything else (other tools may share the tree). */
export function parseFedTopic(topic: string): { village: string; kind: FedKind } | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== FED_ROOT) return null;
  const [, village, kind] = parts as [string, string, string];
  if (!villageId.test(village)) return null;
  if (!(FED_KINDS as readonly string[]).includes(kind)) return null;
  return { village, kind: kind as FedKind };
}

const level = z.enum(['ok', 'watch', 'strained', 'critical', 'unknown']).catch('unknown');
const num = z.number().nullable();
const count = z.number().int().nonnegative();
const iso = z
  .string()
  .max(40)
  .refine((s) => Number.isFinite(Date.parse(s)), 'not an ISO-8601 time');
const text = (max: number) => z.string().max(max);

export const summarySchema = z.object({
  v: z.literal(1),
  at: iso,
  name: text(FED_LIMITS.name).optional(),
  population: count.optional(),
  water_days_current: num,
  water_days_minimum: num,
  water_percent: num.optional(),
  water_status: level.optional(),
  power_hours_left: num,
  power_soc_percent: num.optional(),
  power_status: level.optional(),
  cold_at_risk: count,
  cold_status: level.optional(),
  weather_status: level.optional(),
  sensors_online: count,
  sensors_total: count,
});
export type FedSummary = z.infer<typeof summarySchema>;

export const incidentSummarySchema = z.object({
  id: text(FED_LIMITS.incidentId),
  opened_at: iso,
  domains: z.array(text(FED_LIMITS.domain)).max(FED_LIMITS.domainsPerIncident),
  crisis: z.boolean(),
  exercise: z.boolean().default(false),
  /** the assembly prompt's headline, when one is open (measured facts, no names) */
  headline: text(FED_LIMITS.headline).nullable().default(null),
  /** alert titles (generated from rules, never people's notes) */
  alerts: z.array(text(FED_LIMITS.alertTitle)).max(FED_LIMITS.alertsPerIncident).default([]),
});
export type FedIncidentSummary = z.infer<typeof incidentSummarySchema>;

export const incidentsSchema = z.object({
  v: z.literal(1),
  at: iso,
  open: z.array(incidentSummarySchema).max(FED_LIMITS.openIncidents),
});
export type FedIncidents = z.infer<typeof incidentsSchema>;

/** one quantity: a finite number from 0 to its bound (litres and kWh may be fractional, hands are whole) */
const quantity = (k: QuantityKind) => (k === 'hands' ? z.number().int() : z.number()).finite().min(0).max(QUANTITY_MAX[k]).optional();
const quantities = {
  water_liters: quantity('water_liters'),
  power_kwh: quantity('power_kwh'),
  freezer_liters: quantity('freezer_liters'),
  hands: quantity('hands'),
};

export const offerSchema = z.object({
  v: z.literal(1),
  at: iso,
  text: text(FED_LIMITS.offer).nullable(),
  withdrawn: z.boolean().default(false),
  source: z.enum(['computed', 'edited', 'config', 'none']).catch('computed'),
  /** additive: what the offer counts, when it says (a village before needs sent none) */
  ...quantities,
});
export type FedOffer = z.infer<typeof offerSchema>;

/** What a village has said it needs; `text` null: it needs nothing from the neighbours now. */
export const needSchema = z.object({
  v: z.literal(1),
  at: iso,
  text: text(FED_LIMITS.need).nullable(),
  ...quantities,
});
export type FedNeed = z.infer<typeof needSchema>;

export const linkSchema = z.object({
  v: z.literal(1),
  state: z.enum(['online', 'offline']),
  at: iso.optional(),
});
export type FedLink = z.infer<typeof linkSchema>;

export type FedMessage =
  | { kind: 'summary'; body: FedSummary }
  | { kind: 'incidents'; body: FedIncidents }
  | { kind: 'offer'; body: FedOffer }
  | { kind: 'need'; body: FedNeed }
  | { kind: 'link'; body: FedLink }
  /** an empty retained payload: the village cleared this topic ([MQTT-3.3.1-10]) */
  | { kind: FedKind; body: null };

/**
 * Why a neighbour's message was refused: it could not be read (too_large, not_utf8, not_json,
 * bad_fields), its figures cannot be true (impossible), or its display name is another village's
 * (name_copied; checked by the federation against the villages it knows).
 */
export type FedRejectReason = 'too_large' | 'not_utf8' | 'not_json' | 'bad_fields' | 'impossible' | 'name_copied';

export class FedPayloadError extends Error {
  constructor(
    readonly reason: FedRejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

const schemas = { summary: summarySchema, incidents: incidentsSchema, offer: offerSchema, need: needSchema, link: linkSchema };

/** Decode one neighbour payload; throws FedPayloadError with the reason to count. */
export function decodeFed(kind: FedKind, payload: Buffer): FedMessage {
  if (payload.length === 0) return { kind, body: null };
  if (payload.length > FED_MAX_PAYLOAD_BYTES) throw new FedPayloadError('too_large', `${payload.length} bytes (at most ${FED_MAX_PAYLOAD_BYTES})`);
  let textBody: string;
  try {
    textBody = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw new FedPayloadError('not_utf8', 'payload is not UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(textBody);
  } catch {
    throw new FedPayloadError('not_json', 'payload is not JSON');
  }
  const parsed = schemas[kind].safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new FedPayloadError('bad_fields', first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'bad fields');
  }
  if (kind === 'summary') {
    const problem = impossibleSummary(parsed.data as FedSummary);
    if (problem) throw new FedPayloadError('impossible', problem);
  }
  return { kind, body: parsed.data } as FedMessage;
}

const DAYS_AND_HOURS = ['water_days_current', 'water_days_minimum', 'power_hours_left'] as const;
const PERCENTS = ['water_percent', 'power_soc_percent'] as const;

/**
 * What no village's reserves can be: negative days or hours, a percentage outside 0–100, more
 * sensors online than it has, a number that is not finite. Such a summary is a broken or lying
 * village, and is refused rather than shown on the page and in prompts. null when it is possible.
 */
export function impossibleSummary(s: FedSummary): string | null {
  for (const k of DAYS_AND_HOURS) {
    const v = s[k];
    if (v !== null && !(Number.isFinite(v) && v >= 0)) return `${k} is ${v}; it cannot be negative`;
  }
  for (const k of PERCENTS) {
    const v = s[k];
    if (v !== null && v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 100)) return `${k} is ${v}; a percentage is 0–100`;
  }
  if (s.sensors_online > s.sensors_total) return `sensors_online is ${s.sensors_online}, more than sensors_total ${s.sensors_total}`;
  return null;
}
