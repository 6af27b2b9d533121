// A device on a serial port speaking $TEND sentences (tend's tank-node firmware, or anything that
// writes the $TEND line protocol of docs/architecture.md). Port → SentenceParser → RawReadings
// on the sink.
// Cable pulled: the port closes (or its device path is gone, checked every second), the device
// goes offline at once and the link retries 1 s … 30 s.
// Board alive but silent for 1.5 × interval_s (one sentence late by half an interval): offline too;
// silent for 3 × interval_s: the port is reopened (see DeviceLink.checkSilence).
import { existsSync } from 'node:fs';
import type { DeviceConfig } from '../../config/schema.ts';
import type { Clock } from '../../core/types.ts';
import { SentenceParser, type ParserReject } from '../protocol/sentence-parser.ts';
import type { TendSentence } from '../protocol/sentence.ts';
import type { TransportHandle, TransportSink } from '../../core/transport.ts';
import { DeviceLink, silenceMs, type LinkSession } from './device-link.ts';
import { closeLink, openSerialPort, type PortOpener } from './port.ts';
import { moduleLog, type LogSink } from '../../core/log.ts';
import type { BackoffOptions } from '../../core/backoff.ts';

export interface SerialDeviceOptions {
  device: DeviceConfig;
  sink: TransportSink;
  clock: Clock;
  log?: LogSink;
  open?: PortOpener;
  /** reconnect delays; defaults 1 s → 30 s */
  backoff?: BackoffOptions;
}

export interface SerialDeviceHandle extends TransportHandle {
  /** dropped input by reason, over all connections */
  rejected(): Record<string, number>;
  /** run the silence check now (tests on a fake clock) */
  checkSilence(): void;
}

export function startSerialDevice(opts: SerialDeviceOptions): SerialDeviceHandle {
  const { device, sink, clock } = opts;
  if (!device.serial) throw new Error(`device ${device.id}: a serial device needs serial: { path, baud }`);
  const { path } = device.serial;
  const baud = device.serial.baud ?? 115200; // the $TEND line protocol: 8N1, 115200 by default
  const open = opts.open ?? openSerialPort;
  const name = `serial:${device.id}`;
  // a board spewing noise at 115200 baud gives one line per reason every 10 s
  const log = moduleLog(opts.log, name, { clock });
  const rejected: Record<string, number> = {};

  const link = new DeviceLink({
    name,
    kind: 'serial',
    clock,
    silence_ms: silenceMs(device.interval_s),
    backoff: opts.backoff,
    log: opts.log,
    online: (online) => sink.online(device.id, online),
    async connect(hooks): Promise<LinkSession> {
      const port = await open({ path, baudRate: baud });
      const onDisk = existsSync(path);
      // a fresh parser per connection: half a line from before the cable was pulled is not
      // glued to the first line after it is plugged back in
      const parser = new SentenceParser({ device: device.id });
      parser.on('data', (s: TendSentence) => {
        const ts = clock.now();
        hooks.heard();
        for (const [metric, value] of s.metrics) {
          sink.reading({ device: device.id, metric, value, ts, source: 'serial', seq: s.seq });
        }
      });
      parser.on('reject', (r: ParserReject) => {
        rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
        sink.reject(device.id, r.reason, r.detail);
        log.limited(r.reason, () => `dropped input (${r.reason}): ${r.detail}`);
      });
      parser.on('error', (err) => hooks.lost(err));
      port.on('data', (chunk: Buffer) => parser.write(chunk));
      port.on('error', (err: Error) => hooks.lost(err));
      port.on('close', (err?: Error | null) => hooks.lost(err ?? 'port closed'));
      port.on('end', () => hooks.lost('port ended'));
      return {
        async close() {
          port.removeAllListeners('data');
          await closeLink(port);
          parser.destroy();
        },
        // a pulled USB adapter takes its /dev/ttyUSB* (or by-id link) with it; a port opened by
        // other means than a path on disk (a test's opener) is not checked
        present: () => !onDisk || existsSync(path),
      };
    },
  });
  link.start();
  return {
    link: () => link.status(),
    stop: () => link.stop(),
    rejected: () => ({ ...rejected }),
    checkSilence: () => link.checkSilence(),
  };
}
