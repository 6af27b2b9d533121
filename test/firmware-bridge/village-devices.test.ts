// Cabled devices through the whole village: a pty device (socat) writing $TEND sentences, and a
// Firmata board emulator read through johnny-five, both ending on /api/status, /api/sensors and
// /metrics; unplug and replug without restarting tend.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { encodeSentence } from '../../firmware-bridge/protocol/sentence.ts';
import { waitFor } from '../helpers/net.ts';
import { getJson, startTestVillage } from '../helpers/village.ts';
import { startFirmataEmulator } from './helpers/firmata-emulator.ts';
import { killAllPtys, ptyPair, trackedPtyPair, trackedSim, writeSim, type Cleanups } from './helpers/pty.ts';

const cleanups: Cleanups = [];
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
});
afterAll(async () => {
  await killAllPtys();
});

async function tank(webUrl: string, id: string) {
  const st = await getJson(`${webUrl}/api/status`);
  return st.water.tanks.find((t: { id: string }) => t.id === id) as { level_mm: number | null; stale: boolean; liters: number | null } | undefined;
}

describe('a serial tank-node on a pty, through the village', () => {
  it('shows the tank, goes stale when unplugged, and resumes when plugged back in', async () => {
    const first = await trackedPtyPair(cleanups, 'ttyUSB0');
    const config = configSchema.parse({
      version: 1,
      village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
      devices: [{ id: 'shed-uno', transport: 'serial', serial: { path: first.dev }, interval_s: 2 }],
      sensors: [
        {
          id: 'north',
          name: 'North tank',
          device: 'shed-uno',
          metric: 'distance_mm',
          kind: 'tank_distance',
          tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000, sensor_height_mm: 2100 },
        },
      ],
    });
    const village = await startTestVillage({ config });
    cleanups.push(() => village.cleanup());
    await waitFor(() => village.links().find((l) => l.name === 'serial:shed-uno')?.state === 'connected', 15_000, 'port open');

    let sim = await trackedSim(cleanups, first.sim);
    let seq = 0;
    await writeSim(sim, `garbage\r\n${encodeSentence({ device: 'shed-uno', seq: seq++, metrics: { distance_mm: 600 } })}`);
    // level = sensor height − distance = 1500 mm
    await waitFor(async () => (await tank(village.webUrl, 'north'))?.level_mm === 1500, 20_000, 'tank on /api/status');
    const st = await getJson(`${village.webUrl}/api/status`);
    expect(st.sensors.rejected_total).toBeGreaterThanOrEqual(1); // the garbage line, counted
    const sensors = await getJson(`${village.webUrl}/api/sensors`);
    expect(sensors.links.find((l: { name: string }) => l.name === 'serial:shed-uno')).toMatchObject({ kind: 'serial', state: 'connected', last_error: null });

    // cable out
    await first.unplug();
    await waitFor(async () => (await tank(village.webUrl, 'north'))?.stale === true, 10_000, 'stale after unplug');
    await waitFor(() => ['reconnecting', 'error'].includes(village.links().find((l) => l.name === 'serial:shed-uno')!.state), 10_000, 'reconnecting');
    const s2 = await getJson(`${village.webUrl}/api/sensors`);
    const link = s2.links.find((l: { name: string }) => l.name === 'serial:shed-uno');
    expect(['reconnecting', 'error']).toContain(link.state);
    expect(link.last_error).toBeTruthy();
    const metrics = await (await fetch(`${village.webUrl}/metrics`)).text();
    expect(metrics).toMatch(/serial:shed-uno/);

    // cable back in, same path; tend is not restarted
    const pair = await ptyPair(first.dir, 'ttyUSB0');
    cleanups.push(() => pair.unplug());
    await waitFor(() => village.links().find((l) => l.name === 'serial:shed-uno')?.state === 'connected', 30_000, 'reconnected');
    sim = await trackedSim(cleanups, pair.sim);
    await writeSim(sim, encodeSentence({ device: 'shed-uno', seq: seq++, metrics: { distance_mm: 700 } }));
    await waitFor(
      async () => {
        const tk = await tank(village.webUrl, 'north');
        return tk && !tk.stale && tk.level_mm === 1400;
      },
      20_000,
      'fresh level after replug',
    );
  }, 90_000);
});

describe('a StandardFirmata board through johnny-five, through the village', () => {
  it('turns an analog pin into a calibrated tank level and a digital pin into a door state', async () => {
    const pair = await trackedPtyPair(cleanups, 'ttyACM0');
    const emu = await startFirmataEmulator(pair.sim, { announce: false });
    cleanups.push(() => emu.close());
    emu.setAnalog(0, 410); // 2.004 V on a 0.5–4.5 V, 0–50 kPa transducer → 18.80 kPa
    emu.setDigital(7, 1);
    const config = configSchema.parse({
      version: 1,
      village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
      devices: [{ id: 'well-uno', transport: 'firmata', serial: { path: pair.dev }, interval_s: 1 }],
      sensors: [
        {
          id: 'well',
          name: 'Well tank',
          device: 'well-uno',
          kind: 'tank_pressure',
          firmata: { pin: 'A0', scale: [0.5, 4.5, 0, 50] },
          tank: { shape: 'vertical_cylinder', diameter_mm: 1500, height_mm: 3000 },
        },
        { id: 'fridge', device: 'well-uno', kind: 'cold_temp', metric: 'A1', firmata: { pin: 'A1', scale: [0, 5, -50, 150] }, cold: { safe_max_c: 5 } },
        { id: 'fridge-door', device: 'well-uno', kind: 'door_open', unit: 'fridge', firmata: { pin: 7 } },
      ],
    });
    emu.setAnalog(1, 225); // 1.0997 V → 4.0 °C with a -50…150 °C over 0…5 V sensor
    const village = await startTestVillage({ config });
    cleanups.push(() => village.cleanup());
    const kpa = ((410 * 5) / 1023 - 0.5) * 12.5;
    // johnny-five waits 5 s for a quiet board before asking; tend asks after 2.5 s
    await waitFor(
      async () => {
        const tk = await tank(village.webUrl, 'well');
        return tk && tk.level_mm !== null && Math.abs(tk.level_mm - kpa * 101.97) < 1;
      },
      30_000,
      'well level on /api/status',
    );
    // the A1 report may land a moment after A0's: wait for it rather than race it
    const unit = await waitFor(
      async () => {
        const u = (await getJson(`${village.webUrl}/api/status`)).cold.units.find((x: { id: string }) => x.id === 'fridge');
        return u && u.temp_c !== null ? u : null;
      },
      10_000,
      'fridge temperature',
    );
    expect(unit.temp_c).toBeCloseTo(((225 * 5) / 1023) * 40 - 50, 1);
    await waitFor(
      async () => (await getJson(`${village.webUrl}/api/status`)).cold.units.find((u: { id: string }) => u.id === 'fridge')?.door_open === true,
      10_000,
      'door open',
    );
    const sensors = await getJson(`${village.webUrl}/api/sensors`);
    expect(sensors.links.find((l: { name: string }) => l.name === 'firmata:well-uno')).toMatchObject({ kind: 'firmata', state: 'connected' });
    expect(emu.seen.capabilityQueries).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
