// A village's radio link to the federation broker, as a loopback TCP relay the test can cut
// (every connection dropped, new ones refused) and restore, while the broker keeps running.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from '../../helpers/net.ts';

export interface RadioLink {
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startRadioLink(brokerPort: number): Promise<RadioLink> {
  const port = await freePort();
  let up = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    if (!up) {
      inbound.destroy();
      return;
    }
    const outbound = connect({ host: '127.0.0.1', port: brokerPort });
    sockets.add(inbound);
    sockets.add(outbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    cut: () => {
      up = false;
      dropAll();
    },
    restore: () => {
      up = true;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
