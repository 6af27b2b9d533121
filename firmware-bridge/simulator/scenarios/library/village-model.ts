// A small physical model of a village's shared reserves, stepped minute by minute on local time,
// that writes what its sensors would report in the scenario file format (docs/architecture.md,
// "Scenario files"). It extends the storm generator's models (generate-storm.ts: tanks with use,
// pump refills and leaks, a solar battery bank, fridges, a weather mast) so that any village
// config can be driven: any number and shape of tanks and sensor kinds, any population and use
// per person, a time zone, and deterministic noise. Scenarios (scenarios.ts) change the world
// through hooks (a burst pipe, a stuck sensor, a dead inverter …); the model never knows what
// tend will say about it.
import { litersAtLevel, MM_PER_KPA, tankCapacityLiters, tankHeightMm } from '../../../../config/tanks.ts';
import type { Config, SensorConfig, TankConfig } from '../../../../config/schema.ts';
import { localParts } from '../../../../core/format.ts';

export function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

/** level (mm) holding `liters` in this tank (bisection on the calibration) */
export function levelFor(tank: TankConfig, liters: number): number {
  let lo = 0,
    hi = tankHeightMm(tank);
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (litersAtLevel(tank, mid) < liters) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Water collected from shared tanks over the local day, as a share of the day's use per hour:
 * a morning peak, a smaller midday one and the evening one; next to nothing between 22:00 and
 * 05:00 (people sleep; night draws are modelled apart, as a few buckets at random). Sums to 1.
 */
const rawUse = (h: number) => {
  const peak = (c: number, w: number) => Math.exp(-((h - c) ** 2) / (2 * w * w));
  const awake = h >= 5 && h < 22 ? Math.min(1, (h - 5) / 0.75, (22 - h) / 0.75) : 0;
  return awake * (0.12 + 1.6 * peak(7, 1.1) + 0.6 * peak(12.5, 1.4) + 1.2 * peak(18.5, 1.3));
};
const USE_NORM = (() => {
  let s = 0;
  for (let m = 0; m < 1440; m++) s += rawUse(m / 60) / 60;
  return s;
})();
export const useShare = (h: number) => rawUse(h) / USE_NORM;

export interface Refill {
  /** local hours [from, to) the pump or spring runs */
  from: number;
  to: number;
  /** litres an hour into this tank */
  lph: number;
  /** the float valve closes at this fraction of capacity */
  upto: number;
}

export interface TankParams {
  /** fraction of capacity at t = 0 */
  fill: number;
  /** this tank's share of the village's use */
  share: number;
  /** sensor noise, ± mm uniform (ultrasonic ±3 mm; pressure transducers about the same) */
  noiseMm?: number;
  refill?: Refill[];
  /** roof area draining into this tank (rain harvesting), m²: 1 mm of rain is 1 L a m² */
  catchmentM2?: number;
}

export interface ColdParams {
  /** where the thermostat holds it */
  setpoint: number;
  /** the room it stands in */
  ambient: number;
  /** hours for the closed, unpowered box to warm 63% of the way to the room (insulation and mass) */
  tauOffH: number;
  /** hours for the air inside to swap with the room's while the door is open (a chest freezer keeps its cold air longer) */
  tauOpenH?: number;
}

export interface ModelParams {
  /** litres a person a day in ordinary times */
  lpd: number;
  /** multiplier on use (holidays, visitors); local day and hour */
  useFactor?: (day: number, hour: number) => number;
  /** buckets drawn at night (22:00–05:00), village-wide per hour, 8–20 L each */
  nightDrawsPerHour?: number;
  tanks: Record<string, TankParams>;
  power?: {
    soc: number;
    solarPeakW: number;
    loadBaseW: number;
    loadEveningW: number;
    loadMorningW: number;
    /** fraction of clear-sky sun that gets through, per local day */
    cloud?: (day: number) => number;
  };
  cold?: Record<string, ColdParams>;
  weather?: {
    pressureHpa: number;
    /** mean wind, m/s */
    windMs: number;
    /** extra wind in the afternoon (sea breeze, valley wind), m/s at its peak around 15:00 */
    afternoonMs?: number;
    /** gust factor over the mean wind */
    gustFactor?: number;
  };
}

export interface ScenarioLineOut {
  t: number;
  device: string;
  reading?: Record<string, number>;
  status?: 'online' | 'offline';
}

interface TankState {
  id: string;
  sensor: SensorConfig;
  capacity: number;
  liters: number;
  p: TankParams;
}
interface ColdState {
  id: string;
  sensor: SensorConfig;
  temp: number;
  p: ColdParams;
  phase: number;
}

/** Hooks a scenario gives the model: called every simulated minute, and on every reading sent. */
export interface Hooks {
  /** change the world this minute (leaks, doors, storms, faults), after ordinary use and refills */
  minute?: (m: VillageModel) => void;
  /** change what a device reports (a stuck or spiking sensor); return null to send nothing */
  report?: (m: VillageModel, device: string, reading: Record<string, number>) => Record<string, number> | null;
}

/**
 * The village, stepped one minute at a time from t = 0 (the first report). `t` is seconds from
 * the start, `hour` and `day` are local (the village's time zone), day 0 being the start's date.
 */
export class VillageModel {
  t = 0;
  hour = 0;
  day = 0;
  readonly rand: () => number;
  readonly tanks = new Map<string, TankState>();
  readonly cold = new Map<string, ColdState>();
  // power
  soc = 80;
  /** what the battery really holds now, as a fraction of its rated capacity (fade) */
  capacityFactor = 1;
  /** 'ok'; 'dead': no AC out (load reads 0, nothing drawn); 'failing': trips and voltage swings */
  inverter: 'ok' | 'dead' | 'failing' = 'ok';
  solarW = 0;
  loadW = 0;
  voltageV = 52;
  // cold
  readonly doorOpen = new Set<string>();
  readonly unpowered = new Set<string>();
  // weather
  pressureHpa = 1013;
  /** added to the pressure by a scenario (a storm's fall) */
  pressureOffset = 0;
  windMs = 3;
  gustMs = 5;
  /** added to the mean wind by a scenario */
  windBoost = 0;
  /** rain now, mm an hour (set by a scenario) */
  rainMmH = 0;
  private rainSinceReport = new Map<string, number>();
  private drift = 0;
  private cloudToday = 1;
  /** use today, as a multiple of ordinary (a little different every day) */
  private dayJitter = 1;
  private jitterDay = -1;

  readonly startMs: number;
  private readonly startLocalS: number;

  constructor(
    readonly config: Config,
    readonly p: ModelParams,
    readonly opts: { start: string; seed: number },
  ) {
    this.rand = mulberry32(opts.seed);
    this.startMs = Date.parse(opts.start);
    const tz = config.village.timezone;
    // local time runs from the start's wall clock: the library's zones keep one offset all year
    // (or through late November), so local hours are the start's plus the time since
    const lp = localParts(this.startMs, tz);
    this.startLocalS = lp.hour * 3600 + lp.minute * 60;
    for (const s of config.sensors) {
      if (s.tank) {
        const tp = p.tanks[s.id];
        if (!tp) throw new Error(`model: no parameters for tank ${s.id}`);
        const capacity = tankCapacityLiters(s.tank);
        this.tanks.set(s.id, { id: s.id, sensor: s, capacity, liters: capacity * tp.fill, p: tp });
      }
      if (s.kind === 'cold_temp') {
        const safe = s.cold?.safe_max_c ?? 5;
        const cp = p.cold?.[s.id] ?? { setpoint: safe < 0 ? safe - 4 : safe - 1.8, ambient: 24, tauOffH: safe < 0 ? 20 : 10 };
        this.cold.set(s.id, { id: s.id, sensor: s, temp: cp.setpoint, p: cp, phase: this.rand() * 6 });
      }
    }
    const shares = [...this.tanks.values()].reduce((a, k) => a + k.p.share, 0);
    if (this.tanks.size && Math.abs(shares - 1) > 1e-6) throw new Error(`model: tank shares add up to ${shares}, not 1`);
    if (p.power) this.soc = p.power.soc;
    if (p.weather) {
      this.pressureHpa = p.weather.pressureHpa;
      this.windMs = p.weather.windMs;
    }
    this.setClock(0);
  }

  /** seconds from the start at local day `day`, hour `hour` (day 0 is the start's local date) */
  at(day: number, hour: number): number {
    return Math.round(day * 86400 + hour * 3600 - this.startLocalS);
  }

  private setClock(t: number): void {
    this.t = t;
    const local = this.startLocalS + t;
    this.day = Math.floor(local / 86400);
    this.hour = (local % 86400) / 3600;
  }

  tank(id: string): TankState {
    const k = this.tanks.get(id);
    if (!k) throw new Error(`model: no tank ${id}`);
    return k;
  }

  /** true while t is in [from, to) */
  during(from: number, to: number): boolean {
    return this.t >= from && this.t < to;
  }

  noise(amp: number): number {
    return (this.rand() * 2 - 1) * amp;
  }

  /** Run the whole scenario; returns the lines to write. */
  run(seconds: number, hooks: Hooks = {}): ScenarioLineOut[] {
    const out: ScenarioLineOut[] = [];
    const devices = this.config.devices;
    for (let t = 0; t <= seconds; t += 60) {
      this.setClock(t);
      this.step(hooks);
      for (const d of devices) {
        if (t % d.interval_s !== 0) continue;
        const reading = this.readingOf(d.id);
        if (!Object.keys(reading).length) continue;
        const sent = hooks.report ? hooks.report(this, d.id, reading) : reading;
        if (sent) out.push({ t, device: d.id, reading: sent });
      }
    }
    return out;
  }

  private step(hooks: Hooks): void {
    const p = this.p;
    const dtH = 1 / 60;
    if (this.day !== this.jitterDay) {
      this.jitterDay = this.day;
      this.dayJitter = 1 + this.noise(0.08);
      this.cloudToday = p.power?.cloud?.(this.day) ?? 0.85 + this.rand() * 0.15;
    }
    // ---- water: use, night buckets, refills, rain
    const factor = p.useFactor?.(this.day, this.hour) ?? 1;
    const use = this.config.village.population * p.lpd * factor * this.dayJitter * useShare(this.hour) * dtH * (1 + this.noise(0.3));
    const tanks = [...this.tanks.values()];
    for (const k of tanks) k.liters -= use * k.p.share;
    if ((this.hour >= 22 || this.hour < 5) && this.rand() < ((p.nightDrawsPerHour ?? 2) * factor) / 60) {
      let r = this.rand();
      const k = tanks.find((x) => (r -= x.p.share) < 0) ?? tanks.at(-1);
      if (k) k.liters -= 8 + this.rand() * 12;
    }
    for (const k of tanks) {
      for (const f of k.p.refill ?? []) {
        const on = f.from <= f.to ? this.hour >= f.from && this.hour < f.to : this.hour >= f.from || this.hour < f.to;
        if (on && k.liters < k.capacity * f.upto) k.liters = Math.min(k.capacity * f.upto, k.liters + f.lph * dtH);
      }
      if (k.p.catchmentM2 && this.rainMmH > 0) k.liters += this.rainMmH * dtH * k.p.catchmentM2 * 0.85; // gutter losses
    }
    // ---- power, cold, weather
    this.power(dtH);
    this.coldStep(dtH);
    this.weather(dtH);
    hooks.minute?.(this);
    for (const k of tanks) k.liters = clamp(k.liters, 0, k.capacity);
  }

  private power(dtH: number): void {
    const pw = this.p.power;
    if (!pw) return;
    const h = this.hour;
    const sun = Math.max(0, Math.sin(((h - 6) / 12.5) * Math.PI));
    const available = pw.solarPeakW * sun * this.cloudToday * (0.92 + this.rand() * 0.08);
    const demand =
      pw.loadBaseW + pw.loadEveningW * Math.exp(-((h - 19.5) ** 2) / 4) + pw.loadMorningW * Math.exp(-((h - 7) ** 2) / 2) + this.noise(pw.loadBaseW * 0.05);
    // a dead inverter serves nothing; a failing one trips and drops part of the load
    const served = this.inverter === 'dead' ? 0 : this.inverter === 'failing' ? demand * (this.rand() < 0.5 ? 0.25 : 1) : demand;
    const capWh = this.batteryKwh() * 1000 * this.capacityFactor;
    // a full bank takes no more: the charge controller curtails the panels to the load
    const solar = this.soc >= 99.5 ? Math.min(available, served) : available;
    this.soc = clamp(this.soc + (((solar - served) * dtH) / capWh) * 100, 3, 100);
    this.solarW = solar;
    this.loadW = served;
    const swing = this.inverter === 'failing' ? this.noise(4.5) : this.noise(0.08);
    this.voltageV = 46.5 + this.soc * 0.075 + (solar - served) / 9000 + swing;
  }

  private batteryKwh(): number {
    return this.config.sensors.find((s) => s.kind === 'battery_soc')?.battery?.capacity_kwh ?? 40;
  }

  private coldStep(dtH: number): void {
    for (const c of this.cold.values()) {
      const { setpoint, ambient, tauOffH } = c.p;
      c.phase += (dtH * (2 * Math.PI)) / 0.7; // the compressor cycles about every 40 minutes
      const open = this.doorOpen.has(c.id);
      const powered = !this.unpowered.has(c.id);
      let target: number;
      let tauH: number;
      if (open) {
        // the air inside swaps with the room's within minutes; a running compressor holds it a little below
        target = ambient - (powered ? 6 : 0);
        tauH = c.p.tauOpenH ?? 0.25;
      } else if (!powered) {
        target = ambient;
        tauH = tauOffH;
      } else {
        target = setpoint + 0.5 * Math.sin(c.phase);
        // pulling down after the door: fast for the air, slower the warmer it got
        tauH = 0.12;
      }
      c.temp += (target - c.temp) * (1 - Math.exp(-dtH / tauH));
    }
  }

  private weather(dtH: number): void {
    const w = this.p.weather;
    if (!w) return;
    const h = this.hour;
    // a slow random drift of the weather (bounded), the semidiurnal tide (±0.8 hPa)
    this.drift = clamp(this.drift + this.noise(0.05), -6, 6) * 0.9995;
    this.pressureHpa = w.pressureHpa + this.drift + 0.8 * Math.sin(((h - 10) / 12) * 2 * Math.PI) + this.pressureOffset;
    const afternoon = (w.afternoonMs ?? 0) * Math.max(0, Math.sin(((h - 11) / 9) * Math.PI));
    this.windMs = Math.max(0, w.windMs + afternoon + this.windBoost + this.noise(1));
    this.gustMs = this.windMs * ((w.gustFactor ?? 1.4) + this.rand() * 0.12);
    for (const d of this.config.devices) this.rainSinceReport.set(d.id, (this.rainSinceReport.get(d.id) ?? 0) + this.rainMmH * dtH);
  }

  /** what a device reports now: each of its sensors' metrics, as its firmware sends them */
  readingOf(device: string): Record<string, number> {
    const r: Record<string, number> = {};
    for (const s of this.config.sensors) {
      if (s.device !== device || !s.metric) continue;
      const v = this.raw(s, device);
      if (v !== null) r[s.metric] = v;
    }
    return r;
  }

  private raw(s: SensorConfig, device: string): number | null {
    switch (s.kind) {
      case 'tank_distance':
      case 'tank_pressure':
      case 'tank_level': {
        const k = this.tank(s.id);
        const level = levelFor(s.tank!, k.liters) + this.noise(k.p.noiseMm ?? 3);
        if (s.kind === 'tank_distance') return Math.round(s.tank!.sensor_height_mm! - level);
        if (s.kind === 'tank_pressure') return round(Math.max(0, level) / MM_PER_KPA, 3);
        return Math.round(Math.max(0, level));
      }
      case 'battery_soc':
        return round(this.soc);
      case 'battery_voltage':
        return round(this.voltageV, 2);
      case 'load_power':
        return Math.round(this.loadW);
      case 'solar_power':
        return Math.round(this.solarW);
      case 'cold_temp':
        return round(this.cold.get(s.id)!.temp + this.noise(0.15));
      case 'door_open':
        return s.unit && this.doorOpen.has(s.unit) ? 1 : 0;
      case 'pressure':
        return round(this.pressureHpa + this.noise(0.1));
      case 'wind_speed':
        return round(this.windMs);
      case 'wind_gust':
        return round(this.gustMs);
      case 'rain': {
        const mm = this.rainSinceReport.get(device) ?? 0;
        this.rainSinceReport.set(device, 0);
        return round(mm);
      }
    }
  }
}
