// A pseudo-terminal pair made by socat: `dev` is the end tend opens (the gateway's /dev/ttyUSB0),
// `sim` is the end a simulated device writes to. Killing socat is pulling the cable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { tempDir, waitFor } from '../../helpers/net.ts';

export interface PtyPair {
  dev: string;
  sim: string;
  /** pull the cable: socat exits, both ends go away */
  unplug(): Promise<void>;
}

const running = new Set<ChildProcess>();

export async function ptyPair(dir: string, name = 'tty'): Promise<PtyPair> {
  const dev = join(dir, `${name}-dev`);
  const sim = join(dir, `${name}-sim`);
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dev}`, `pty,raw,echo=0,link=${sim}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  await waitFor(() => /starting data transfer loop/.test(stderr) && existsSync(dev) && existsSync(sim), 10_000, `socat pty pair (${stderr})`);
  return {
    dev,
    sim,
    async unplug() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A test file's cleanup list, run last first after each test. */
export type Cleanups = (() => Promise<void> | void)[];

/**
 * A pty pair in a temp dir of its own; unplugged and removed by `cleanups`. `dir` is for a replug:
 * `ptyPair(dir, name)` again makes the same device path.
 */
export async function trackedPtyPair(cleanups: Cleanups, name?: string): Promise<PtyPair & { dir: string }> {
  const t = tempDir();
  cleanups.push(() => t.remove());
  const pair = await ptyPair(t.dir, name);
  cleanups.push(() => pair.unplug());
  return { ...pair, dir: t.dir };
}

/**
 * Open the simulated board's end, closed by `cleanups`. Errors on it are ignored: once the cable
 * is pulled (socat killed) the port errors, and that is what the test does on purpose.
 */
export async function trackedSim(cleanups: Cleanups, path: string): Promise<SerialPort> {
  const sim = await openSim(path);
  sim.on('error', () => undefined);
  cleanups.push(() => closeSim(sim));
  return sim;
}

/** Kill every socat this file started (afterAll safety net). */
export async function killAllPtys(): Promise<void> {
  for (const c of [...running]) {
    c.kill('SIGKILL');
  }
  await waitFor(() => running.size === 0, 5000, 'socat exit');
}

/** Open the device end of a pair as the simulated board would. */
export function openSim(path: string, baudRate = 115200): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate, autoOpen: false });
    p.open((err) => (err ? reject(err) : resolve(p)));
  });
}

export function closeSim(p: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!p.isOpen) return resolve();
    p.close(() => resolve());
  });
}

export function writeSim(p: SerialPort, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    p.write(data, (err) => (err ? reject(err) : p.drain(() => resolve())));
  });
}
