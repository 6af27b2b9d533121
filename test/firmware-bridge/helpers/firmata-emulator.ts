// A board speaking the Firmata protocol (v2.5, as StandardFirmata on an Arduino Uno does), on the
// device end of a pty pair. Enough of the protocol for johnny-five: version and firmware replies,
// capability and analog-mapping replies, pin modes, analog reporting every sampling interval and
// digital port reports on change.
import { closeSim, openSim } from './pty.ts';

const REPORT_VERSION = 0xf9;
const START_SYSEX = 0xf0;
const END_SYSEX = 0xf7;
const QUERY_FIRMWARE = 0x79;
const CAPABILITY_QUERY = 0x6b;
const CAPABILITY_RESPONSE = 0x6c;
const ANALOG_MAPPING_QUERY = 0x69;
const ANALOG_MAPPING_RESPONSE = 0x6a;
const SAMPLING_INTERVAL = 0x7a;
const ANALOG_MESSAGE = 0xe0;
const DIGITAL_MESSAGE = 0x90;
const REPORT_ANALOG = 0xc0;
const REPORT_DIGITAL = 0xd0;
const SET_PIN_MODE = 0xf4;
const SET_DIGITAL_PIN_VALUE = 0xf5;
const SYSTEM_RESET = 0xff;

// Uno: 20 pins; 14..19 are A0..A5
const PIN_COUNT = 20;
const PWM = new Set([3, 5, 6, 9, 10, 11]);

export interface FirmataEmulator {
  /** set the ADC counts (0…1023) an analog channel reports */
  setAnalog(channel: number, counts: number): void;
  /** set a digital input pin's level */
  setDigital(pin: number, level: 0 | 1): void;
  /** bytes of commands received, by kind, to check what the host asked */
  seen: {
    versionQueries: number;
    firmwareQueries: number;
    capabilityQueries: number;
    mappingQueries: number;
    analogReports: Set<number>;
    digitalReports: Set<number>;
  };
  close(): Promise<void>;
}

export async function startFirmataEmulator(path: string, opts: { announce?: boolean } = {}): Promise<FirmataEmulator> {
  const port = await openSim(path, 57600);
  port.on('error', () => undefined);
  const analog = new Array<number>(6).fill(0);
  const digital = new Array<number>(PIN_COUNT).fill(0);
  const reportingAnalog = new Set<number>();
  const reportingPorts = new Set<number>();
  let samplingMs = 19;
  const seen: FirmataEmulator['seen'] = {
    versionQueries: 0,
    firmwareQueries: 0,
    capabilityQueries: 0,
    mappingQueries: 0,
    analogReports: new Set(),
    digitalReports: new Set(),
  };
  const send = (bytes: number[]) => {
    if (port.isOpen) port.write(Buffer.from(bytes));
  };
  const sendVersion = () => send([REPORT_VERSION, 2, 5]);
  const sendFirmware = () => {
    const name = Buffer.from('StandardFirmata.ino');
    const bytes = [START_SYSEX, QUERY_FIRMWARE, 2, 5];
    for (const c of name) bytes.push(c & 0x7f, c >> 7);
    bytes.push(END_SYSEX);
    send(bytes);
  };
  const sendPort = (p: number) => {
    let v = 0;
    for (let i = 0; i < 8; i++) if (digital[p * 8 + i]) v |= 1 << i;
    send([DIGITAL_MESSAGE | p, v & 0x7f, (v >> 7) & 0x7f]);
  };

  let buf: number[] = [];
  const handle = (msg: number[]) => {
    const cmd = msg[0]!;
    if (cmd === REPORT_VERSION) {
      seen.versionQueries++;
      sendVersion();
    } else if (cmd === START_SYSEX) {
      const sub = msg[1];
      if (sub === QUERY_FIRMWARE) {
        seen.firmwareQueries++;
        sendFirmware();
      } else if (sub === CAPABILITY_QUERY) {
        seen.capabilityQueries++;
        const out = [START_SYSEX, CAPABILITY_RESPONSE];
        for (let pin = 0; pin < PIN_COUNT; pin++) {
          if (pin > 1) {
            out.push(0x00, 1, 0x01, 1, 0x0b, 1); // input, output, pullup
            if (PWM.has(pin)) out.push(0x03, 8);
            if (pin >= 14) out.push(0x02, 10); // analog, 10 bits
          }
          out.push(0x7f);
        }
        out.push(END_SYSEX);
        send(out);
      } else if (sub === ANALOG_MAPPING_QUERY) {
        seen.mappingQueries++;
        const out = [START_SYSEX, ANALOG_MAPPING_RESPONSE];
        for (let pin = 0; pin < PIN_COUNT; pin++) out.push(pin >= 14 ? pin - 14 : 0x7f);
        out.push(END_SYSEX);
        send(out);
      } else if (sub === SAMPLING_INTERVAL) {
        samplingMs = Math.max(10, msg[2]! | (msg[3]! << 7) || 19);
        restartSampling();
      }
    } else if ((cmd & 0xf0) === REPORT_ANALOG) {
      const ch = cmd & 0x0f;
      if (msg[1]) {
        reportingAnalog.add(ch);
        seen.analogReports.add(ch);
      } else reportingAnalog.delete(ch);
    } else if ((cmd & 0xf0) === REPORT_DIGITAL) {
      const p = cmd & 0x0f;
      if (msg[1]) {
        reportingPorts.add(p);
        seen.digitalReports.add(p);
        sendPort(p);
      } else reportingPorts.delete(p);
    }
    // SET_PIN_MODE, SET_DIGITAL_PIN_VALUE, DIGITAL_MESSAGE writes, SYSTEM_RESET: accepted, no reply
  };
  const lengthOf = (cmd: number): number => {
    if (cmd === REPORT_VERSION || cmd === SYSTEM_RESET) return 1;
    if (cmd === SET_PIN_MODE || cmd === SET_DIGITAL_PIN_VALUE) return 3;
    const hi = cmd & 0xf0;
    if (hi === REPORT_ANALOG || hi === REPORT_DIGITAL) return 2;
    if (hi === ANALOG_MESSAGE || hi === DIGITAL_MESSAGE) return 3;
    return 1;
  };
  port.on('data', (chunk: Buffer) => {
    for (const b of chunk) {
      if (buf.length === 0 && b < 0x80) continue; // stray data byte
      buf.push(b);
      const first = buf[0]!;
      if (first === START_SYSEX) {
        if (b === END_SYSEX) {
          handle(buf);
          buf = [];
        }
      } else if (buf.length >= lengthOf(first)) {
        handle(buf);
        buf = [];
      }
    }
  });

  let sampler: NodeJS.Timeout | null = null;
  const restartSampling = () => {
    if (sampler) clearInterval(sampler);
    sampler = setInterval(() => {
      for (const ch of reportingAnalog) {
        const v = analog[ch] ?? 0;
        send([ANALOG_MESSAGE | ch, v & 0x7f, (v >> 7) & 0x7f]);
      }
    }, samplingMs);
  };
  restartSampling();

  // a board that resets when the port opens announces itself; without `announce` it stays quiet
  // until asked, like a board whose auto-reset is disabled
  if (opts.announce) {
    sendVersion();
    sendFirmware();
  }

  return {
    seen,
    setAnalog(channel, counts) {
      analog[channel] = Math.max(0, Math.min(1023, Math.round(counts)));
    },
    setDigital(pin, level) {
      if (digital[pin] === level) return;
      digital[pin] = level;
      const p = pin >> 3;
      if (reportingPorts.has(p)) sendPort(p);
    },
    async close() {
      if (sampler) clearInterval(sampler);
      sampler = null;
      await closeSim(port);
    },
  };
}
