// A long-running test server (influxd, mosquitto): spawn it, wait until it answers, and stop it
// with SIGTERM (SIGKILL after a grace period) so it can save its state and be started again.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerProcess {
  /** spawn (a no-op while running) and poll `ready` until it says yes; throws if the process exits first */
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after `killAfterMs`, and wait for the exit */
  stop(): Promise<void>;
  running(): boolean;
}

export interface ServerProcessOptions {
  /** name for error messages */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  /** keep stdout/stderr for error messages (`out` gets each chunk) */
  stdout?: boolean;
  out: (d: Buffer) => void;
  /** the log so far, for error messages */
  log: () => string;
  ready: () => Promise<boolean>;
  /** what `ready` checks, for the timeout message */
  readyWhat: string;
  startTimeoutMs: number;
  pollMs: number;
  killAfterMs: number;
}

export function serverProcess(o: ServerProcessOptions): ServerProcess {
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn(o.command, o.args, { cwd: o.cwd, stdio: ['ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
    child = c;
    // if the test process ends without stop(), do not leave the server behind
    const onExit = () => c.kill('SIGKILL');
    process.once('exit', onExit);
    c.once('exit', () => process.removeListener('exit', onExit));
    c.stdout?.on('data', o.out);
    c.stderr!.on('data', o.out);
    exited = new Promise((resolve) =>
      c.once('exit', () => {
        if (child === c) child = null;
        resolve();
      }),
    );
    const end = Date.now() + o.startTimeoutMs;
    for (;;) {
      if (child !== c) throw new Error(`${o.name} exited on start: ${o.log()}`);
      if (await o.ready()) return;
      if (Date.now() > end) throw new Error(`${o.name} did not ${o.readyWhat}: ${o.log()}`);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    const timer = setTimeout(() => c.kill('SIGKILL'), o.killAfterMs);
    c.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };

  return { start, stop, running: () => child !== null };
}
