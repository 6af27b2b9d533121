// Stock StandardFirmata in the loop: the prebuilt StandardFirmata.cpp.hex that avrgirl-arduino
// flashes onto an Uno runs on a simulated ATmega328P (libsimavr, the same harness as the tank-node
// HIL test), its UART on a pty that carries bytes both ways. tend's Firmata transport does the
// real johnny-five handshake with it, the harness sets the voltage on an analog pin, and the level
// that voltage means shows on /api/status; unplugged, the tank goes stale, replugged, live again.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type DeviceConfig, type SensorConfig } from '../../../config/schema.ts';
import { startFirmataBoard } from '../../../firmware-bridge/firmata/firmata-board.ts';
import { systemClock } from '../../../core/types.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { getJson, startTestVillage } from '../../helpers/village.ts';
import { buildHarness, STANDARD_FIRMATA_HEX, startSimBoard, stopAllSimBoards, type SimBoard } from '../helpers/firmware.ts';
import { recordingSink } from '../helpers/sink.ts';

const tmp = tempDir('tend-firmata-hil-');
let harness = '';
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  harness = await buildHarness(tmp.dir);
}, 180_000);

afterAll(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  await stopAllSimBoards();
  tmp.remove();
});

// a 0.5–4.5 V pressure transducer rated 0–50 kPa on A0, and a 0–5 V float gauge on A1 reading 0–3000 mm
const sensors: SensorConfig[] = [
  {
    id: 'cistern',
    name: 'Cistern',
    device: 'pump-uno',
    kind: 'tank_pressure',
    firmata: { pin: 'A0', scale: [0.5, 4.5, 0, 50] },
    tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 3000 },
  },
  {
    id: 'school',
    name: 'School tank',
    device: 'pump-uno',
    kind: 'tank_level',
    firmata: { pin: 'A1', scale: [0, 5, 0, 3000] },
    tank: { shape: 'box', length_mm: 2000, width_mm: 2000, height_mm: 3000 },
  },
];

/** kPa a voltage on A0 means (0.5–4.5 V = 0–50 kPa) */
const kpa = (mv: number) => ((mv - 500) * 50) / 4000;
/** mm of water over the transducer for a voltage on A0 (1 kPa = 101.97 mm of water) */
const levelMm = (mv: number) => kpa(mv) * 101.97;
/** one ADC step is 5 V / 1023 ≈ 4.9 mV ≈ 0.06 kPa ≈ 6 mm; simavr rounds one step differently from tend's counts → volts */
const STEP_KPA = 0.07;

describe('StandardFirmata on simavr, read by the Firmata transport', () => {
  it('answers the johnny-five handshake over the pty and reports analog pins as they change', async () => {
    const board = await startSimBoard(harness, STANDARD_FIRMATA_HEX, join(tmp.dir, 'tty-s'), ['--adc0', '2500', '--adc1', '1000']);
    cleanups.push(() => board.stop());
    const sink = recordingSink();
    const device: DeviceConfig = { id: 'pump-uno', transport: 'firmata', serial: { path: board.path }, interval_s: 1 };
    const h = startFirmataBoard({ device, sensors, sink, clock: systemClock, nudge_ms: 500 });
    cleanups.push(() => h.stop());

    await waitFor(() => sink.last('A0') && sink.last('A1'), 30_000, 'first analog readings').catch((err: Error) => {
      throw new Error(`${err.message}; link ${JSON.stringify(h.link())}; harness: ${board.stderr().slice(-500)}`);
    });
    expect(h.link()).toMatchObject({ name: 'firmata:pump-uno', kind: 'firmata', state: 'connected' });
    expect(sink.isOnline('pump-uno')).toBe(true);
    expect(sink.last('A0')).toMatchObject({ device: 'pump-uno', source: 'firmata' });
    expect(Math.abs(sink.last('A0')!.value - kpa(2500))).toBeLessThan(STEP_KPA);
    expect(Math.abs(sink.last('A1')!.value - 600)).toBeLessThan(4); // 1 V of 5 V on a 0–3000 mm gauge

    board.command('adc0 3700');
    await waitFor(() => Math.abs(sink.last('A0')!.value - kpa(3700)) < STEP_KPA, 15_000, 'A0 follows the new voltage');
    expect(Math.abs(sink.last('A1')!.value - 600)).toBeLessThan(4); // the other pin is untouched

    await h.stop();
    await board.stop();
    // the handshake, the pin mode and report requests went host → board; the reports came back
    const carried = board.carried();
    expect(carried?.rx).toBeGreaterThan(10);
    expect(carried?.tx).toBeGreaterThan(200);
  }, 90_000);
});

describe('StandardFirmata on simavr, through the village', () => {
  it('shows the level on /api/status, follows the voltage, goes stale when unplugged and live again when replugged', async () => {
    const link = join(tmp.dir, 'tty-v');
    let board: SimBoard = await startSimBoard(harness, STANDARD_FIRMATA_HEX, link, ['--adc0', '2100', '--adc1', '2500']);
    cleanups.push(() => board.stop());
    const config = configSchema.parse({
      version: 1,
      village: { id: 'hilton', name: 'Hilton', population: 180 },
      devices: [{ id: 'pump-uno', transport: 'firmata', serial: { path: link }, interval_s: 1 }],
      sensors,
    });
    const village = await startTestVillage({ config });
    cleanups.push(() => village.cleanup());

    const cistern = async () => {
      const st = await getJson(`${village.webUrl}/api/status`);
      return st.water.tanks.find((x: { id: string }) => x.id === 'cistern') as { level_mm: number | null; liters: number; stale: boolean } | undefined;
    };
    const fail = async (err: Error): Promise<never> => {
      throw new Error(
        `${err.message}; links ${JSON.stringify(village.links())}; tank ${JSON.stringify(await cistern())}; harness: ${board.stderr().slice(-300)}; log: ${village.logs.slice(-10).join(' | ')}`,
      );
    };

    // 2.1 V → 20 kPa → 2039 mm of water over the transducer
    const tank = await waitFor(
      async () => {
        const t = await cistern();
        return t && t.level_mm !== null && !t.stale ? t : null;
      },
      30_000,
      'cistern on /api/status',
    ).catch(fail);
    expect(Math.abs(tank.level_mm! - levelMm(2100))).toBeLessThan(15);
    expect(tank.liters).toBeCloseTo((Math.PI * 1000 * 1000 * tank.level_mm!) / 1e6, -1);
    const sensorsApi = await getJson(`${village.webUrl}/api/sensors`);
    expect(sensorsApi.links.find((l: { name: string }) => l.name === 'firmata:pump-uno')).toMatchObject({ kind: 'firmata', state: 'connected' });

    // the water rises
    board.command('adc0 2700');
    await waitFor(
      async () => {
        const t = await cistern();
        return t && t.level_mm !== null && Math.abs(t.level_mm - levelMm(2700)) < 15;
      },
      30_000,
      'higher level on /api/status',
    ).catch(fail);

    // unplugged (the board stops, its pty disappears): the tank goes stale, its last level kept
    await board.stop();
    const stale = await waitFor(
      async () => {
        const t = await cistern();
        return t?.stale ? t : null;
      },
      30_000,
      'stale after unplug',
    ).catch(fail);
    expect(Math.abs(stale.level_mm! - levelMm(2700)) < 15).toBe(true);

    // plugged back in with less water: the board boots again, tend does the handshake again
    board = await startSimBoard(harness, STANDARD_FIRMATA_HEX, link, ['--adc0', '1300', '--adc1', '2500']);
    cleanups.push(() => board.stop());
    await waitFor(
      async () => {
        const t = await cistern();
        return t && !t.stale && t.level_mm !== null && Math.abs(t.level_mm - levelMm(1300)) < 15;
      },
      60_000,
      'fresh level after replug',
    ).catch(fail);
    expect((await getJson(`${village.webUrl}/api/sensors`)).links.find((l: { name: string }) => l.name === 'firmata:pump-uno')).toMatchObject({
      state: 'connected',
    });
  }, 180_000);
});
