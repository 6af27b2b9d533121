// Build the tank-node firmware (through its Makefile, as `npm run firmware` does) and the
// libsimavr harness, and run the harness: the simulated board's UART appears as a pty, carrying
// bytes both ways. The harness also runs stock StandardFirmata (STANDARD_FIRMATA_HEX).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/net.ts';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../../..');
export const FIRMWARE_DIR = join(ROOT, 'firmware-bridge/firmware/tank-node');
const HARNESS_SRC = join(ROOT, 'test/firmware-bridge/firmware/tank-hil.c');
/** StandardFirmata 2.x built for the Uno (ATmega328P, 16 MHz), as avrgirl-arduino ships it to flash boards */
export const STANDARD_FIRMATA_HEX = join(ROOT, 'node_modules/avrgirl-arduino/junk/hex/uno/StandardFirmata.cpp.hex');

export async function buildFirmware(
  buildDir: string,
  vars: Record<string, string | number> = {},
): Promise<{ pressure: string; ultrasonic: string; output: string }> {
  const args = ['-C', FIRMWARE_DIR, `BUILD=${buildDir}`, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  const { stdout, stderr } = await run('make', args, { timeout: 120_000 });
  return { pressure: join(buildDir, 'tank-node-pressure.hex'), ultrasonic: join(buildDir, 'tank-node-ultrasonic.hex'), output: stdout + stderr };
}

/** gcc with libsimavr (Debian libsimavr-dev); -lutil for openpty. */
export async function buildHarness(outDir: string): Promise<string> {
  const out = join(outDir, 'tank-hil');
  await run('gcc', ['-O2', '-Wall', '-Wextra', '-o', out, HARNESS_SRC, '-I/usr/include/simavr', '-lsimavr', '-lutil'], { timeout: 120_000 });
  return out;
}

export interface SimBoard {
  /** path of the pty symlink tend opens */
  path: string;
  /** send a harness command: `adc<N> <mV>` (analog pin A<N>) or `echo <µs>` */
  command(line: string): void;
  stderr(): string;
  /** bytes carried host → board (rx) and board → host (tx), as the harness counted them at its exit */
  carried(): { rx: number; tx: number } | null;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

export async function startSimBoard(harness: string, hex: string, link: string, args: string[] = []): Promise<SimBoard> {
  const child = spawn(harness, [hex, '--link', link, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      running.delete(child);
      r();
    }),
  );
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`tank-hil exited: ${err}`);
      return /^pty /m.test(out);
    },
    10_000,
    'tank-hil pty',
  );
  return {
    path: link,
    command(line) {
      child.stdin!.write(`${line}\n`);
    },
    stderr: () => err,
    carried() {
      const m = /^rx (\d+) tx (\d+)$/m.exec(err);
      return m ? { rx: Number(m[1]), tx: Number(m[2]) } : null;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function stopAllSimBoards(): Promise<void> {
  for (const c of running) c.kill('SIGKILL');
  await waitFor(() => running.size === 0, 5000, 'tank-hil exit');
}
