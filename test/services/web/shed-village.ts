// A demo-like village for the shed screen and accessibility tests: the real demo config with four
// more tanks (so the tank list is longer than one screen page), real MQTT devices, and a few hours
// of readings laid down on a clock the test moves, so the sparklines have history to show.
import type { MqttClient } from 'mqtt';
import type { AssemblyPrompt, Clock } from '../../../core/types.ts';
import { waitFor } from '../../helpers/net.ts';
import { closeDevices, connectDevices, demoConfig, getJson, startTestVillage } from '../../helpers/village.ts';

export type ShedVillage = Awaited<ReturnType<typeof startTestVillage>> & {
  clock: Clock & { t: number };
  /** every device reports once at the current (fake) time */
  reportAll(): Promise<void>;
  /** move the clock by `minutes`, reporting every `stepMin` */
  runFor(minutes: number, stepMin: number): Promise<void>;
  /** the battery falls to 8% and stays there until the assembly opens a prompt */
  crisis(): Promise<AssemblyPrompt>;
  close(): Promise<void>;
};

const EXTRA_TANKS = ['east', 'west', 'mill', 'orchard'];

export async function startShedVillage(opts: { hoursOfHistory?: number } = {}): Promise<ShedVillage> {
  const hours = opts.hoursOfHistory ?? 3;
  const clock = {
    t: Date.now() - hours * 3_600_000,
    now() {
      return this.t;
    },
  };
  const config = demoConfig();
  const north = config.sensors.find((s) => s.id === 'north')!;
  for (const [i, id] of EXTRA_TANKS.entries()) {
    config.sensors.push({ ...north, id, name: `${id[0]!.toUpperCase()}${id.slice(1)} tank`, metric: `distance${i + 2}_mm` });
  }
  const readings: Record<string, Record<string, number>> = {
    'tank-north': { distance_mm: 812, distance2_mm: 400, distance3_mm: 1300, distance4_mm: 1700, distance5_mm: 950 },
    'tank-school': { pressure_kpa: 12.5 },
    'tank-hill': { level_mm: 1500 },
    'power-shed': { soc_pct: 72, voltage_v: 52.1, load_w: 2100, solar_w: 1400 },
    'cold-store': { fridge1_c: 3.5, fridge2_c: 4.2, freezer_c: -18.5, freezer_door: 0 },
    'weather-mast': { pressure_hpa: 1012.4, wind_ms: 4.2, gust_ms: 7.9, rain_mm: 0 },
  };
  const village = await startTestVillage({ clock, config });
  let devices = new Map<string, MqttClient>();
  try {
    devices = await connectDevices(village, Object.keys(readings));
  } catch (err) {
    await village.cleanup();
    throw err;
  }
  const publish = (device: string, reading: Record<string, number>) =>
    new Promise<void>((resolve, reject) => {
      devices.get(device)!.publish(`tend/ashgrove/dev/${device}/reading`, JSON.stringify(reading), { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
  let round = 0;
  async function reportAll(): Promise<void> {
    round++;
    // the water goes down slowly and the fridges swing a little, so the lines have a shape
    const n = readings['tank-north']!;
    for (const k of Object.keys(n)) n[k] = n[k]! + 6;
    const c = readings['cold-store']!;
    c.fridge1_c = 3.5 + Math.sin(round / 3);
    c.fridge2_c = 4.2 + Math.cos(round / 4);
    const p = readings['power-shed']!;
    if (p.soc_pct! > 20) p.soc_pct = 72 - round * 0.4;
    for (const [d, r] of Object.entries(readings)) await publish(d, r);
    const at = new Date(clock.t).toISOString();
    await waitFor(() => village.sensors().every((s) => s.last_seen !== null && s.last_seen >= at), 10_000, 'readings landed');
    village.refresh();
  }
  async function runFor(minutes: number, stepMin: number): Promise<void> {
    for (let m = 0; m < minutes; m += stepMin) {
      clock.t += stepMin * 60_000;
      await reportAll();
    }
  }
  async function crisis(): Promise<AssemblyPrompt> {
    readings['power-shed']!.soc_pct = 8;
    const api = () => getJson<AssemblyPrompt[]>(`${village.webUrl}/api/assembly`);
    for (let i = 0; i < 20 && !(await api()).length; i++) {
      clock.t += 30_000;
      await reportAll();
    }
    const open = await api();
    if (!open.length) throw new Error('no prompt opened');
    return open[0]!;
  }
  await reportAll();
  if (hours > 0) await runFor(hours * 60 - 1, 10);
  return Object.assign(village, {
    clock,
    reportAll,
    runFor,
    crisis,
    async close() {
      await closeDevices(devices);
      await village.cleanup();
    },
  });
}
