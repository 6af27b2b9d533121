// Opening a serial port is passed in (hardware is a parameter), so a test can hand in
// a pty or a mock. The default opens a real port with serialport 13.
import type { Duplex } from 'node:stream';

/** What the adapters need from an open port: a byte stream that emits 'close' and 'error'. */
export type SerialLink = Duplex & { close?(cb?: (err: Error | null) => void): void; path?: string };

export type PortOpener = (o: { path: string; baudRate: number }) => Promise<SerialLink>;

export const openSerialPort: PortOpener = async ({ path, baudRate }) => {
  // loaded at the first open: a village of MQTT devices only never needs the serial bindings
  const { SerialPort } = await import('serialport');
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
};

/** Close a port and wait for it; never throws (the port may already be gone). */
export function closeLink(port: SerialLink): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    try {
      if (typeof port.close === 'function' && (port as { isOpen?: boolean }).isOpen !== false) {
        port.close(() => done());
        setTimeout(done, 2000).unref();
      } else {
        port.destroy();
        done();
      }
    } catch {
      done();
    }
  });
}
