// A board running stock StandardFirmata, read through johnny-five. Each configured sensor names a
// pin (`firmata: { pin: "A0" | 7, scale }`); readings go to the sink with metric = the sensor's
// metric, else the pin as written ("A0", "7") — the key ingest maps to the sensor (metricOf).
//
// The port is opened by us with serialport 13 and handed to johnny-five as an object, so
// johnny-five's own serialport 8 (native bindings for old Node) is never loaded for I/O.
// Unplug: the port closes, the board is torn down, and a new one is built on reconnect.
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { DeviceConfig, SensorConfig } from '../../config/schema.ts';
import type { Clock } from '../../core/types.ts';
import type { TransportHandle, TransportSink } from '../../core/transport.ts';
import type { BackoffOptions } from '../../core/backoff.ts';
import { moduleLog, type LogSink } from '../../core/log.ts';
import { DeviceLink, message, silenceMs, type LinkSession } from '../serial/device-link.ts';
import { closeLink, openSerialPort, type PortOpener } from '../serial/port.ts';
import { applyScale, countsToVolts, isAnalogPin } from './scale.ts';

/** StandardFirmata's default rate (Firmata.begin(57600)). */
export const FIRMATA_BAUD = 57600;

// Firmata bytes we send ourselves (firmata protocol v2.x)
const REPORT_VERSION = 0xf9;
const QUERY_FIRMWARE = [0xf0, 0x79, 0xf7];

// The part of johnny-five we use (it ships no types).
interface J5Board extends EventEmitter {
  io: (EventEmitter & { reportVersionTimeoutId?: NodeJS.Timeout }) | null;
  timer: NodeJS.Timeout | null;
  isReady: boolean;
}
interface J5Sensor extends EventEmitter {
  disable(): void;
}
interface J5 {
  Board: (new (opts: Record<string, unknown>) => J5Board) & { cache: J5Board[]; Serial?: { used: string[] } };
  Sensor: new (opts: Record<string, unknown>) => J5Sensor;
}

let j5: J5 | null = null;

/** Let go of a board johnny-five still holds. */
function forget(five: J5, board: J5Board, path: string): void {
  if (board.timer) clearTimeout(board.timer);
  if (board.io?.reportVersionTimeoutId) clearTimeout(board.io.reportVersionTimeoutId);
  // the old firmata.js instance still listens on the port; an error there after we let go must
  // not become an unhandled 'error' event
  board.io?.removeAllListeners();
  board.io?.on('error', () => undefined);
  // johnny-five keeps every board (and, in some versions, every port path) in module-wide lists;
  // a replugged board is a new Board, so drop the old one rather than let the lists grow
  const cache = five.Board.cache;
  const i = cache.indexOf(board);
  if (i >= 0) cache.splice(i, 1);
  const used = five.Board.Serial?.used;
  const j = used ? used.indexOf(path) : -1;
  if (used && j >= 0) used.splice(j, 1);
}
function johnnyFive(): J5 {
  // loaded on first use: a village without Firmata boards never loads it
  j5 ??= createRequire(import.meta.url)('johnny-five') as J5;
  return j5;
}

export interface FirmataBoardOptions {
  device: DeviceConfig;
  sensors: SensorConfig[];
  sink: TransportSink;
  clock: Clock;
  log?: LogSink;
  open?: PortOpener;
  backoff?: BackoffOptions;
  /** give up on a board that has not finished the Firmata handshake after this long (ms) */
  ready_timeout_ms?: number;
  /**
   * ask for the version after this long without one (ms). A board that resets when the port opens
   * (Uno, Nano) announces itself after its bootloader (~2 s); one that does not reset stays quiet
   * until asked, and firmata.js would wait 5 s before asking.
   */
  nudge_ms?: number;
}

export function startFirmataBoard(opts: FirmataBoardOptions): TransportHandle & { checkSilence(): void } {
  const { device, sink, clock } = opts;
  if (!device.serial) throw new Error(`device ${device.id}: a firmata board needs serial: { path }`);
  const path = device.serial.path;
  const baudRate = device.serial.baud ?? FIRMATA_BAUD;
  const open = opts.open ?? openSerialPort;
  const name = `firmata:${device.id}`;
  const log = moduleLog(opts.log, name, { clock });
  const intervalMs = device.interval_s * 1000;
  const readyTimeout = opts.ready_timeout_ms ?? 10_000;
  const nudgeMs = opts.nudge_ms ?? 2500;
  const pins = opts.sensors.filter((s) => s.device === device.id && s.firmata);

  const link = new DeviceLink({
    name,
    kind: 'firmata',
    clock,
    // analog pins report every 19 ms, and we ping digital-only boards: silence means trouble
    silence_ms: silenceMs(device.interval_s),
    backoff: opts.backoff,
    log: opts.log,
    online: (online) => sink.online(device.id, online),
    async connect(hooks): Promise<LinkSession> {
      const port = await open({ path, baudRate });
      const five = johnnyFive();
      const timers: NodeJS.Timeout[] = [];
      const sensors: J5Sensor[] = [];
      let board: J5Board | null = null;
      let ready = false;

      const teardown = async () => {
        for (const t of timers) clearInterval(t);
        try {
          for (const s of sensors) s.disable();
          if (board) forget(five, board, path);
        } catch (err) {
          log.warn(`cleaning up the old board: ${message(err)}`);
        }
        port.removeAllListeners('data');
        await closeLink(port);
      };

      try {
        await new Promise<void>((resolve, reject) => {
          const fail = (err: unknown) => reject(err instanceof Error ? err : new Error(message(err)));
          const giveUp = setTimeout(
            () => fail(new Error(`no Firmata handshake within ${readyTimeout / 1000} s (StandardFirmata flashed? baud ${baudRate}?)`)),
            readyTimeout,
          );
          timers.push(giveUp);
          port.once('close', () => fail(new Error('port closed during the Firmata handshake')));
          port.on('error', (err: Error) => (ready ? hooks.lost(err) : fail(err)));
          board = new five.Board({ port, repl: false, debug: false, sigint: false, timeout: readyTimeout + 1000 });
          // johnny-five reports failures as 'error' events (and throws without a listener)
          board.on('error', (e: unknown) => {
            const err = new Error(message(e));
            if (ready) hooks.lost(err);
            else fail(err);
          });
          board.on('fail', (e: unknown) => log.error(message(e)));
          const nudge = setTimeout(() => {
            if (!ready) port.write(Buffer.from([REPORT_VERSION, ...QUERY_FIRMWARE]));
          }, nudgeMs);
          timers.push(nudge);
          board.once('ready', () => {
            ready = true;
            clearTimeout(giveUp);
            resolve();
          });
        });
      } catch (err) {
        await teardown();
        throw err;
      }

      // connected: the board speaks Firmata
      const b = board as unknown as J5Board;
      port.on('data', () => hooks.heard());
      port.on('close', (err?: Error | null) => hooks.lost(err ?? 'port closed'));
      hooks.heard();
      for (const s of pins) sensors.push(watchPin(five, b, s));
      // digital pins only report on change: ask for the version now and then so a quiet board
      // still shows it is alive
      const ping = setInterval(() => port.write(Buffer.from([REPORT_VERSION])), Math.max(200, Math.round(intervalMs / 2)));
      timers.push(ping);
      return { close: teardown };
    },
  });

  function watchPin(five: J5, board: J5Board, s: SensorConfig): J5Sensor {
    const f = s.firmata!;
    const analog = isAnalogPin(f.pin);
    const metric = s.metric ?? String(f.pin);
    // the sensor's own median over each window smooths ADC noise; one reading per interval
    // goes on, plus at once when a digital pin changes (a door opening should not wait)
    const sensor = new five.Sensor({
      board,
      pin: analog ? f.pin : Number(f.pin),
      type: analog ? 'analog' : 'digital',
      freq: analog ? Math.min(intervalMs, 1000) : Math.min(intervalMs, 100),
      threshold: 1,
    });
    let lastSent = -Infinity;
    let lastValue: number | null = null;
    sensor.on('data', (raw: number) => {
      const now = clock.now();
      const x = analog ? countsToVolts(raw, f.vref) : raw ? 1 : 0;
      const value = applyScale(x, f.scale);
      // within the interval only a digital change goes on at once
      if (now - lastSent < intervalMs && (analog || value === lastValue)) return;
      lastSent = now;
      lastValue = value;
      sink.reading({ device: device.id, metric, value, ts: now, source: 'firmata' });
    });
    return sensor;
  }

  link.start();
  return { link: () => link.status(), stop: () => link.stop(), checkSilence: () => link.checkSilence() };
}
