// The shapes the alert rules share: what a rule sees (RuleInput), what it says (Condition), and
// the memory the rules keep between judgements (RuleMemory, persisted by the alert book). Kept
// apart from the rules themselves so rules.ts and the rule files (water, stuck, power) import it
// and not each other.
import type { Config } from '../../config/schema.ts';
import type { AllRuleParams, RuleName } from '../../config/rules.ts';
import type { Domain, ReserveStatus, SensorHealth, Severity } from '../../core/types.ts';

/** One night's draw in the quiet hours, and how it was judged. */
export interface NightDraw {
  /** the local date the night began on */
  night: string;
  /** L/h, from the falls only (refills cut out) */
  flow: number;
  /** its standard error (L/h) */
  se: number;
  /** the usual night draw it was compared with (null: too few earlier nights to judge) */
  baseline: number | null;
  elevated: boolean;
}

export interface TankMemory {
  /** recent (t, litres), at most one a minute, for the current window and the window being learned */
  recent: Sample[];
  /** the tank's draw (L/h) over past refill-free windows, t = the window's end; none while a drop alert is held */
  buckets: Sample[];
  bucketStart: number | null;
  lastSeen: string | null;
  /** the quiet hours being measured: (t, litres), at most one a minute */
  night?: { key: string; samples: Sample[] };
  nights?: NightDraw[];
}

export interface StuckMemory {
  /** the last reading taken in */
  lastSeen: string | null;
  /** the current flat spell: its first and last reading (epoch ms), its range and how many readings; since null: none */
  since: number | null;
  last: number;
  lo: number;
  hi: number;
  n: number;
  /** for each local hour of the day (0–23), when the value last moved in that hour (epoch ms; 0: never) */
  moved: number[];
  /** tanks: recent litres, one mean a minute (t: the mean time of its readings), to see what the other tanks drew */
  recent: MinuteSample[];
  /** tanks: the highest litres of each recent day (t: when it was read) */
  tops: Sample[];
  /** judged stuck now (kept through a stale spell; ends when the value moves), and what showed it */
  stuck: boolean;
  why: string;
  /** after a stuck spell: its readings stay left out of the other rules until then (epoch ms) */
  settleUntil: number | null;
}

export interface LoadMemory {
  lastSeen: string | null;
  /** the stretch being learned: when it began and its readings (W) */
  from: number | null;
  values: number[];
  /** the median load of each past stretch (t: its end) */
  windows: Sample[];
  /** the end of the latest stretch learned in a night's small hours (00:00–06:00 village time) */
  nightAt: number | null;
  /** since when the load has read at or below the floor (epoch ms), and over how many readings */
  lowSince: number | null;
  lowReadings: number;
  /** the last reading (W) */
  last: number | null;
}

/** What a rule sees for one subject right now. */
export interface Condition {
  rule: RuleName;
  subject: string;
  domain: Domain | 'sensors';
  /** null: clear */
  severity: Severity | null;
  value: number | null;
  title: string;
  detail: string;
}

export interface Sample {
  t: number;
  v: number;
}

/** the mean of a minute's readings; n: how many (absent in memory stored before it was kept: one) */
export interface MinuteSample extends Sample {
  n?: number;
}

export interface RuleMemory {
  /** each tank's samples, learned draw and nights (water.ts) */
  tanks: Record<string, TankMemory>;
  voltage: Sample[];
  load: Sample[];
  sheds: number[];
  gusts: Sample[];
  cold: Record<string, { aboveSince: number | null }>;
  lastSeen: Record<string, string | null>;
  /** when this run of tend started: set at every start, never carried over */
  startedAt: number;
  /** since when each device has been missing in this run (epoch ms); set at every start */
  missing: Record<string, number>;
  /** each judged sensor's flat spell, the hours it moves in, a tank's recent litres (stuck.ts) */
  stuck: Record<string, StuckMemory>;
  /** each load sensor's learned usual minimum and its low spell (power.ts) */
  loads: Record<string, LoadMemory>;
}

export interface RuleInput {
  status: ReserveStatus;
  sensors: SensorHealth[];
  now: number;
  config: Config;
  params: AllRuleParams;
  mem: RuleMemory;
  /** the severity an active alert currently holds for rule:subject (for hysteresis) */
  held: (rule: RuleName, subject: string) => Severity | null;
}

export function newMemory(now: number): RuleMemory {
  return { tanks: {}, voltage: [], load: [], sheds: [], gusts: [], cold: {}, lastSeen: {}, startedAt: now, missing: {}, stuck: {}, loads: {} };
}
