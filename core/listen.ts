// Listening on a host and port, shared by the broker and the web server: resolves with the port
// actually bound (0 asks for any free one), rejects with the listen error (EADDRINUSE …).
import type { Server } from 'node:net';

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
