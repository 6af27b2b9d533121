// Build the tank-node firmware (through its Makefile, as `npm run firmware` does) and the
// libsimavr harness, and run the harness: the simulated board's UART appears as a pty.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/net.ts';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../../..');
export const FIRMWARE_DIR = join(ROOT, 'firmware-bridge/firmware/tank-node');
const HARNESS_SRC = join(ROOT, 'test/firmware-bridge/firmware/tank-hil.c');

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
  /** send a harness command: `adc0 <mV>` or `echo <µs>` */
  command(line: string): void;
  stderr(): string;
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
