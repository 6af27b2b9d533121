// Malformed MQTT at the TCP level, sent over raw sockets to the embedded broker: each bad frame
// closes that connection only. The process survives, a device connected all along stays
// connected, and a good device still gets a reading in after every case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { connectDevice, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { expectClosed, goodDevicePublishes, rawConnect, type RawConn } from './helpers.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
let bystander: MqttClient;
const bystanderGot: string[] = [];
beforeAll(async () => {
  village = await startTestVillage();
  // a device connected through every case: it must never be dropped along with an attacker
  bystander = await connectDevice(village, 'tank-school', { keepalive: 0 });
  await bystander.subscribeAsync('tend/ashgrove/dev/tank-school/#', { qos: 0 });
  bystander.on('message', (_t, p) => bystanderGot.push(p.toString()));
});
afterAll(async () => {
  bystander?.end(true);
  await village?.cleanup();
});

const NORTH = 'tend/ashgrove/dev/tank-north/reading';
const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

function connectFrame(o: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId: `tank-north-raw-${Math.random().toString(16).slice(2)}`,
    username: 'tank-north',
    password: Buffer.from('demo-north-5e1f'),
    ...o,
  } as mqttPacket.IConnectPacket);
}

/** A raw socket logged in as tank-north (CONNACK 0 received). */
async function loggedIn(): Promise<RawConn> {
  const c = await rawConnect(village.brokerPort);
  c.socket.write(connectFrame());
  await waitFor(
    () => {
      const all = Buffer.concat(c.received);
      return all.length >= 4 && all[0] === 0x20 && all[3] === 0x00;
    },
    10_000,
    'CONNACK accepted',
  );
  c.received.length = 0;
  return c;
}

/** a PUBLISH frame with a raw topic (bypassing any client-side checks) */
function publishFrame(topic: Buffer, payload: Buffer, flags = 0x30): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, payload]);
  return Buffer.concat([Buffer.from([flags]), varint(body.length), body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

// A TLS 1.2 ClientHello as a browser or `openssl s_client` would send it to a TLS port
const CLIENT_HELLO = hex(`
  16 03 01 00 a5 01 00 00 a1 03 03 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14
  15 16 17 18 19 1a 1b 1c 1d 1e 1f 00 00 20 cc a8 cc a9 c0 2f c0 30 c0 2b c0 2c c0 13 c0 09 c0 14
  c0 0a 00 9c 00 9d 00 2f 00 35 c0 12 00 0a 01 00 00 58 00 00 00 18 00 16 00 00 13 65 78 61 6d 70
  6c 65 2e 75 6c 66 68 65 69 6d 2e 6e 65 74 00 05 00 05 01 00 00 00 00 00 0a 00 0a 00 08 00 1d 00
  17 00 18 00 19 00 0b 00 02 01 00 00 0d 00 12 00 10 04 01 04 03 05 01 05 03 06 01 06 03 02 01 02
  03 ff 01 00 01 00 00 12 00 00`);

interface Case {
  name: string;
  /** before the bad bytes: log in first? */
  login: boolean;
  bytes: () => Buffer | Buffer[];
}

const cases: Case[] = [
  { name: 'a TLS ClientHello on the plain port', login: false, bytes: () => CLIENT_HELLO },
  // remaining length is at most 4 bytes (MQTT 3.1.1 §2.2.3)
  { name: 'a 5-byte remaining-length field', login: false, bytes: () => hex('10 ff ff ff ff 7f') },
  { name: 'a 5-byte remaining length after login', login: true, bytes: () => hex('30 80 80 80 80 01') },
  // SUBSCRIBE must carry flags 0010 [MQTT-3.8.1-1]; CONNECT 0000 [MQTT-2.2.2-2]
  { name: 'bad reserved flags on SUBSCRIBE', login: true, bytes: () => hex('80 0a 00 01 00 05 74 65 6e 64 2f 00') },
  {
    name: 'bad reserved flags on CONNECT',
    login: false,
    bytes: () => {
      const b = connectFrame();
      b[0] = 0x1f;
      return b;
    },
  },
  // QoS 3 is malformed [MQTT-3.3.1-4]
  { name: 'QoS 3 in PUBLISH', login: true, bytes: () => publishFrame(Buffer.from(NORTH), Buffer.from('{"distance_mm":1}'), 0x36) },
  // topic names are at least one character and carry no wildcards [MQTT-4.7.3-1], [MQTT-3.3.2-2]
  { name: 'an empty topic in PUBLISH', login: true, bytes: () => publishFrame(Buffer.alloc(0), Buffer.from('{"distance_mm":1}')) },
  {
    name: 'a wildcard topic in PUBLISH (+)',
    login: true,
    bytes: () => publishFrame(Buffer.from('tend/ashgrove/dev/+/reading'), Buffer.from('{"distance_mm":1}')),
  },
  {
    name: 'a wildcard topic in PUBLISH (#)',
    login: true,
    bytes: () => publishFrame(Buffer.from('tend/ashgrove/dev/tank-north/#'), Buffer.from('{"distance_mm":1}')),
  },
  // U+0000 is not allowed in a UTF-8 string [MQTT-1.5.3-2]
  { name: 'a NUL in a topic', login: true, bytes: () => publishFrame(Buffer.from(`${NORTH}\0x`), Buffer.from('{"distance_mm":1}')) },
  {
    name: 'a topic that is not UTF-8',
    login: true,
    bytes: () => publishFrame(Buffer.concat([Buffer.from('tend/ashgrove/dev/'), hex('c3 28 ff'), Buffer.from('/reading')]), Buffer.from('{"distance_mm":1}')),
  },
  // oversized: a header announcing 256 MB, then a few MB actually sent
  {
    name: 'an oversized PUBLISH (announced 256 MB)',
    login: true,
    bytes: () => {
      const head = Buffer.concat([Buffer.from([0x30]), varint(268_435_455), hex('00 24'), Buffer.from(NORTH)]);
      return [head, ...Array.from({ length: 8 }, () => Buffer.alloc(512 * 1024, 0x78))];
    },
  },
  {
    name: 'an oversized CONNECT before login',
    login: false,
    bytes: () => {
      const head = Buffer.concat([Buffer.from([0x10]), varint(200_000_000), hex('00 04'), Buffer.from('MQTT'), hex('04 02 00 00')]);
      return [head, ...Array.from({ length: 8 }, () => Buffer.alloc(512 * 1024, 0x41))];
    },
  },
  // a second CONNECT on one connection is a protocol violation [MQTT-3.1.0-2]
  { name: 'a second CONNECT', login: true, bytes: () => connectFrame() },
  { name: 'PUBLISH before CONNECT', login: false, bytes: () => publishFrame(Buffer.from(NORTH), Buffer.from('{"distance_mm":1}')) },
  // this CONNECT (MQTT 5, odd properties) once crashed aedes with a RangeError
  { name: 'the frame that once crashed aedes with a RangeError', login: false, bytes: () => hex('101000044d5154540502003c0321001400006202d301e0020020') },
  { name: 'a truncated CONNECT and a reset', login: false, bytes: () => connectFrame().subarray(0, 9) },
  { name: 'a packet type 0 (reserved)', login: true, bytes: () => hex('00 00') },
  { name: 'a packet type 15 (AUTH) on MQTT 3.1.1', login: true, bytes: () => hex('f0 00') },
];

describe('malformed MQTT frames on the plain TCP port', () => {
  let reading = 600;
  for (const c of cases) {
    it(`${c.name}: closes that connection only`, async () => {
      const conn = c.login ? await loggedIn() : await rawConnect(village.brokerPort);
      const bytes = c.bytes();
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) {
        if (conn.isClosed()) break;
        conn.socket.write(b);
      }
      if (c.name.startsWith('a truncated')) conn.socket.destroy();
      else await expectClosed(conn, 20_000, `${c.name}: the broker to close the connection`);
      // nothing from the attack was taken as a reading
      expect(village.status().water.tanks.find((t) => t.id === 'north')!.level_mm).not.toBe(2099);
      // the rest of the village is unaffected: the bystander is still connected, a good device publishes
      expect(bystander.connected).toBe(true);
      reading += 1;
      await goodDevicePublishes(village, 'tank-north', NORTH, JSON.stringify({ distance_mm: reading }));
      await waitFor(() => village.refresh().water.tanks.find((t) => t.id === 'north')!.level_mm === 2100 - reading, 10_000, 'the good reading in the status');
    });
  }

  it('the bystander was never dropped and still publishes and receives', async () => {
    const before = bystanderGot.length;
    await bystander.publishAsync('tend/ashgrove/dev/tank-school/reading', '{"pressure_kpa": 9.5}', { qos: 1 });
    await waitFor(() => bystanderGot.length > before, 10_000, 'the bystander receives its own reading back');
    await waitFor(() => (village.refresh().water.tanks.find((t) => t.id === 'school')!.liters ?? 0) > 0, 10_000, 'school tank litres');
    // the broker counts what it refused
    expect(village.logs.some((l) => l.startsWith('broker:'))).toBe(true);
  });
});
