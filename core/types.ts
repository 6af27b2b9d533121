// The shared message shapes of tend, defined once (docs/architecture.md, "Data flow").
// device → transport → RawReading → ingest → Reading → state → ReserveStatus → rules → Alert
// → Incident → AssemblyPrompt → outputs.

/** Time source, injected everywhere so tests and `simulate` can run on a fake clock. */
export interface Clock {
  /** epoch milliseconds */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export type Transport = 'mqtt' | 'serial' | 'firmata';

/** What a transport adapter hands to ingest: one metric of one device, not yet validated. */
export interface RawReading {
  device: string;
  metric: string;
  value: number;
  /** epoch ms: the device's own time when it sent one, else receive time; NaN for a retained message without one */
  ts: number;
  source: Transport;
  seq?: number;
  /**
   * true when the message came from a broker's retained store (MQTT RETAIN 1 on a message tend
   * received for its own subscription, [MQTT-3.3.1-8]): the last value the broker kept, not a
   * live one. Without a device `ts` its age is unknown.
   */
  retained?: boolean;
}

export const SENSOR_KINDS = [
  'tank_distance',
  'tank_pressure',
  'tank_level',
  'battery_soc',
  'battery_voltage',
  'load_power',
  'solar_power',
  'cold_temp',
  'door_open',
  'pressure',
  'wind_speed',
  'wind_gust',
  'rain',
] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

export type Domain = 'water' | 'power' | 'cold' | 'weather';

/** An accepted, calibrated reading of one configured sensor. */
export interface Reading {
  sensor: string;
  device: string;
  kind: SensorKind;
  /** the number the device sent (mm, kPa, %, V, W, °C, 0/1, hPa, m/s, mm) */
  raw: number;
  /** engineering value: litres for tanks, otherwise the raw unit */
  value: number;
  /** tank level in mm, for tank kinds */
  level_mm?: number;
  /** epoch ms of the measurement */
  ts: number;
  /**
   * epoch ms when tend received it; for a copy from a broker's retained store, its device time
   * (it is as old as that), or 0 when its age is unknown (stale until a live reading)
   */
  received: number;
  /** true when the device clock was off by more than 10 min and ts was replaced */
  ts_replaced?: boolean;
  /** true when it came from a broker's retained store, not live (RawReading.retained) */
  retained?: boolean;
  /** 'manual': entered by a person (POST /api/readings), with who and a note */
  source: Transport | 'manual';
  seq?: number;
  /** manual readings: who read it, and what they noted */
  by?: string;
  note?: string;
}

/** A reading a person entered (a dipstick, a meter), as the page and /api/sensors show it. */
export interface ManualReading {
  sensor: string;
  /** what the person read: the level in mm for tanks, otherwise the sensor's own unit */
  entered: number;
  /** calibrated like a device's reading: litres for tanks */
  value: number;
  level_mm?: number;
  at: string;
  by: string | null;
  note: string | null;
  /** set when it is far from the sensor's own recent value: kept, and said so */
  flag: string | null;
}

/** Why ingest refused something; counted per device and reason. */
export type RejectReason =
  | 'not_json'
  | 'not_object'
  | 'too_large'
  | 'not_finite'
  | 'unknown_device'
  | 'unknown_metric'
  | 'bad_ts'
  | 'bad_seq'
  | 'bad_checksum'
  | 'bad_sentence'
  | 'line_too_long'
  | 'not_utf8'
  | 'wrong_port'
  | 'out_of_range'
  | 'retained_without_time'
  | 'retained_older';

export type Level = 'ok' | 'watch' | 'strained' | 'critical' | 'unknown';

export interface TankStatus {
  id: string;
  name: string;
  liters: number | null;
  capacity_liters: number;
  percent: number | null;
  level_mm: number | null;
  status: Level;
  /** ISO time of the last accepted reading, null if never */
  last_seen: string | null;
  /** true when the value is older than the staleness window or the device is offline */
  stale: boolean;
  /** this tank's net outflow (L/h, refills excluded); null while unknown or stale */
  draw_lph?: number | null;
}

export interface WaterStatus {
  liters: number | null;
  capacity_liters: number;
  percent: number | null;
  /** net outflow, refills excluded, over a rolling window; null while unknown */
  draw_lph: number | null;
  /** litres ÷ the daily use of the last 24 h (refills never count); null while unknown (README, "How the figures are computed") */
  days_left_current: number | null;
  // the fields below marked optional are always set by the reserve; statuses made elsewhere (drills, tests) may leave them out
  /** [litres ÷ the heaviest, litres ÷ the lightest] known day of use of the last 7; null under 2 known days */
  days_left_current_range?: [number, number] | null;
  /** what days_left_current stands on, e.g. "at the last 24 h of use", "at the 5 h of use seen so far" */
  days_left_basis?: string;
  /** litres a day the village used over the last 24 h (or the hours seen so far, scaled to a day); null while unknown */
  daily_use_liters?: number | null;
  days_left_minimum: number | null;
  /** tanks whose value is stale; their last litres still count in the totals above, which are then not current */
  stale_tanks?: number;
  status: Level;
  tanks: TankStatus[];
}

export interface PowerStatus {
  soc_percent: number | null;
  stored_kwh: number | null;
  usable_kwh: number | null;
  load_w: number | null;
  solar_w: number | null;
  net_w: number | null;
  hours_left: number | null;
  voltage_v: number | null;
  status: Level;
  stale: boolean;
}

export interface ColdUnitStatus {
  id: string;
  name: string;
  temp_c: number | null;
  safe_max_c: number;
  minutes_above_safe: number;
  door_open: boolean | null;
  status: Level;
  last_seen: string | null;
  stale: boolean;
}

export interface WeatherStatus {
  pressure_hpa: number | null;
  /** change over the last 3 h (negative: falling); with 1–3 h of data the change so far scaled to 3 h; null under 1 h */
  pressure_tendency_hpa_3h: number | null;
  wind_ms: number | null;
  gust_ms: number | null;
  rain_mm: number | null;
  status: Level;
  stale: boolean;
}

export interface SensorHealth {
  id: string;
  name: string;
  device: string;
  kind: SensorKind;
  value: number | null;
  raw: number | null;
  last_seen: string | null;
  stale: boolean;
  device_online: boolean | null;
  /** a sensor people read (config manual: true) */
  manual?: boolean;
  /** where the latest value came from: 'manual' when a person entered it */
  source?: 'device' | 'manual' | null;
  /** the latest reading a person entered, if any */
  last_manual?: ManualReading | null;
  /** the broker's last refusal of this sensor's device (GET /api/sensors; absent when none) */
  last_refusal?: DeviceRefusal;
}

/** What the embedded broker refused of a device: a login, a subscribe or a publish. */
export type RefuseAction = 'login' | 'subscribe' | 'publish';

/** A device's last refusal by the broker, for the installer: when, what and why. */
export interface DeviceRefusal {
  at: string;
  action: RefuseAction;
  /** the counted reason (tend_broker_refused_total{reason}) */
  reason: string;
  /** in words, e.g. the topic is under another village */
  why: string;
  client_id: string;
  topic?: string;
}

export interface SensorsSummary {
  online: number;
  total: number;
  stale: string[];
  rejected_total: number;
}

export interface ReserveStatus {
  /**
   * timezone: the IANA zone every time a person reads is shown in (absent from older summaries);
   * language: the BCP 47 tag of the village's language; minimum_water_lpd: the emergency minimum
   */
  village: { id: string; name: string; population: number; timezone?: string; language?: string; minimum_water_lpd?: number };
  at: string;
  water: WaterStatus;
  power: PowerStatus;
  /** stale_units: units whose value is stale (always set by the reserve) */
  cold: { status: Level; units: ColdUnitStatus[]; stale_units?: number };
  weather: WeatherStatus;
  sensors: SensorsSummary;
  alerts: Alert[];
  assembly: AssemblyPrompt[];
  /** the assembly's plan in force with the actual figures beside it (services/reserve/plan.ts); absent when none */
  plan?: PlanStatus;
}

// ---- alerts, incidents, prompts (docs/architecture.md, "The reserve status")

export type Severity = 'watch' | 'warning' | 'critical';
export type AlertState = 'pending' | 'firing' | 'resolved';

export interface Alert {
  /** stable id: `<rule>:<subject>:<n>` */
  id: string;
  rule: string;
  /** sensor, tank, unit or domain the alert is about */
  subject: string;
  domain: Domain | 'sensors';
  severity: Severity;
  state: AlertState;
  /** one plain sentence, informing, never commanding */
  title: string;
  detail: string;
  value: number | null;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  /** true for an alert an exercise (drill) raised; absent on real alerts */
  exercise?: boolean;
  /** when it last came back after being resolved (the same alert goes on); null if it never did */
  reopened_at?: string | null;
  incident_id: string | null;
}

export interface Incident {
  id: string;
  opened_at: string;
  closed_at: string | null;
  alert_ids: string[];
  domains: (Domain | 'sensors')[];
  crisis: boolean;
  prompt_id: string | null;
  exercise: boolean;
}

export interface PromptNote {
  at: string;
  author: string;
  text: string;
}

export interface NeighbourOffer {
  village: string;
  offer: string;
  heard_at: string;
  // additive (federation needs); absent on prompts from before them
  /** false when the neighbour offers nothing and is listed for its need (`offer` then says so in words) */
  offering?: boolean;
  /** what its offer counts, when it says */
  quantities?: FedQuantities;
  /** what it has said it needs, in its words and figures; null when nothing */
  need?: string | null;
  need_quantities?: FedQuantities;
  /** where its offer could meet our need, or ours its need, as facts */
  matches?: string[];
}

/** What a federation offer or need counts beside its words: litres of water and of freezer space, kWh, people. */
export interface FedQuantities {
  water_liters?: number;
  power_kwh?: number;
  freezer_liters?: number;
  hands?: number;
}

export interface AssemblyPrompt {
  id: string;
  incident_id: string;
  status: 'open' | 'closed';
  exercise: boolean;
  /** an exercise: when it ends by itself (ISO); once it has ended, when it did. Absent on real prompts. */
  exercise_ends_at?: string;
  version: number;
  opened_at: string;
  updated_at: string;
  closed_at: string | null;
  headline: string;
  situation: { at: string; text: string }[];
  damaged: string[];
  working: string[];
  urgent: string[];
  can_wait: string[];
  reserves: {
    water_days_current: number | null;
    water_days_minimum: number | null;
    power_hours_left: number | null;
    cold_units_at_risk: string[];
    /** which of these figures include parts not heard from, in words (absent on older prompts) */
    includes_stale?: string[];
  };
  neighbours: NeighbourOffer[];
  questions: string[];
  /** the latest notes (at most NOTES_SHOWN); all of them are kept and served by /api/assembly/<id>/notes */
  notes: PromptNote[];
  /** how many notes the prompt has in all (absent on prompts from before notes were capped) */
  notes_total?: number;
  /** the consequences of the choices before the assembly, as facts from live figures (services/assembly/options.ts) */
  options?: PromptOptions;
  /** what the assembly agreed, oldest first (services/assembly/decisions.ts) */
  decisions?: Decision[];
  /** the damaged and urgent things people can say they are looking at (services/assembly/volunteers.ts) */
  items?: PromptItem[];
  /** the plan in force decided on this prompt, with the actual figures beside it */
  plan?: PlanStatus | null;
}

// ---- the assembly's own tool: options, decisions, plans, volunteers (docs/assembly.md)

/** What an assembly agreed to follow: litres a person a day, and/or a load in watts. */
export interface PlanFigures {
  water_lpd?: number;
  load_w?: number;
}

export interface Decision {
  id: string;
  at: string;
  /** who recorded it (a name or a group); null when not given */
  by: string | null;
  text: string;
  /** the figures agreed; a later decision's plan supersedes this one; {} ends the plan; null: no plan */
  plan: PlanFigures | null;
}

/** The plan in force as it reaches the status loop (from the newest decision with a plan on an open prompt). */
export interface PlanInForce extends PlanFigures {
  prompt_id: string;
  decision_id: string;
  /** ISO time the decision was recorded */
  since: string;
}

/** `plan` in /api/status: the agreed figures beside the actual ones. Followed, never enforced. */
export interface PlanStatus {
  prompt_id: string;
  decision_id: string;
  since: string;
  /** agreed litres a person a day; null when the plan is about power only */
  water_lpd: number | null;
  /** litres a person a day over the last 24 h of use (water.daily_use_liters ÷ population) */
  actual_lpd: number | null;
  /** days the water lasts at the agreed figure */
  days_left_plan: number | null;
  /** since when actual use has been well above the agreed figure (judged once the last 24 h lie within the plan); null when it is not */
  water_above_since?: string | null;
  load_w?: number;
  actual_load_w?: number | null;
  hours_left_plan?: number | null;
  load_above_since?: string | null;
}

export interface WaterOption {
  lpd: number;
  /** 'current': the village's own use of the last 24 h; 'level': a configured level; 'minimum': village.minimum_water_lpd */
  basis: 'current' | 'level' | 'minimum';
  days: number | null;
  /** with the water neighbours offer added; null when none is offered in litres */
  days_with_offers: number | null;
  text: string;
}

export interface PowerOption {
  /** names of the loads off in this choice ([] for the current load) */
  off: string[];
  load_w: number;
  hours: number | null;
  text: string;
}

export interface ColdOption {
  unit: string;
  name: string;
  temp_c: number | null;
  /** spare room in litres as the config records it (assembly.cold_spare_l); null when not known */
  spare_l: number | null;
  text: string;
}

export interface PromptOptions {
  at: string;
  water: { liters: number | null; population: number; offered_liters: number; levels: WaterOption[] };
  power: { usable_kwh: number | null; load_w: number | null; choices: PowerOption[] };
  /** units that could take food from a failing one; empty when none is failing */
  cold: { failing: string[]; units: ColdOption[] };
  /** every option as one statement of fact, in order */
  texts: string[];
}

export interface ItemHolder {
  by: string;
  since: string;
}

export interface PromptItem {
  /** stable across versions: 'tank-north', 'power-supply', 'cold-freezer' … */
  id: string;
  name: string;
  /** which of the prompt's lists it stands in */
  lists: ('damaged' | 'urgent')[];
  /** when it first stood in the prompt */
  listed_since: string;
  holders: ItemHolder[];
}

/** Connection state of a transport, shown on the page and /metrics. */
export interface LinkStatus {
  name: string;
  kind: 'broker' | 'mqtt' | 'serial' | 'firmata' | 'influx' | 'federation' | 'storage';
  state: 'connected' | 'connecting' | 'reconnecting' | 'error' | 'disconnected' | 'listening';
  last_error: string | null;
  since: string;
}
