// Listening on a host and port, shared by the broker and the web server: resolves with the port
// actually bound (0 asks for any free one), rejects with the listen error (EADDRINUSE …).
import type { Server } from 'node:net';
import type { LogSink } from './log.ts';

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** `host:port` as it goes in a URL (IPv6 hosts in brackets). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class PortInUseError extends Error {
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
  ) {
    super(`${what} port ${port} on ${host} is already in use; free it or choose another port in the config`);
    this.name = 'PortInUseError';
  }
}

/**
 * Start a listener on its configured port. When the port is taken: with `fallback` (the demo) take
 * any free port and say so; otherwise fail with PortInUseError naming the port.
 */
export async function startOnPort<T extends { start(): Promise<void>; stop(): Promise<void> }>(
  what: string,
  host: string,
  port: number,
  make: (port: number) => T,
  fallback: boolean | undefined,
  log: LogSink,
): Promise<T> {
  const first = make(port);
  try {
    await first.start();
    return first;
  } catch (err) {
    await first.stop();
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (!fallback) throw new PortInUseError(what, host, port);
  }
  log(`${what}: port ${port} is taken, using a free port instead`, 'warn');
  const other = make(0);
  await other.start();
  return other;
}
