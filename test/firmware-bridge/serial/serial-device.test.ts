// The serial adapter over real pseudo-terminals (socat), with serialport 13 on the tend side.
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DeviceConfig } from '../../../config/schema.ts';
import { Backoff } from '../../../core/backoff.ts';
import type { SerialLink } from '../../../firmware-bridge/serial/port.ts';
import { startSerialDevice, type SerialDeviceHandle } from '../../../firmware-bridge/serial/serial-device.ts';
import { encodeSentence } from '../../../firmware-bridge/protocol/sentence.ts';
import { systemClock } from '../../../core/types.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { killAllPtys, ptyPair, trackedPtyPair, trackedSim, writeSim, type Cleanups } from '../helpers/pty.ts';
import { recordingSink } from '../helpers/sink.ts';

const serialDevice = (path: string, interval_s = 5, id = 'shed-uno'): DeviceConfig => ({
  id,
  transport: 'serial',
  serial: { path, baud: 115200 },
  interval_s,
});

const cleanups: Cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await killAllPtys();
});

function track(h: SerialDeviceHandle): SerialDeviceHandle {
  cleanups.push(() => h.stop());
  return h;
}

/** shed-uno on a fresh pty, connected, with the board's end open */
async function connectedDevice(opts: { interval_s?: number; log?: (m: string) => void } = {}) {
  const pair = await trackedPtyPair(cleanups);
  const sink = recordingSink();
  const h = track(startSerialDevice({ device: serialDevice(pair.dev, opts.interval_s), sink, clock: systemClock, log: opts.log }));
  await waitFor(() => h.link().state === 'connected', 10_000, 'connected');
  const sim = await trackedSim(cleanups, pair.sim);
  return { h, sink, sim, pair };
}

describe('Backoff', () => {
  it('grows 1 s, 2 s, 4 s … and stays at 30 s, and starts over after reset', () => {
    const b = new Backoff();
    const seen = Array.from({ length: 8 }, () => b.next());
    expect(seen).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(b.capped).toBe(true);
    b.reset();
    expect(b.capped).toBe(false);
    expect(b.next()).toBe(1000);
  });
});

describe('startSerialDevice over a socat pty', () => {
  it('turns sentences into raw readings and reports bad input by reason', async () => {
    const logs: string[] = [];
    const { h, sink, sim } = await connectedDevice({ log: (m) => logs.push(m) });
    await writeSim(sim, `\x00${encodeSentence({ device: 'shed-uno', seq: 1, metrics: { distance_mm: 812, fault: 0 } })}`);
    await writeSim(sim, encodeSentence({ device: 'intruder', seq: 2, metrics: { distance_mm: 1 } }));
    await writeSim(sim, '$TEND,shed-uno,3,distance_mm=9*00\r\n');
    for (let i = 0; i < 20; i++) await writeSim(sim, 'noise\r\n');
    await writeSim(sim, encodeSentence({ device: 'shed-uno', seq: 4, metrics: { distance_mm: 815 } }));
    await waitFor(() => sink.readings.some((r) => r.seq === 4), 10_000, 'seq 4');
    expect(sink.readings.map((r) => [r.metric, r.value, r.seq, r.source, r.device])).toEqual([
      ['distance_mm', 812, 1, 'serial', 'shed-uno'],
      ['fault', 0, 1, 'serial', 'shed-uno'],
      ['distance_mm', 815, 4, 'serial', 'shed-uno'],
    ]);
    const reasons = sink.rejects.map((r) => r.reason);
    expect(reasons.filter((r) => r === 'wrong_port')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'bad_checksum')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'bad_sentence')).toHaveLength(21);
    expect(sink.rejects.every((r) => r.device === 'shed-uno')).toBe(true);
    expect(h.rejected()).toMatchObject({ wrong_port: 1, bad_checksum: 1, bad_sentence: 21 });
    // 21 noise lines, logged once (rate-limited), not 21 times
    expect(logs.filter((l) => l.includes('bad_sentence'))).toHaveLength(1);
    expect(sink.isOnline('shed-uno')).toBe(true);
    expect(h.link()).toMatchObject({ name: 'serial:shed-uno', kind: 'serial', state: 'connected' });
  }, 30_000);

  it('goes offline when the cable is pulled, retries, and resumes when it is plugged back in', async () => {
    const { h, sink, sim, pair: first } = await connectedDevice({ interval_s: 30 });
    await writeSim(sim, encodeSentence({ device: 'shed-uno', seq: 1, metrics: { distance_mm: 800 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 10_000, 'online');

    await first.unplug(); // cable out
    await waitFor(() => sink.isOnline('shed-uno') === false, 10_000, 'offline after unplug');
    await waitFor(() => h.link().state === 'reconnecting', 10_000, 'reconnecting');
    expect(h.link().last_error).toBeTruthy();
    // while it is out, tend keeps trying (port missing: the attempts fail and the error is kept)
    await new Promise((r) => setTimeout(r, 1500));
    expect(['reconnecting', 'error']).toContain(h.link().state);

    const pair = await ptyPair(first.dir); // cable back in, same device path
    cleanups.push(() => pair.unplug());
    await waitFor(() => h.link().state === 'connected', 20_000, 'reconnected');
    const replugged = await trackedSim(cleanups, pair.sim);
    await writeSim(replugged, encodeSentence({ device: 'shed-uno', seq: 2, metrics: { distance_mm: 790 } }));
    await waitFor(() => sink.readings.some((r) => r.seq === 2), 10_000, 'reading after replug');
    expect(sink.isOnline('shed-uno')).toBe(true);
    expect(sink.onlines.map((o) => o.online)).toEqual([true, false, true]);
  }, 60_000);

  it('counts a silent board as offline after 1.5 × interval_s and back online when it speaks', async () => {
    const { h, sink, sim } = await connectedDevice({ interval_s: 1 });
    await writeSim(sim, encodeSentence({ device: 'shed-uno', seq: 1, metrics: { distance_mm: 800 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 10_000, 'online');
    await waitFor(() => sink.isOnline('shed-uno') === false, 10_000, 'offline when silent');
    expect(h.link().last_error).toMatch(/nothing heard/);
    expect(h.link().state).toBe('connected'); // the port itself is still fine
    await writeSim(sim, encodeSentence({ device: 'shed-uno', seq: 2, metrics: { distance_mm: 801 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 10_000, 'online again');
  }, 30_000);

  it('keeps retrying a port that is not there, reporting error once the delay is at its cap', async () => {
    const sink = recordingSink();
    const h = track(
      startSerialDevice({
        device: serialDevice('/nonexistent/ttyUSB9'),
        sink,
        clock: systemClock,
        backoff: { first_ms: 10, max_ms: 40 },
      }),
    );
    await waitFor(() => h.link().state === 'error', 10_000, 'error state');
    expect(h.link().last_error).toMatch(/ENOENT|No such file|cannot open/i);
    expect(sink.readings).toHaveLength(0);
  }, 20_000);
});

describe('silence on a fake clock', () => {
  it('marks offline after 1.5 × interval_s without a sentence, and reopens the port after 3 ×', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const wires: SerialLink[] = [];
    const open = async () => {
      const w = new PassThrough() as unknown as SerialLink;
      wires.push(w);
      return w;
    };
    const sink = recordingSink();
    const h = track(startSerialDevice({ device: serialDevice('/fake', 10), sink, clock, open, backoff: { first_ms: 10, max_ms: 10 } }));
    await waitFor(() => h.link().state === 'connected', 5000, 'connected');
    wires[0]!.write(encodeSentence({ device: 'shed-uno', seq: 1, metrics: { distance_mm: 700 } }));
    await waitFor(() => sink.readings.length === 1, 5000, 'reading');
    expect(sink.readings[0]!.ts).toBe(now);
    now += 14_000;
    h.checkSilence();
    expect(sink.isOnline('shed-uno')).toBe(true);
    now += 1_001;
    h.checkSilence();
    expect(sink.isOnline('shed-uno')).toBe(false);
    expect(h.link().state).toBe('connected');
    expect(wires).toHaveLength(1);
    now += 15_000;
    h.checkSilence();
    await waitFor(() => /reopening/.test(h.link().last_error ?? ''), 5000, 'reopening');
    await waitFor(() => wires.length === 2 && h.link().state === 'connected', 5000, 'reopened');
    wires[1]!.write(encodeSentence({ device: 'shed-uno', seq: 2, metrics: { distance_mm: 701 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 5000, 'online again');
  });
});

describe('a port whose device path goes away', () => {
  it('goes offline within a couple of seconds even when the port itself reports nothing', async () => {
    // the "adapter": a path on disk and a stream that never errors or closes, as a port whose
    // driver does not report the unplug
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const path = join(dir.dir, 'ttyUSB0');
    writeFileSync(path, '');
    const wires: SerialLink[] = [];
    const open = async () => {
      if (!existsSync(path)) throw new Error('ENOENT: no such file');
      const w = new PassThrough() as unknown as SerialLink;
      wires.push(w);
      return w;
    };
    const sink = recordingSink();
    const h = track(startSerialDevice({ device: serialDevice(path, 30), sink, clock: systemClock, open, backoff: { first_ms: 50, max_ms: 50 } }));
    await waitFor(() => h.link().state === 'connected', 5000, 'connected');
    wires[0]!.write(encodeSentence({ device: 'shed-uno', seq: 1, metrics: { distance_mm: 700 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 5000, 'online');
    unlinkSync(path); // pulled out
    await waitFor(() => sink.isOnline('shed-uno') === false, 3000, 'offline once the path is gone');
    expect(h.link().last_error).toMatch(/gone/);
    await waitFor(() => h.link().state === 'reconnecting' || h.link().state === 'error', 3000, 'retrying');
    writeFileSync(path, ''); // plugged back in
    await waitFor(() => h.link().state === 'connected' && wires.length === 2, 5000, 'reconnected');
    wires[1]!.write(encodeSentence({ device: 'shed-uno', seq: 2, metrics: { distance_mm: 701 } }));
    await waitFor(() => sink.isOnline('shed-uno') === true, 5000, 'online again');
  });
});
