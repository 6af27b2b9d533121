// The scenario library: what happens in each village, and what the village needs tend to say
// about it. Each scenario names its village config (beside this file), drives the village model
// (village-model.ts) and states its expected outcome, written to `<name>.expect.json` beside the
// generated `<name>.jsonl` (generate.ts). The expectations are what a village needs, not what
// today's rules happen to do: some fail until the rules catch up (see README.md here).
import type { Expectation, MustFire, MustNotFire } from './expect.ts';
import { type Hooks, mulberry32, type ModelParams, type VillageModel } from './village-model.ts';

type Body = Pick<Expectation, 'must_fire' | 'must_not_fire' | 'prompts' | 'max_warnings' | 'earlier_each_night'> & {
  damage: Expectation['damage'];
};

export interface ScenarioDef {
  name: string;
  title: string;
  /** the village config file beside this one */
  village: string;
  village_summary: string;
  kind: Expectation['kind'];
  proves: string;
  seed: number;
  params: ModelParams;
  /** length in seconds, from the model's local clock */
  length: (m: VillageModel) => number;
  /** the scenario's hooks; expect() is called after the run (it may use what the hooks saw) */
  build: (m: VillageModel) => { hooks: Hooks; expect: () => Body };
}

const LEAK_RULES = ['tank_drop', 'night_flow'];
const min = (s: number) => Math.round(s / 60);

/**
 * Brief door openings through the day (07:00–21:30): `perDay` of 1…maxMin minutes, at least
 * `gapMin` minutes apart, from their own seeded stream so the rest of the village is unchanged.
 */
function briefOpenings(seed: number, days: number, perDay: number, maxMin: number, gapMin = 25): (m: VillageModel) => boolean {
  const r = mulberry32(seed);
  const spans: [number, number][] = [];
  for (let d = 0; d <= days; d++) {
    const starts: number[] = [];
    for (let i = 0; i < perDay * 3 && starts.length < perDay; i++) {
      const h = 7 + r() * 14.5;
      if (starts.every((s) => Math.abs(s - h) * 60 >= gapMin)) starts.push(h);
    }
    for (const h of starts) spans.push([d * 24 + h, d * 24 + h + (1 + Math.floor(r() * maxMin)) / 60]);
  }
  return (m) => {
    const now = m.day * 24 + m.hour;
    return spans.some(([a, b]) => now >= a && now < b);
  };
}

/** a door that opens briefly in daily life: set or clear the door for this minute */
function door(m: VillageModel, unit: string, open: boolean): void {
  if (open) m.doorOpen.add(unit);
  else m.doorOpen.delete(unit);
}

// ---------------------------------------------------------------------------------------------

const kestrel: ModelParams = {
  lpd: 20,
  nightDrawsPerHour: 1,
  tanks: {
    upper: { fill: 0.78, share: 0.55, refill: [{ from: 10, to: 14, lph: 380, upto: 0.95 }] },
    lower: { fill: 0.74, share: 0.45, refill: [{ from: 10, to: 14, lph: 320, upto: 0.95 }] },
  },
  power: { soc: 70, solarPeakW: 4500, loadBaseW: 300, loadEveningW: 450, loadMorningW: 150 },
  cold: { vaccines: { setpoint: 5, ambient: 26, tauOffH: 10 } },
};

const marrow: ModelParams = {
  lpd: 45,
  nightDrawsPerHour: 2,
  tanks: {
    reservoir: { fill: 0.8, share: 0.55, refill: [{ from: 9.5, to: 15.5, lph: 1600, upto: 0.96 }] },
    school: { fill: 0.8, share: 0.3, refill: [{ from: 9.5, to: 15.5, lph: 900, upto: 0.96 }] },
    clinic: { fill: 0.8, share: 0.15, refill: [{ from: 9.5, to: 15.5, lph: 450, upto: 0.96 }] },
  },
  power: { soc: 75, solarPeakW: 9000, loadBaseW: 900, loadEveningW: 1400, loadMorningW: 500 },
  // station pressure at 1,400 m: the barometer reads what it reads, not sea level
  weather: { pressureHpa: 861, windMs: 2, afternoonMs: 3, gustFactor: 1.5 },
};

const thornby: ModelParams = {
  lpd: 35,
  nightDrawsPerHour: 2,
  tanks: {
    east: { fill: 0.72, share: 0.5, refill: [{ from: 22, to: 1, lph: 1300, upto: 0.95 }] },
    west: { fill: 0.7, share: 0.5, refill: [{ from: 22, to: 1, lph: 1300, upto: 0.95 }] },
  },
};

const saltmarsh: ModelParams = {
  lpd: 60,
  nightDrawsPerHour: 2,
  tanks: {
    north: { fill: 0.8, share: 0.4, refill: [{ from: 3, to: 7, lph: 950, upto: 0.95 }] },
    south: { fill: 0.8, share: 0.25, refill: [{ from: 3, to: 7, lph: 600, upto: 0.95 }] },
    chapel: { fill: 0.8, share: 0.35, refill: [{ from: 3, to: 7, lph: 850, upto: 0.95 }] },
  },
  power: { soc: 70, solarPeakW: 7000, loadBaseW: 700, loadEveningW: 1100, loadMorningW: 400 },
  weather: { pressureHpa: 1009, windMs: 5, afternoonMs: 2, gustFactor: 1.4 },
};

const dunmore: ModelParams = {
  lpd: 15,
  nightDrawsPerHour: 2,
  tanks: {
    main: { fill: 0.85, share: 0.78, noiseMm: 15, refill: [{ from: 6, to: 8, lph: 1800, upto: 0.95 }] },
    annex: { fill: 0.85, share: 0.22, noiseMm: 12, refill: [{ from: 6, to: 8, lph: 600, upto: 0.95 }] },
  },
  power: { soc: 75, solarPeakW: 6000, loadBaseW: 500, loadEveningW: 900, loadMorningW: 300 },
};

const brackwater: ModelParams = {
  lpd: 40,
  nightDrawsPerHour: 2,
  tanks: {
    // the borehole keeps them at most 80 % full, leaving room for the rain
    hall: { fill: 0.74, share: 0.35, catchmentM2: 320, refill: [{ from: 17, to: 20, lph: 900, upto: 0.8 }] },
    market: { fill: 0.72, share: 0.4, catchmentM2: 400, refill: [{ from: 17, to: 20, lph: 1000, upto: 0.8 }] },
    school: { fill: 0.76, share: 0.25, catchmentM2: 250, refill: [{ from: 17, to: 20, lph: 650, upto: 0.8 }] },
  },
  power: { soc: 65, solarPeakW: 8000, loadBaseW: 800, loadEveningW: 1300, loadMorningW: 400, cloud: (d) => (d === 1 ? 0.12 : d === 2 ? 0.6 : 0.9) },
  weather: { pressureHpa: 1008, windMs: 3, afternoonMs: 2, gustFactor: 1.45 },
};

const fernhollow: ModelParams = {
  lpd: 30,
  nightDrawsPerHour: 1,
  tanks: { cistern: { fill: 0.75, share: 1, refill: [{ from: 4, to: 7, lph: 1100, upto: 0.95 }] } },
  power: { soc: 70, solarPeakW: 3500, loadBaseW: 250, loadEveningW: 400, loadMorningW: 150 },
  cold: {
    'kitchen-fridge': { setpoint: 3.2, ambient: 22, tauOffH: 8 },
    freezer: { setpoint: -19, ambient: 20, tauOffH: 20, tauOpenH: 1.5 },
    vaccines: { setpoint: 5, ambient: 20, tauOffH: 10 },
  },
};

const highpass: ModelParams = {
  lpd: 35,
  nightDrawsPerHour: 2,
  tanks: { spring: { fill: 0.8, share: 1, refill: [{ from: 0, to: 24, lph: 400, upto: 0.97 }] } },
  power: { soc: 80, solarPeakW: 13000, loadBaseW: 1400, loadEveningW: 1800, loadMorningW: 600 },
};

/** fernhollow's everyday kitchen: the fridge and the freezer lid opened briefly through the day */
function fernhollowKitchen(seed: number, days: number, perDay = 8): (m: VillageModel) => void {
  const fridge = briefOpenings(seed, days, perDay, 3);
  const lid = briefOpenings(seed + 1, days, 2, 1);
  return (m) => {
    door(m, 'kitchen-fridge', fridge(m));
    door(m, 'freezer', lid(m));
  };
}

export const SCENARIOS: ScenarioDef[] = [
  {
    name: 'burst-pipe-day-one',
    title: 'Burst pipe on the first day',
    village: 'kestrel.yaml',
    village_summary: '120 people, 20 L a person a day, 2 tanks (10.3 and 9 m³), Nairobi time',
    kind: 'damage',
    proves:
      'a tank losing ~600 L/h is seen within the hour on the very first day tend runs, judged against the use it has watched since morning, in a village that uses little water',
    seed: 101,
    params: kestrel,
    length: (m) => m.at(1, 6),
    build(m) {
      const from = m.at(0, 15),
        to = m.at(0, 18);
      return {
        hooks: {
          minute: (v) => {
            if (v.during(from, to)) v.tank('upper').liters -= 600 / 60;
          },
        },
        expect: () => ({
          damage: { t: from, what: 'a pipe bursts below the Upper tank at 15:00 on the first day: 600 L an hour for 3 hours' },
          must_fire: [
            {
              rule: ['tank_drop'],
              subject: ['upper'],
              min_severity: 'warning',
              within_min: 60,
              why: 'the village uses about 60 L an hour from this tank at that time of day; 600 L an hour is a burst, and an hour is what a village can afford to lose before closing a valve',
            },
          ],
          must_not_fire: [
            { rule: LEAK_RULES, subject: ['lower'], why: 'the Lower tank is fine' },
            { rule: LEAK_RULES, before_damage: true, why: 'the first morning’s ordinary use and the pump refill are not leaks' },
          ],
          prompts: 'allowed',
        }),
      };
    },
  },
  {
    name: 'slow-night-leak',
    title: 'Slow night leak through a failed valve',
    village: 'marrow.yaml',
    village_summary: '260 people, 45 L a person a day, 3 tanks (31, 15 and 5 m³), solar pump by day, Nepal time (UTC+5:45)',
    kind: 'damage',
    proves:
      'a steady 18 L/h loss that the daytime pump hides (the tank is full again every afternoon) is seen from the nights, when nobody draws water: the village hears of it within three nights',
    seed: 202,
    params: marrow,
    length: (m) => m.at(6, 8),
    build(m) {
      const from = m.at(2, 10);
      return {
        hooks: {
          minute: (v) => {
            if (v.t >= from) v.tank('school').liters -= 18 / 60;
          },
        },
        expect: () => ({
          damage: { t: from, what: 'the School tank’s outlet valve fails at 10:00 on day 2 and leaks 18 L an hour, day and night, to the end (4 nights)' },
          must_fire: [
            {
              rule: LEAK_RULES,
              subject: ['school'],
              within_min: min(m.at(5, 8) - from),
              why: '18 L an hour is 430 L a day; by day the pump refills it, but between 23:00 and 05:00 the tank falls steadily while the other two hold; by the morning after the third night the village should know',
            },
          ],
          must_not_fire: [
            { rule: LEAK_RULES, subject: ['reservoir', 'clinic'], why: 'the other tanks only see ordinary use and a few buckets at night' },
            { rule: LEAK_RULES, before_damage: true, why: 'two ordinary days and nights come first' },
          ],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'theft-at-night',
    title: 'Water taken at night',
    village: 'thornby.yaml',
    village_summary: '200 people, 35 L a person a day, 2 tanks (15.5 and 15 m³), grid pump 22:00–01:00, Bolivia time (UTC−4)',
    kind: 'damage',
    proves: 'a large fall at 02:00, when nobody draws water and the pump is off (2,400 L in 30 minutes: a tanker’s pump), is raised within 45 minutes',
    seed: 303,
    params: thornby,
    length: (m) => m.at(3, 20),
    build(m) {
      const from = m.at(3, 2),
        to = m.at(3, 2.5);
      return {
        hooks: {
          minute: (v) => {
            if (v.during(from, to)) v.tank('east').liters -= 2400 / 30;
          },
        },
        expect: () => ({
          damage: { t: from, what: '2,400 L pumped out of the East tank between 02:00 and 02:30 on the third night' },
          must_fire: [
            {
              rule: LEAK_RULES,
              subject: ['east'],
              min_severity: 'warning',
              within_min: 45,
              why: '4,800 L an hour at 02:00 is far beyond anything the tank gives at night; the village can still look while it happens',
            },
          ],
          must_not_fire: [
            { rule: LEAK_RULES, subject: ['west'], why: 'the West tank is untouched' },
            { rule: LEAK_RULES, before_damage: true, why: 'two ordinary days and the nightly pump come first' },
          ],
          prompts: 'allowed',
        }),
      };
    },
  },
  {
    name: 'stuck-sensor',
    title: 'Stuck tank sensor',
    village: 'saltmarsh.yaml',
    village_summary: '150 people, 60 L a person a day, 3 tanks of 3 shapes and 3 sensor kinds, spring pump before dawn, UTC',
    kind: 'damage',
    proves:
      'a level sensor that keeps sending one value for hours while the other tanks show the day’s use is called a sensor fault, and its figure is not trusted; when it comes back with the real (lower) level, that catch-up is not a leak',
    seed: 404,
    params: saltmarsh,
    length: (m) => m.at(2, 12),
    build(m) {
      const from = m.at(1, 8),
        to = m.at(1, 18.5);
      let frozen: Record<string, number> | null = null;
      return {
        hooks: {
          report: (v, device, reading) => {
            if (device !== 'tank-north' || !v.during(from, to)) return reading;
            frozen ??= reading;
            return { ...frozen };
          },
        },
        expect: () => ({
          damage: {
            t: from,
            what: 'the North tank’s ultrasonic sensor sticks at 08:00 on day 1 (condensation on the transducer) and sends the same distance until 18:30, then reads true again',
          },
          must_fire: [
            {
              domain: 'sensors',
              subject: ['north', 'tank-north'],
              within_min: 240,
              why: 'by noon the South and Chapel tanks have given a morning’s water and the North tank has not moved by a millimetre: its sensor is not measuring, and the village should not trust its figure',
            },
          ],
          must_not_fire: [
            { rule: [...LEAK_RULES, 'water_low'], why: 'no water was lost: the sensor was stuck, and its return to the true level is a catch-up, not a leak' },
          ],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'noisy-spiking-sensors',
    title: 'Noisy and spiking sensors',
    village: 'dunmore.yaml',
    village_summary: '300 people, 15 L a person a day (the Sphere minimum), a 40 m³ and an 11 m³ tank on noisy sensors, West Africa time',
    kind: 'quiet',
    proves:
      'sensor noise (±15 mm on a 40 m³ tank, ±240 L) raises nothing, and single wild readings (a double echo, a ladder rung, water hammer, a probe touched, a voltage sag at pump start, a battery monitor glitch) are ignored',
    seed: 505,
    params: dunmore,
    length: (m) => m.at(3, 0),
    build(m) {
      const spikes = new Map<number, (device: string, r: Record<string, number>) => void>();
      for (let d = 0; d < 3; d++) {
        // ultrasonic: a double echo (reads twice the distance) and a ladder rung (reads short)
        spikes.set(m.at(d, 3), (dev, r) => {
          if (dev === 'tank-main') r.distance_mm = Math.min(2690, r.distance_mm! * 2);
        });
        spikes.set(m.at(d, 15), (dev, r) => {
          if (dev === 'tank-main') r.distance_mm = 430;
        });
        // the pump starts: water hammer on the transducer, a voltage sag on the bank
        spikes.set(m.at(d, 6), (dev, r) => {
          if (dev === 'tank-annex') r.pressure_kpa = Math.round((r.pressure_kpa! + 0.9) * 1000) / 1000;
          if (dev === 'power') r.volts = Math.round((r.volts! - 5.5) * 100) / 100;
        });
        // restocking: the probe is touched; a battery monitor glitch reads 0 %
        spikes.set(m.at(d, 14), (dev, r) => {
          if (dev === 'market-cold') r.temp_c = 21.5;
        });
        spikes.set(m.at(d, 21), (dev, r) => {
          if (dev === 'power') r.soc = 0;
        });
      }
      return {
        hooks: {
          report: (v, device, reading) => {
            const f = spikes.get(v.t);
            if (f) f(device, reading);
            return reading;
          },
        },
        expect: () => ({
          damage: null,
          must_fire: [],
          must_not_fire: [{ why: 'nothing happened: noise is noise, and one odd reading between ordinary ones is a glitch, not an event' }],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'storm-refill',
    title: 'Tanks refill from the roofs during a storm',
    village: 'brackwater.yaml',
    village_summary: '180 people, 40 L a person a day, 3 rain-harvesting tanks (13.5, 15.8 and 9.8 m³), Philippine time',
    kind: 'damage',
    proves:
      'a storm is announced from the falling pressure before the wind, and the tanks filling fast from the gutters (and overflowing) raise no water alert',
    seed: 606,
    params: brackwater,
    length: (m) => m.at(3, 0),
    build(m) {
      const fall = m.at(1, 3);
      return {
        hooks: {
          minute: (v) => {
            const h = (v.t - fall) / 3600;
            if (h < 0) return;
            v.pressureOffset = h < 9 ? -2.2 * h : Math.min(0, -19.8 + 1.5 * (h - 9));
            const ramp = (a: number, b: number) => Math.max(0, Math.min(1, (h - a) / (b - a)));
            v.windBoost = 13 * ramp(5, 9) * (1 - ramp(14, 20));
            v.rainMmH = h >= 4 && h < 17 ? 12 + v.rand() * 14 : h >= 17 && h < 19 ? 3 : 0;
          },
        },
        expect: () => ({
          damage: {
            t: fall,
            what: 'a storm: the pressure falls 2.2 hPa an hour from 03:00 on day 1, storm-force gusts by noon, 12–26 mm of rain an hour for 13 hours',
          },
          must_fire: [
            {
              rule: ['storm'],
              subject: ['weather'],
              within_min: 180,
              why: 'a fall of 3.6 hPa in 3 hours is "falling quickly": the storm watch comes before the wind',
            },
            { rule: ['storm'], subject: ['weather'], min_severity: 'warning', within_min: 420, why: 'gusts reach storm force (24.5 m/s) about 9 hours in' },
          ],
          must_not_fire: [
            { rule: [...LEAK_RULES, 'water_low'], why: 'the tanks fill from the roofs and overflow; then the village draws from them as on any day' },
            { domain: 'cold', why: 'nothing else happened' },
          ],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'fridge-door-left-open',
    title: 'Kitchen fridge door left open',
    village: 'fernhollow.yaml',
    village_summary: '100 people, 30 L a person a day, a stone cistern, 2 fridges and a freezer, nodes every 5 minutes, Portugal time',
    kind: 'damage',
    proves: 'a fridge whose door stays open climbs past its safe temperature and is raised within 45 minutes; the day’s brief openings before it raise nothing',
    seed: 707,
    params: fernhollow,
    length: (m) => m.at(1, 6),
    build(m) {
      const from = m.at(0, 18.5),
        to = m.at(0, 18.5 + 80 / 60);
      const kitchen = fernhollowKitchen(7071, 1);
      return {
        hooks: {
          minute: (v) => {
            kitchen(v);
            if (v.during(from, to)) door(v, 'kitchen-fridge', true);
          },
        },
        expect: () => ({
          damage: { t: from, what: 'the kitchen fridge door is left open at 18:30 for 80 minutes' },
          must_fire: [
            {
              rule: ['cold_above_safe'],
              subject: ['kitchen-fridge'],
              within_min: 45,
              why: 'above 5 °C for 15 minutes is the first step of the food-safety rule',
            },
          ],
          must_not_fire: [
            {
              rule: ['cold_above_safe'],
              subject: ['kitchen-fridge'],
              min_severity: 'critical',
              why: 'the door is shut after 80 minutes and the fridge is cold again within 20: under the 2-hour rule, the food is not at risk',
            },
            { domain: 'cold', before_damage: true, why: 'brief openings through the day are ordinary' },
            { domain: 'cold', subject: ['freezer', 'vaccines'], why: 'the freezer and the vaccine fridge are fine' },
          ],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'fridge-door-brief',
    title: 'Fridge and freezer opened briefly all day',
    village: 'fernhollow.yaml',
    village_summary: '100 people, 30 L a person a day, a stone cistern, 2 fridges and a freezer, nodes every 5 minutes, Portugal time',
    kind: 'quiet',
    proves: 'a busy kitchen (a dozen openings a day of 1–4 minutes, the temperature briefly above 5 °C) raises nothing',
    seed: 808,
    params: fernhollow,
    length: (m) => m.at(2, 6),
    build() {
      const fridge = briefOpenings(8081, 2, 12, 4);
      const lid = briefOpenings(8082, 2, 4, 1);
      return {
        hooks: {
          minute: (v) => {
            door(v, 'kitchen-fridge', fridge(v));
            door(v, 'freezer', lid(v));
          },
        },
        expect: () => ({
          damage: null,
          must_fire: [],
          must_not_fire: [{ domain: 'cold', why: 'a fridge opened for a minute or four warms briefly and cools again: nothing to tell anyone' }],
          prompts: 'forbidden',
        }),
      };
    },
  },
  {
    name: 'fridge-power-lost',
    title: 'Vaccine fridge loses power overnight',
    village: 'fernhollow.yaml',
    village_summary: '100 people, 30 L a person a day, a stone cistern, 2 fridges and a freezer, nodes every 5 minutes, Portugal time',
    kind: 'damage',
    proves:
      'a fridge without power warms steadily; tend raises it once above safe for 15 minutes and makes it critical after 2 hours above safe (the food-safety 2-hour rule), not before, and the village is asked',
    seed: 909,
    params: fernhollow,
    length: (m) => m.at(1, 12),
    build(m) {
      const from = m.at(0, 22),
        to = m.at(1, 7.5);
      const kitchen = fernhollowKitchen(9091, 1);
      let crossed: number | null = null;
      return {
        hooks: {
          minute: (v) => {
            kitchen(v);
            if (v.during(from, to)) v.unpowered.add('vaccines');
            else v.unpowered.delete('vaccines');
            if (crossed === null && v.t >= from && v.cold.get('vaccines')!.temp > 8) crossed = v.t;
          },
        },
        expect: () => {
          if (crossed === null) throw new Error('fridge-power-lost: the vaccine fridge never crossed 8 °C');
          const c = min(crossed - from);
          return {
            damage: { t: from, what: `the vaccine fridge’s breaker trips at 22:00 (power back at 07:30); it passes 8 °C about ${c} minutes later` },
            must_fire: [
              { rule: ['cold_above_safe'], subject: ['vaccines'], within_min: c + 15 + 20, why: 'above safe for 15 minutes: watch' },
              {
                rule: ['cold_above_safe'],
                subject: ['vaccines'],
                min_severity: 'critical',
                within_min: c + 120 + 20,
                not_before_min: c + 120 - 10,
                why: 'after 2 hours above safe the contents are at risk (the 2-hour rule): critical, and not before',
              },
            ] satisfies MustFire[],
            must_not_fire: [
              { domain: 'cold', subject: ['kitchen-fridge', 'freezer'], why: 'the kitchen fridge and the freezer keep their power' },
            ] satisfies MustNotFire[],
            prompts: 'expected',
          };
        },
      };
    },
  },
  {
    name: 'inverter-dead',
    title: 'Inverter dies: no electricity in the village',
    village: 'highpass.yaml',
    village_summary: '220 people, 35 L a person a day, a spring tank, a 60 kWh solar bank behind one inverter (monitor every 5 minutes), Peru time',
    kind: 'damage',
    proves:
      'when the inverter stops, the load it serves falls to 0 W and stays there while the battery is full and the sun shines: the village has no power, and tend says so within 20 minutes',
    seed: 1001,
    params: highpass,
    length: (m) => m.at(2, 8),
    build(m) {
      const from = m.at(1, 14),
        to = m.at(1, 20);
      return {
        hooks: {
          minute: (v) => {
            v.inverter = v.during(from, to) ? 'dead' : 'ok';
          },
        },
        expect: () => ({
          damage: { t: from, what: 'the inverter fails at 14:00 on day 1 and is replaced at 20:00: 0 W served for 6 hours' },
          must_fire: [
            {
              domain: 'power',
              except_rule: ['battery_low'],
              within_min: 20,
              why: 'a village load of 2 kW does not fall to 0 W and stay there by itself: homes, clinic and pumps have no electricity',
            },
          ],
          must_not_fire: [{ domain: 'power', before_damage: true, why: 'the day before is ordinary' }],
          prompts: 'allowed',
        }),
      };
    },
  },
  {
    name: 'inverter-failing',
    title: 'Inverter failing: voltage swings and trips',
    village: 'highpass.yaml',
    village_summary: '220 people, 35 L a person a day, a spring tank, a 60 kWh solar bank behind one inverter (monitor every 5 minutes), Peru time',
    kind: 'damage',
    proves: 'an inverter that trips again and again (the load dropping to a quarter) with the battery voltage swinging ±4.5 V is raised within 30 minutes',
    seed: 1101,
    params: highpass,
    length: (m) => m.at(2, 0),
    build(m) {
      const from = m.at(1, 10),
        to = m.at(1, 12);
      return {
        hooks: {
          minute: (v) => {
            v.inverter = v.during(from, to) ? 'failing' : 'ok';
          },
        },
        expect: () => ({
          damage: { t: from, what: 'the inverter starts failing at 10:00 on day 1 (trips, voltage swings) until it is reset at 12:00' },
          must_fire: [{ rule: ['power_unstable'], subject: ['power'], within_min: 30, why: 'swings and repeated trips damage equipment and cut the clinic' }],
          must_not_fire: [{ domain: 'power', before_damage: true, why: 'the day before is ordinary' }],
          prompts: 'allowed',
        }),
      };
    },
  },
  {
    name: 'battery-fade',
    title: 'Battery capacity fading',
    village: 'highpass.yaml',
    village_summary: '220 people, 35 L a person a day, a spring tank, a 60 kWh solar bank behind one inverter (monitor every 5 minutes), Peru time',
    kind: 'damage',
    proves:
      'a bank losing capacity (a failing cell string: 100 % → 50 % in 6½ days) empties faster each night; tend raises "battery low" the first night it falls below 35 %, and earlier in the night each night after',
    seed: 1201,
    // the heavier dry-season load: a full bank ends the night at about 45 %
    params: { ...highpass, power: { ...highpass.power!, soc: 95, loadBaseW: 1800, loadEveningW: 2200 } },
    length: (m) => m.at(6, 12),
    build(m) {
      const end = m.at(6, 12);
      let crossed: number | null = null;
      return {
        hooks: {
          minute: (v) => {
            v.capacityFactor = 1 - 0.5 * Math.min(1, v.t / end);
            if (crossed === null && v.soc < 35) crossed = v.t;
          },
        },
        expect: () => {
          if (crossed === null) throw new Error('battery-fade: the bank never fell below 35 %');
          return {
            damage: { t: crossed, what: 'the bank has been losing capacity since day 0; this is the first time it falls below 35 % (during the night)' },
            must_fire: [
              {
                rule: ['battery_low'],
                subject: ['battery'],
                within_min: 20,
                why: 'below 35 % at night with hours of load ahead: the village can save power now',
              },
            ],
            must_not_fire: [{ rule: ['power_unstable'], why: 'the power is steady; the bank is just smaller' }],
            prompts: 'allowed',
            earlier_each_night: {
              rule: ['battery_low'],
              subject: ['battery'],
              first_noon_t: m.at(0, 12),
              min_nights: 3,
              why: 'each night the faded bank runs low earlier: the warning moves forward, so the village sees the trend',
            },
          };
        },
      };
    },
  },
  // ---- ordinary days: 33 of them, in three villages
  {
    name: 'ordinary-holiday',
    title: 'Eleven ordinary days with a festival (double use)',
    village: 'willowmere.yaml',
    village_summary: '240 people, 50 L a person a day (100 L during the festival), 3 tanks (31, 24 and 20 m³), Spain time',
    kind: 'ordinary',
    proves:
      'family home for the festival doubles water use for three days (the tanks fall, the pump cannot keep up) without a leak alert or a prompt; fridges opened twice as often',
    seed: 1301,
    params: {
      lpd: 50,
      nightDrawsPerHour: 3,
      useFactor: (d) => (d >= 4 && d <= 6 ? 2 : d === 3 || d === 7 ? 1.4 : 1),
      tanks: {
        castle: {
          fill: 0.82,
          share: 0.45,
          refill: [
            { from: 1, to: 6, lph: 1100, upto: 0.95 },
            { from: 13, to: 16, lph: 700, upto: 0.95 },
          ],
        },
        plaza: {
          fill: 0.8,
          share: 0.3,
          refill: [
            { from: 1, to: 6, lph: 750, upto: 0.95 },
            { from: 13, to: 16, lph: 450, upto: 0.95 },
          ],
        },
        mill: {
          fill: 0.8,
          share: 0.25,
          refill: [
            { from: 1, to: 6, lph: 600, upto: 0.95 },
            { from: 13, to: 16, lph: 400, upto: 0.95 },
          ],
        },
      },
      power: { soc: 75, solarPeakW: 12000, loadBaseW: 1500, loadEveningW: 2500, loadMorningW: 700 },
      cold: { 'bar-fridge': { setpoint: 3, ambient: 21, tauOffH: 8 }, 'bar-freezer': { setpoint: -20, ambient: 21, tauOffH: 20, tauOpenH: 1.5 } },
      weather: { pressureHpa: 1018, windMs: 2.5, afternoonMs: 2, gustFactor: 1.5 },
    },
    length: (m) => m.at(11, 0),
    build(m) {
      const normal = briefOpenings(13011, 11, 10, 3);
      const festival = briefOpenings(13012, 11, 10, 2);
      const front = m.at(8, 6);
      return {
        hooks: {
          minute: (v) => {
            door(v, 'bar-fridge', normal(v) || (v.day >= 4 && v.day <= 6 && festival(v)));
            // a mild front on day 8: 3 hPa down over 9 hours, light rain
            const h = (v.t - front) / 3600;
            v.pressureOffset = h < 0 ? 0 : h < 9 ? -h / 3 : Math.min(0, -3 + (h - 9) / 4);
            v.rainMmH = h >= 6 && h < 14 ? 1.5 : 0;
          },
        },
        expect: () => ordinaryExpect(),
      };
    },
  },
  {
    name: 'ordinary-cloudy',
    title: 'Eleven ordinary days with a cloudy spell',
    village: 'greyridge.yaml',
    village_summary: '110 people, 25 L a person a day, 2 tanks (14 and 8.9 m³) on a ram pump, a 40 kWh bank, Colombia time',
    kind: 'ordinary',
    proves: 'five days of heavy cloud (a fifth of the sun) and drizzle draw the battery down by half without a warning or a prompt',
    seed: 1401,
    params: {
      lpd: 25,
      nightDrawsPerHour: 1,
      tanks: {
        top: { fill: 0.8, share: 0.65, refill: [{ from: 0, to: 24, lph: 80, upto: 0.95 }] },
        post: { fill: 0.78, share: 0.35, refill: [{ from: 0, to: 24, lph: 45, upto: 0.95 }] },
      },
      power: {
        soc: 85,
        solarPeakW: 7500,
        loadBaseW: 500,
        loadEveningW: 900,
        loadMorningW: 300,
        cloud: (d) => [0.9, 0.85, 0.6, 0.22, 0.18, 0.25, 0.2, 0.3, 0.7, 0.9, 0.95][d] ?? 0.9,
      },
      cold: { vaccines: { setpoint: 5, ambient: 18, tauOffH: 12 } },
      // station pressure at 2,600 m
      weather: { pressureHpa: 752, windMs: 4, afternoonMs: 3, gustFactor: 1.5 },
    },
    length: (m) => m.at(11, 0),
    build(m) {
      const front = m.at(2, 18);
      return {
        hooks: {
          minute: (v) => {
            // a slow front brings the cloud: 3 hPa down over 12 hours, back up over 3 days
            const h = (v.t - front) / 3600;
            v.pressureOffset = h < 0 ? 0 : h < 12 ? -h / 4 : Math.min(0, -3 + (h - 12) / 24);
            v.rainMmH = v.day >= 3 && v.day <= 7 && (v.hour < 3 || v.hour > 13) ? 0.5 + v.rand() * 1.5 : 0;
          },
        },
        expect: () => ordinaryExpect(),
      };
    },
  },
  {
    name: 'ordinary-windy',
    title: 'Eleven ordinary days with windy afternoons',
    village: 'gullhaven.yaml',
    village_summary: '170 people, 80 L a person a day, 3 tanks (41, 30 and 24 m³) filled by night, an 80 kWh bank, Queensland time',
    kind: 'ordinary',
    proves:
      'a sea breeze every afternoon (gusts up to about 15 m/s, below gale force) and a weak front raise no storm alert; evening garden watering is not a leak',
    seed: 1501,
    params: {
      lpd: 80,
      nightDrawsPerHour: 3,
      useFactor: (_d, h) => (h >= 16.5 && h < 18.5 ? 1.5 : 1),
      tanks: {
        dune: { fill: 0.8, share: 0.45, refill: [{ from: 21, to: 5, lph: 800, upto: 0.95 }] },
        jetty: { fill: 0.8, share: 0.3, refill: [{ from: 21, to: 5, lph: 550, upto: 0.95 }] },
        school: { fill: 0.8, share: 0.25, refill: [{ from: 21, to: 5, lph: 450, upto: 0.95 }] },
      },
      power: { soc: 80, solarPeakW: 15000, loadBaseW: 1300, loadEveningW: 2000, loadMorningW: 600 },
      cold: { 'coop-freezer': { setpoint: -20, ambient: 27, tauOffH: 24, tauOpenH: 1.5 } },
      weather: { pressureHpa: 1014, windMs: 3.5, afternoonMs: 6.5, gustFactor: 1.3 },
    },
    length: (m) => m.at(11, 0),
    build(m) {
      const lid = briefOpenings(15011, 11, 6, 2);
      const front = m.at(6, 4);
      return {
        hooks: {
          minute: (v) => {
            door(v, 'coop-freezer', lid(v));
            // a weak front on day 6: 4 hPa down over 10 hours, a shower
            const h = (v.t - front) / 3600;
            v.pressureOffset = h < 0 ? 0 : h < 10 ? -0.4 * h : Math.min(0, -4 + (h - 10) / 5);
            v.rainMmH = h >= 8 && h < 11 ? 3 : 0;
          },
        },
        expect: () => ordinaryExpect(),
      };
    },
  },
];

function ordinaryExpect(): Body {
  return {
    damage: null,
    must_fire: [],
    must_not_fire: [
      { rule: LEAK_RULES, why: 'ordinary use, however high, and refills are not leaks' },
      { rule: ['storm'], why: 'no gale, no fast pressure fall' },
      { rule: ['power_unstable'], why: 'the power is steady' },
      { domain: 'cold', why: 'doors opened briefly are ordinary' },
      { domain: 'sensors', why: 'every sensor reports' },
    ],
    prompts: 'forbidden',
    max_warnings: 1,
  };
}
