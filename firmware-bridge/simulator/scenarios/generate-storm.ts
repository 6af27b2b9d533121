// Writes storm.jsonl: the storm crisis scenario as the village's sensors would have seen it, one
// JSON line per device report (the scenario file format, docs/architecture.md, "Scenario files").
// Deterministic (seeded), so the shipped file can be regenerated exactly:
//   npx tsx firmware-bridge/simulator/scenarios/generate-storm.ts > firmware-bridge/simulator/scenarios/storm.jsonl
//
// Day 0 is an ordinary day (the tanks' normal draw is learned from it). Then, hour by hour:
//   day 1 04:00  pressure starts to fall fast; gale gusts from about 10:00, storm gusts by noon
//   day 1 13:00  landfall: the north tank is holed (losing water far faster than any use), the
//                spring pump is wrecked (no refills), power turns unstable (voltage swings, the
//                inverter sheds load), the kitchen fridge's circuit is shed and it warms
//   day 1 15:00  the weather mast goes down (its node says offline)
//   day 1 17:00  the crew isolates the north tank: the loss stops
//   day 1 21:00  the kitchen fridge is back on a stable circuit
//   day 2 08:00  (the morning assembly) water shared at a reduced 30 L a person a day
//   day 2 09:00  power steady again after the inverter is reset; the sun returns on day 2-3
//   day 3 11:00  the mast is repaired; day 3 and day 5: neighbours' water tankers fill the
//                school and hill tanks; day 4: a neighbour crew patches the north tank
//   day 7 10:00  the spring pump is rebuilt: tanks refill; day 8 on: normal use, week 3 normal
import { loadConfig } from '../../../config/load.ts';
import { litersAtLevel, MM_PER_KPA, tankCapacityLiters, tankHeightMm } from '../../../config/tanks.ts';
import type { TankConfig } from '../../../config/schema.ts';
import { waterUseShare } from '../demo-village.ts';

const HERE = new URL('.', import.meta.url).pathname;
const config = loadConfig(`${HERE}storm.yaml`);
const DAYS = 15;
const STEP = 600; // field nodes report every 10 minutes
const POWER_STEP_STORM = 120; // the power monitor reports every 2 minutes while power is unstable

function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20261126);
const noise = (amp: number) => (rand() * 2 - 1) * amp;
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const H = (day: number, hour: number) => (day * 24 + hour) * 3600;

/** level (mm) holding `liters` in this tank (bisection on the calibration) */
function levelFor(tank: TankConfig, liters: number): number {
  let lo = 0,
    hi = tankHeightMm(tank);
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (litersAtLevel(tank, mid) < liters) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const sensor = (id: string) => config.sensors.find((s) => s.id === id)!;
const tanks = ['north', 'school', 'hill'].map((id) => {
  const s = sensor(id);
  const capacity = tankCapacityLiters(s.tank!);
  return {
    id,
    s,
    capacity,
    liters: capacity * ({ north: 0.82, school: 0.74, hill: 0.86 } as Record<string, number>)[id]!,
    share: ({ north: 0.35, school: 0.3, hill: 0.35 } as Record<string, number>)[id]!,
  };
});

let soc = 88;
let fridge = 3.5;
let freezer = -18.5;
let mastDown = false;
const lines: string[] = [];
const emit = (t: number, device: string, body: Record<string, unknown>) => lines.push(JSON.stringify({ t, device, ...body }));

const inWindow = (t: number, from: number, to: number) => t >= from && t < to;
const LANDFALL = H(1, 13);
const LEAK_END = H(1, 17);
const PUMP_BACK = H(7, 10);
const POWER_BAD = [H(1, 12.7), H(2, 9)] as const;
const FRIDGE_SHED = [H(1, 13.5), H(1, 21)] as const;
const MAST_DOWN = [H(1, 15), H(3, 11)] as const;

function pressureAt(t: number): number {
  const h = t / 3600 - 24; // hours into day 1
  if (h < 4) return 1015;
  if (h < 12) return 1015 - 2.2 * (h - 4);
  if (h < 14) return 997.4;
  if (h < 24) return 997.4 + 1.5 * (h - 14);
  return 1012.4 + Math.min(3, (h - 24) * 0.05);
}
function gustAt(t: number): number {
  const h = t / 3600 - 24;
  if (h < 7 || h > 30) return 6 + noise(2);
  if (h < 10) return 8 + (h - 7) * 3.5 + noise(1.5); // to gale (17.2 m/s) by 10:00
  if (h < 12) return 18.5 + (h - 10) * 4 + noise(1.5); // storm force (24.5) by noon
  if (h < 15) return 27 + noise(2);
  return Math.max(6, 27 - (h - 15) * 1.6) + noise(1.5);
}

let lastPower = -Infinity;
for (let t = 0; t <= DAYS * 86400; t += 60) {
  const hod = (t / 3600) % 24;
  const day = Math.floor(t / 86400);
  const dt = 60 / 3600; // hours per minute step

  // ---- water: use, refills, leak, tankers
  const lpd = inWindow(t, H(2, 8), H(8, 0)) ? 30 : 60;
  const use = 180 * lpd * waterUseShare(hod) * dt;
  for (const k of tanks) k.liters -= use * k.share;
  const pumpOk = t < LANDFALL || t >= PUMP_BACK;
  if (pumpOk && (hod < 5 || (t >= PUMP_BACK && t < H(8, 0)))) {
    const rate = t >= PUMP_BACK && t < H(8, 0) ? 1500 : 900; // L/h into each tank
    for (const k of tanks) k.liters = Math.min(k.capacity * 0.97, k.liters + rate * dt);
  }
  const north = tanks[0]!;
  if (inWindow(t, LANDFALL + 1200, LEAK_END)) north.liters -= 2600 * dt; // the holed tank
  if (inWindow(t, H(3, 14), H(3, 16))) tanks[1]!.liters += 2000 * dt; // neighbour's tanker → school
  if (inWindow(t, H(5, 10), H(5, 12))) tanks[2]!.liters += 2000 * dt; // neighbour's tanker → hill
  for (const k of tanks) k.liters = Math.max(0, Math.min(k.capacity, k.liters));
  if (t >= LEAK_END && t < H(4, 11)) north.liters = Math.max(north.liters, 0); // isolated until patched

  // ---- power
  const cloud = day === 1 ? 0.08 : day === 2 ? 0.4 : day === 3 ? 0.75 : 1;
  const solar = Math.max(0, Math.sin(((hod - 6) / 12) * Math.PI)) * 9000 * cloud;
  let load = 1400 + 1600 * Math.exp(-((hod - 19.5) ** 2) / 4) + 700 * Math.exp(-((hod - 7.5) ** 2) / 2);
  const unstable = inWindow(t, POWER_BAD[0], POWER_BAD[1]);
  if (unstable) load += 400; // pumps for bailing, the clinic on full
  // while the inverter trips, about a third of the load goes unserved
  const served = unstable ? load * 0.65 : load;
  soc = Math.max(5, Math.min(100, soc + (((solar - served) * dt) / 1000 / 60) * 100));

  // ---- cold
  const shed = inWindow(t, FRIDGE_SHED[0], FRIDGE_SHED[1]);
  fridge = shed ? Math.min(12, fridge + 1.5 * dt) : Math.max(3.2, fridge - 3 * dt);
  freezer = unstable ? Math.min(-16, freezer + 0.2 * dt) : Math.max(-18.5, freezer - 0.5 * dt);

  // ---- reports
  const reportPower = unstable ? t - lastPower >= POWER_STEP_STORM : t % STEP === 0;
  if (reportPower) {
    lastPower = t;
    const shedNow = unstable && Math.floor(t / POWER_STEP_STORM) % 2 === 1; // the inverter trips and recovers
    const volts = 46 + soc * 0.08 + (unstable ? noise(4.5) : noise(0.15));
    emit(t, 'power-shed', {
      reading: { soc_pct: round(soc), voltage_v: round(volts, 2), load_w: Math.round(shedNow ? load * 0.3 : load), solar_w: Math.round(solar) },
    });
  }
  if (t % STEP !== 0) continue;
  for (const k of tanks) {
    const level = levelFor(k.s.tank!, k.liters) + noise(3);
    const reading =
      k.id === 'north'
        ? { distance_mm: Math.round(k.s.tank!.sensor_height_mm! - level) }
        : k.id === 'school'
          ? { pressure_kpa: round(Math.max(0, level) / MM_PER_KPA, 3) }
          : { level_mm: Math.round(Math.max(0, level)) };
    emit(t, `tank-${k.id}`, { reading });
  }
  emit(t, 'cold-store', {
    reading: { fridge1_c: round(fridge + noise(0.2)), fridge2_c: round(4.6 + noise(0.3)), freezer_c: round(freezer + noise(0.2)), freezer_door: 0 },
  });
  const down = inWindow(t, MAST_DOWN[0], MAST_DOWN[1]);
  if (down && !mastDown) emit(t, 'weather-mast', { status: 'offline' });
  if (!down && mastDown) emit(t, 'weather-mast', { status: 'online' });
  mastDown = down;
  if (!down) {
    const gust = Math.max(0, gustAt(t));
    const rain = inWindow(t, H(1, 9), H(1, 22)) ? 2 + rand() * 4 : 0;
    emit(t, 'weather-mast', {
      reading: { pressure_hpa: round(pressureAt(t) + noise(0.1)), wind_ms: round(gust * 0.6), gust_ms: round(gust), rain_mm: round(rain) },
    });
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
