// A separate process that publishes readings as fast as the broker takes them, like a crowd of
// devices. argv: JSON { url, devices: [{id, secret}], village, count, batch, metric }
//
// The PUBLISH frames are encoded before the start signal and then written as the sockets drain:
// sending costs this process next to nothing, so the broker under test is what sets the pace. With
// a full MQTT client per device (mqtt.js), the two publisher processes took as much CPU as the
// broker on a 2-core machine, and the figure measured how the scheduler shared the cores more than
// what the broker costs (the same broker measured 103,000–139,000 readings/s run to run).
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

const args = JSON.parse(process.argv[2]!) as {
  url: string;
  devices: { id: string; secret?: string }[];
  village: string;
  count: number;
  batch: number;
  metric: string;
};
/** frames per write: large enough that writing costs little, small enough to keep memory flat */
const FRAMES_PER_CHUNK = 500;

async function login(device: { id: string; secret?: string }): Promise<Socket> {
  const url = new URL(args.url);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: `${device.id}-bench-${process.pid}`,
      ...(device.secret !== undefined ? { username: device.id, password: Buffer.from(device.secret) } : {}),
    }),
  );
  const connack = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error(`${device.id}: connection closed before CONNACK`)));
  });
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`${device.id}: CONNACK ${connack.toString('hex')}`);
  socket.on('data', () => {}); // nothing else comes back at QoS 0; keep the socket flowing
  return socket;
}

function frames(device: string, n: number): Buffer[] {
  const topic = `tend/${args.village}/dev/${device}/reading`;
  const chunks: Buffer[] = [];
  for (let i = 0; i < n; i += FRAMES_PER_CHUNK) {
    const chunk: Buffer[] = [];
    for (let j = i; j < Math.min(n, i + FRAMES_PER_CHUNK); j++) {
      const payload: Record<string, number> = {};
      for (let b = 0; b < args.batch; b++) payload[args.batch === 1 ? args.metric : `${args.metric}${b}`] = 500 + ((j + b) % 1000);
      payload.seq = j;
      chunk.push(mqttPacket.generate({ cmd: 'publish', topic, payload: JSON.stringify(payload), qos: 0, retain: false, dup: false }));
    }
    chunks.push(Buffer.concat(chunk));
  }
  return chunks;
}

async function main() {
  const sockets = await Promise.all(args.devices.map(login));
  const perDevice = Math.ceil(args.count / sockets.length);
  const encoded = args.devices.map((d) => frames(d.id, perDevice));
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await Promise.all(
    sockets.map(async (socket, i) => {
      for (const chunk of encoded[i]!) if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    }),
  );
  process.send?.({ done: true });
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
