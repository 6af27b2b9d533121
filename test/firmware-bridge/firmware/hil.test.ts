// Hardware in the loop: the real tank-node firmware (.hex built by its Makefile) runs on a simulated
// ATmega328P (libsimavr), with an ADC voltage / ultrasonic echo chosen here, its UART on a pty.
// tend reads it over serial, and /api/status shows the level that voltage means.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type DeviceConfig } from '../../../config/schema.ts';
import { startSerialDevice } from '../../../firmware-bridge/serial/serial-device.ts';
import { systemClock } from '../../../core/types.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { getJson, startTestVillage } from '../../helpers/village.ts';
import { buildFirmware, buildHarness, startSimBoard, stopAllSimBoards, type SimBoard } from '../helpers/firmware.ts';
import { recordingSink } from '../helpers/sink.ts';

const tmp = tempDir('tend-hil-');
let harness = '';
let hex = { pressure: '', ultrasonic: '' };
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  // interval 1 s so the test sees several sentences; the device id must match the config
  hex = await buildFirmware(join(tmp.dir, 'fw'), { DEVICE: 'hil-node', INTERVAL_MS: 1000 });
  harness = await buildHarness(tmp.dir);
}, 180_000);

afterAll(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  await stopAllSimBoards();
  tmp.remove();
});

/** The firmware on simavr, its UART on a pty in `tty`, read by the serial adapter into a sink. */
async function readBoard(hexFile: string, tty: string, args: string[]) {
  const board = await startSimBoard(harness, hexFile, join(tmp.dir, tty), args);
  cleanups.push(() => board.stop());
  const sink = recordingSink();
  const device: DeviceConfig = { id: 'hil-node', transport: 'serial', serial: { path: board.path }, interval_s: 1 };
  const h = startSerialDevice({ device, sink, clock: systemClock });
  cleanups.push(() => h.stop());
  return { board, sink };
}

/** kPa the firmware computes for a voltage on A0 (0.5–4.5 V = 0–50 kPa) */
const kpa = (mv: number) => ((mv - 500) * 50) / 4000;

describe('tank-node firmware build', () => {
  it('builds .hex files for both sensor variants that fit an ATmega328P', () => {
    for (const f of [hex.pressure, hex.ultrasonic]) {
      expect(existsSync(f)).toBe(true);
      const text = readFileSync(f, 'utf8');
      expect(text.startsWith(':')).toBe(true); // Intel HEX, what avrdude flashes
      expect(text.trimEnd().endsWith(':00000001FF')).toBe(true);
      expect(statSync(f).size).toBeLessThan(32 * 1024 * 2.9); // hex text of < 32 KiB flash
    }
  });
});

describe('tank-node on simavr, read by the serial adapter', () => {
  it('sends pressure for the ADC voltage, and fault=1 / fault=2 instead of a level when the signal is gone or shorted', async () => {
    const { board, sink } = await readBoard(hex.pressure, 'tty-p', ['--adc0', '2500']);

    await waitFor(() => sink.last('pressure_kpa'), 20_000, 'pressure reading');
    // simavr's ADC rounds 1 LSB (4.9 mV) differently from the datasheet formula: allow ±0.1 kPa
    expect(sink.last('pressure_kpa')!.value).toBeCloseTo(kpa(2500), 0);
    expect(Math.abs(sink.last('pressure_kpa')!.value - kpa(2500))).toBeLessThan(0.1);
    expect(sink.last('pressure_kpa')!.source).toBe('serial');

    board.command('adc0 1700');
    await waitFor(() => Math.abs(sink.last('pressure_kpa')!.value - kpa(1700)) < 0.1, 20_000, 'new pressure');

    board.command('adc0 100'); // wire open: a powered transducer never reads below 0.5 V
    await waitFor(() => sink.last('fault')?.value === 1, 20_000, 'fault=1');
    const seen = sink.readings.length;
    board.command('adc0 4900'); // shorted to 5 V
    await waitFor(() => sink.last('fault')?.value === 2, 20_000, 'fault=2');
    // no made-up level came with the faults
    expect(sink.readings.slice(seen).every((r) => r.metric === 'fault')).toBe(true);
    // sequence numbers count up, checksums hold; the only thing dropped may be the tail of a
    // sentence the board was sending while the port opened (opening flushes the input)
    const seqs = sink.readings.map((r) => r.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(sink.rejects.length).toBeLessThanOrEqual(1);
    for (const r of sink.rejects) expect(r).toMatchObject({ reason: 'bad_sentence', detail: expect.stringMatching(/noise/) });
  }, 60_000);

  it('measures distance from the JSN-SR04T echo, and reports no echo as fault=1', async () => {
    // 5831 µs out and back at 343 m/s ≈ 1000 mm
    const { board, sink } = await readBoard(hex.ultrasonic, 'tty-u', ['--echo-us', '5831']);
    await waitFor(() => sink.last('distance_mm'), 20_000, 'distance reading');
    expect(Math.abs(sink.last('distance_mm')!.value - 1000)).toBeLessThanOrEqual(2);
    board.command('echo 0');
    await waitFor(() => sink.last('fault')?.value === 1, 20_000, 'fault=1 without echo');
  }, 60_000);
});

describe('tank-node on simavr, through the village', () => {
  it('shows on /api/status the level the transducer voltage means', async () => {
    let board: SimBoard = await startSimBoard(harness, hex.pressure, join(tmp.dir, 'tty-v'), ['--adc0', '2100']);
    cleanups.push(() => board.stop());
    const config = configSchema.parse({
      version: 1,
      village: { id: 'hilton', name: 'Hilton', population: 180 },
      devices: [{ id: 'hil-node', transport: 'serial', serial: { path: board.path }, interval_s: 1 }],
      sensors: [
        {
          id: 'cistern',
          name: 'Cistern',
          device: 'hil-node',
          metric: 'pressure_kpa',
          kind: 'tank_pressure',
          tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 3000 },
        },
      ],
    });
    const village = await startTestVillage({ config });
    cleanups.push(() => village.cleanup());

    // 2.1 V → 20 kPa → 20 × 101.97 = 2039 mm of water over the transducer
    const expectMm = kpa(2100) * 101.97;
    const tank = await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        const t = st.water.tanks.find((x: { id: string }) => x.id === 'cistern');
        return t && t.level_mm !== null && !t.stale ? t : null;
      },
      30_000,
      'cistern on /api/status',
    );
    expect(Math.abs(tank.level_mm - expectMm)).toBeLessThan(15); // ±1 ADC step ≈ 6 mm
    const litres = (Math.PI * 1000 * 1000 * tank.level_mm) / 1e6;
    expect(tank.liters).toBeCloseTo(litres, -1);

    const sensors = await getJson(`${village.webUrl}/api/sensors`);
    expect(sensors.links.find((l: { name: string }) => l.name === 'serial:hil-node')).toMatchObject({ kind: 'serial', state: 'connected' });
    const metrics = await (await fetch(`${village.webUrl}/metrics`)).text();
    expect(metrics).toMatch(/serial:hil-node/);

    // the water rises
    board.command('adc0 2700'); // 27.5 kPa, 2804 mm: below the 3 m top, where levels clamp
    await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        const t = st.water.tanks.find((x: { id: string }) => x.id === 'cistern');
        return t && Math.abs(t.level_mm - kpa(2700) * 101.97) < 15;
      },
      30_000,
      'higher level on /api/status',
    );

    // board unplugged (the harness exits, its pty disappears): the tank goes stale, not wrong
    await board.stop();
    await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        return st.water.tanks.find((x: { id: string }) => x.id === 'cistern')?.stale === true;
      },
      30_000,
      'stale after unplug',
    );
    // plugged back in: readings resume without restarting tend
    board = await startSimBoard(harness, hex.pressure, join(tmp.dir, 'tty-v'), ['--adc0', '1300']);
    cleanups.push(() => board.stop());
    await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        const t = st.water.tanks.find((x: { id: string }) => x.id === 'cistern');
        return t && !t.stale && Math.abs(t.level_mm - kpa(1300) * 101.97) < 15;
      },
      60_000,
      'fresh level after replug',
    ).catch(async (err: Error) => {
      const st = await getJson(`${village.webUrl}/api/status`);
      throw new Error(
        `${err.message}; link ${JSON.stringify(village.links())}; tank ${JSON.stringify(st.water.tanks)}; harness: ${board.stderr()}; log: ${village.logs.slice(-15).join(' | ')}`,
      );
    });
  }, 120_000);
});
