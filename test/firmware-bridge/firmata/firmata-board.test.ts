// A Firmata board (emulated on a socat pty) read through johnny-five into calibrated values.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceConfig, SensorConfig } from '../../../config/schema.ts';
import { startFirmataBoard } from '../../../firmware-bridge/firmata/firmata-board.ts';
import { applyScale, countsToVolts } from '../../../firmware-bridge/firmata/scale.ts';
import { systemClock } from '../../../core/types.ts';
import { waitFor } from '../../helpers/net.ts';
import { startFirmataEmulator, type FirmataEmulator } from '../helpers/firmata-emulator.ts';
import { killAllPtys, ptyPair, trackedPtyPair, type Cleanups } from '../helpers/pty.ts';
import { recordingSink } from '../helpers/sink.ts';

const cleanups: Cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await killAllPtys();
});

const board = (path: string): DeviceConfig => ({ id: 'pump-uno', transport: 'firmata', serial: { path }, interval_s: 1 });
const sensors: SensorConfig[] = [
  {
    id: 'well',
    device: 'pump-uno',
    kind: 'tank_pressure',
    firmata: { pin: 'A0', scale: [0.5, 4.5, 0, 50] },
    tank: { shape: 'vertical_cylinder', diameter_mm: 1000, height_mm: 3000 },
  },
  { id: 'shed-door', device: 'pump-uno', kind: 'door_open', firmata: { pin: 7 } },
  { id: 'pump-running', device: 'pump-uno', kind: 'door_open', metric: 'pump', firmata: { pin: '8', scale: [0, 1, 1, 0] } },
];

describe('scale', () => {
  it('maps ADC counts to volts (5 V reference) and volts to the sensor unit', () => {
    expect(countsToVolts(1023)).toBe(5);
    expect(countsToVolts(0)).toBe(0);
    expect(countsToVolts(1023, 3.3)).toBeCloseTo(3.3);
    // 0.5–4.5 V transducer, 0–50 kPa
    expect(applyScale(0.5, [0.5, 4.5, 0, 50])).toBe(0);
    expect(applyScale(4.5, [0.5, 4.5, 0, 50])).toBe(50);
    expect(applyScale(2.5, [0.5, 4.5, 0, 50])).toBe(25);
    expect(applyScale(0.1, [0.5, 4.5, 0, 50])).toBeLessThan(0); // broken wire: not clamped, range rejects it
    expect(applyScale(1, [0, 1, 1, 0])).toBe(0); // inverted switch
    expect(applyScale(3.3)).toBe(3.3);
  });
});

describe('startFirmataBoard over a pty', () => {
  it('does the Firmata handshake through johnny-five and emits calibrated pin readings', async () => {
    const pair = await trackedPtyPair(cleanups);
    const emu = await startFirmataEmulator(pair.sim);
    cleanups.push(() => emu.close());
    emu.setAnalog(0, 512); // 2.502 V
    emu.setDigital(7, 0);
    emu.setDigital(8, 1); // pump contact closed → pump running = 0 after the inverting scale
    const sink = recordingSink();
    const h = startFirmataBoard({ device: board(pair.dev), sensors, sink, clock: systemClock, nudge_ms: 200 });
    cleanups.push(() => h.stop());

    await waitFor(() => sink.last('A0') && sink.last('7') && sink.last('pump'), 20_000, 'first readings');
    expect(h.link()).toMatchObject({ name: 'firmata:pump-uno', kind: 'firmata', state: 'connected' });
    expect(emu.seen.capabilityQueries).toBe(1);
    expect(emu.seen.mappingQueries).toBe(1);
    expect(emu.seen.analogReports.has(0)).toBe(true);
    const a0 = sink.last('A0')!;
    expect(a0.source).toBe('firmata');
    expect(a0.device).toBe('pump-uno');
    expect(a0.value).toBeCloseTo(((512 * 5) / 1023 - 0.5) * 12.5, 6); // 25.024 kPa
    expect(sink.last('7')!.value).toBe(0);
    expect(sink.last('pump')!.value).toBe(0);
    expect(sink.isOnline('pump-uno')).toBe(true);

    // the door opens: reported without waiting for the next interval
    emu.setDigital(7, 1);
    await waitFor(() => sink.last('7')?.value === 1, 10_000, 'door open');
    // the level changes
    emu.setAnalog(0, 820); // 4.008 V → 43.84 kPa
    await waitFor(() => Math.abs(sink.last('A0')!.value - ((820 * 5) / 1023 - 0.5) * 12.5) < 0.2, 10_000, 'new pressure');
  }, 40_000);

  it('reconnects after the board is unplugged and plugged back in', async () => {
    const first = await trackedPtyPair(cleanups);
    let emu: FirmataEmulator = await startFirmataEmulator(first.sim);
    emu.setAnalog(0, 300);
    const sink = recordingSink();
    const h = startFirmataBoard({ device: board(first.dev), sensors: sensors.slice(0, 1), sink, clock: systemClock, nudge_ms: 200 });
    cleanups.push(() => h.stop());
    await waitFor(() => sink.last('A0'), 20_000, 'first reading');

    await emu.close();
    await first.unplug();
    await waitFor(() => sink.isOnline('pump-uno') === false, 10_000, 'offline after unplug');
    await waitFor(() => ['reconnecting', 'error'].includes(h.link().state), 10_000, 'reconnecting');
    const before = sink.readings.length;

    const pair = await ptyPair(first.dir);
    cleanups.push(() => pair.unplug());
    emu = await startFirmataEmulator(pair.sim);
    cleanups.push(() => emu.close());
    emu.setAnalog(0, 700);
    await waitFor(() => sink.readings.length > before && h.link().state === 'connected', 30_000, 'readings after replug');
    await waitFor(() => Math.abs(sink.last('A0')!.value - ((700 * 5) / 1023 - 0.5) * 12.5) < 0.2, 10_000, 'new board value');
    expect(sink.isOnline('pump-uno')).toBe(true);
  }, 60_000);

  it('reports a port that answers but is not Firmata as an error and keeps retrying', async () => {
    const pair = await trackedPtyPair(cleanups);
    const sink = recordingSink();
    const h = startFirmataBoard({
      device: board(pair.dev),
      sensors,
      sink,
      clock: systemClock,
      nudge_ms: 50,
      ready_timeout_ms: 400,
      backoff: { first_ms: 50, max_ms: 100 },
    });
    cleanups.push(() => h.stop());
    await waitFor(() => /Firmata handshake/.test(h.link().last_error ?? ''), 15_000, 'handshake error').catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(h.link())}`);
    });
    expect(['reconnecting', 'error']).toContain(h.link().state);
    expect(sink.readings).toHaveLength(0);
  }, 30_000);
});
