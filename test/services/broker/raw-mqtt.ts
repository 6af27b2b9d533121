// A raw MQTT 3.1.1 connection for broker tests: packets written with mqtt-packet exactly as given
// (a retransmission with DUP, two packets in one TCP write, an empty client id), and every packet
// the broker sends back, decoded, in order. A client library would hide these.
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { waitFor } from '../../helpers/net.ts';

export interface RawMqtt {
  socket: Socket;
  /** every packet received so far, in order */
  packets: mqttPacket.Packet[];
  isClosed(): boolean;
  /** write these packets in one TCP write */
  send(...packets: mqttPacket.Packet[]): void;
  /** write bytes as they are */
  sendBytes(b: Buffer): void;
  /** the next received packet of this kind not yet taken (waits up to `ms` for it) */
  next<T extends mqttPacket.Packet>(cmd: T['cmd'], what?: string, ms?: number): Promise<T>;
  close(): void;
}

export async function rawMqtt(port: number): Promise<RawMqtt> {
  const socket = connect({ host: '127.0.0.1', port });
  const packets: mqttPacket.Packet[] = [];
  const taken = new Set<number>();
  let closed = false;
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => packets.push(p));
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => {});
  socket.once('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    packets,
    isClosed: () => closed,
    send: (...ps) => socket.write(Buffer.concat(ps.map((p) => mqttPacket.generate(p)))),
    sendBytes: (b) => socket.write(b),
    async next<T extends mqttPacket.Packet>(cmd: T['cmd'], what = cmd, ms = 10_000): Promise<T> {
      const i = await waitFor(
        () => {
          const j = packets.findIndex((p, k) => p.cmd === cmd && !taken.has(k));
          return j >= 0 ? j + 1 : 0;
        },
        ms,
        what,
      );
      taken.add(i - 1);
      return packets[i - 1] as T;
    },
    close: () => socket.destroy(),
  };
}

/** A CONNECT as a device sends it; override any field. */
export function connectPacket(o: Partial<mqttPacket.IConnectPacket>): mqttPacket.IConnectPacket {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: '', ...o };
}

/**
 * CONNECT bytes with CleanSession 0, also with an empty client id (which mqtt-packet refuses to
 * write, [MQTT-3.1.3-7]): written clean, then the flag set by hand.
 */
export function persistentConnectBytes(o: Partial<mqttPacket.IConnectPacket>): Buffer {
  const b = mqttPacket.generate(connectPacket({ ...o, clean: true }));
  let i = 1;
  while (b[i]! & 0x80) i++; // remaining length: 1–4 bytes
  const flags = i + 1 + 6 + 1; // then "\0\4MQTT", the level, the connect flags
  b[flags] = b[flags]! & ~0x02;
  return b;
}

/** Connect and return the CONNACK's return code (0 accepted, 2 identifier rejected, 4 bad login, 5 not authorised). */
export async function connackCode(port: number, o: Partial<mqttPacket.IConnectPacket>): Promise<{ code: number; conn: RawMqtt }> {
  const conn = await rawMqtt(port);
  conn.send(connectPacket(o));
  const ack = await conn.next<mqttPacket.IConnackPacket>('connack');
  return { code: ack.returnCode ?? -1, conn };
}
