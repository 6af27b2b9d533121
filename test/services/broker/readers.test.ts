// Reader accounts on the embedded broker (`readers:` in the config): signboards, Home Assistant,
// Node-RED. A reader reads the village outputs and homeassistant/#, never a device's topics, and
// publishes nothing: its publishes are dropped and counted, its connection kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { hashSecret } from '../../../services/broker/auth.ts';
import { configSchema } from '../../../config/schema.ts';
import { connectDevice, getJson, startTestVillage } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';

const SIGNBOARD = { id: 'signboard', secret: 'signboard-secret-7' };
const HASHED = { id: 'nodered', secret: 'nodered-secret-9' };

let village: Awaited<ReturnType<typeof startTestVillage>>;

beforeAll(async () => {
  const config = configSchema.parse({
    version: 1,
    village: { id: 'fenwick', name: 'Fenwick', population: 160, timezone: 'UTC' },
    readers: [SIGNBOARD, { id: HASHED.id, secret_hash: await hashSecret(HASHED.secret) }],
    devices: [{ id: 'tank-a', secret: 'tank-a-secret-1' }],
    sensors: [
      {
        id: 'north',
        name: 'North tank',
        device: 'tank-a',
        metric: 'level_mm',
        kind: 'tank_level',
        tank: { shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 2000 },
      },
    ],
  });
  village = await startTestVillage({ config });
});
afterAll(async () => {
  await village?.cleanup();
});

function connect(opts: mqtt.IClientOptions): Promise<{ client: MqttClient; code?: number }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(village.brokerUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => resolve({ client }));
    client.once('error', (err) => {
      client.end(true);
      resolve({ client, code: (err as { code?: number }).code });
    });
  });
}

async function reader(who = SIGNBOARD): Promise<{ client: MqttClient; got: [string, string][] }> {
  const { client, code } = await connect({ username: who.id, password: who.secret, clientId: `${who.id}-${Math.random().toString(16).slice(2)}` });
  expect(code).toBeUndefined();
  const got: [string, string][] = [];
  client.on('message', (topic, payload) => got.push([topic, payload.toString()]));
  return { client, got };
}

/** refused publishes on /metrics, summed over the labels (of one account when named) */
async function refusedPublishes(account?: string): Promise<number> {
  const text = await (await fetch(`${village.webUrl}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('tend_broker_refused_total{') || !line.includes('reason="publish_not_allowed"')) continue;
    if (account && !line.includes(`device="${account}"`)) continue;
    n += Number(line.split(' ').pop());
  }
  return n;
}

/** the SUBACK's return codes as sent (mqtt.js turns any 0x80 into an error for the whole call) */
function subscribeCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (p: { cmd: string; granted?: unknown }) => {
      if (p.cmd !== 'suback') return;
      c.off('packetreceive', onPacket);
      resolve(p.granted as number[]);
    };
    c.on('packetreceive', onPacket);
    c.subscribe(filters, () => {});
  });
}

describe('reader accounts', () => {
  it('a reader subscribes to the village outputs and receives the reserve topic, never a device topic', async () => {
    const r = await reader();
    expect(await subscribeCodes(r.client, ['tend/fenwick/#', 'homeassistant/#'])).toEqual([0, 0]);
    await waitFor(() => r.got.some(([t]) => t === 'tend/fenwick/reserve'), 5000, 'the retained reserve');

    // a device reading moves the reserve; the reader hears the new reserve but not the reading itself
    const device = await connectDevice(village, 'tank-a', { clientId: 'tank-a-1' });
    // the device reads its own prefix: proof the reading was forwarded to whoever may see it
    let echoed = false;
    device.on('message', (t) => {
      if (t === 'tend/fenwick/dev/tank-a/reading') echoed = true;
    });
    await device.subscribeAsync('tend/fenwick/dev/tank-a/#');
    await device.publishAsync('tend/fenwick/dev/tank-a/reading', JSON.stringify({ level_mm: 1500 }), { qos: 1 });
    await waitFor(() => r.got.some(([t, p]) => t === 'tend/fenwick/reserve' && JSON.parse(p).water.liters === 3000), 5000, 'the reserve with the new reading');
    await waitFor(() => echoed, 5000, 'the reading forwarded to the device itself');
    // a round trip on the reader's connection: anything forwarded to it before is in by now
    await r.client.subscribeAsync('tend/fenwick/alerts');
    expect(r.got.filter(([t]) => t.startsWith('tend/fenwick/dev/'))).toEqual([]);
    expect(r.got.find(([t]) => t === 'tend/fenwick/status')?.[1]).toBe('online');
    await device.endAsync();
    await r.client.endAsync();
  });

  it("a reader's publish is refused and counted; its connection stays", async () => {
    const r = await reader();
    const before = await refusedPublishes(SIGNBOARD.id);
    let closed = false;
    r.client.on('close', () => {
      closed = true;
    });
    // a false reserve, and a reading as if from the tank: neither is taken
    await r.client.publishAsync('tend/fenwick/reserve', '{"water":{"liters":1}}', { qos: 1, retain: true });
    await r.client.publishAsync('tend/fenwick/dev/tank-a/reading', JSON.stringify({ level_mm: 10 }), { qos: 1 });
    // Home Assistant's own birth message, which it sends by default
    await r.client.publishAsync('homeassistant/status', 'online', { qos: 1, retain: true });
    expect(await refusedPublishes(SIGNBOARD.id)).toBe(before + 3);
    // still connected: it can subscribe and read the true reserve
    await r.client.subscribeAsync('tend/fenwick/reserve');
    const reserve = await waitFor(() => r.got.find(([t]) => t === 'tend/fenwick/reserve')?.[1], 5000, 'the retained reserve');
    expect(JSON.parse(reserve).village.id).toBe('fenwick');
    expect(closed).toBe(false);
    const status = await getJson(`${village.webUrl}/api/status`);
    expect(status.water.tanks[0].level_mm).not.toBe(10);
    await r.client.endAsync();
  });

  it("a reader subscribing to devices' topics, everything or $SYS is refused", async () => {
    const r = await reader(HASHED);
    const codes = await subscribeCodes(r.client, [
      'tend/fenwick/dev/tank-a/reading',
      'tend/fenwick/dev/#',
      '#',
      '$SYS/#',
      'tend/othervale/reserve',
      'tend/fenwick/assembly',
    ]);
    expect(codes).toEqual([128, 128, 128, 128, 128, 0]);
    await r.client.endAsync();
  });

  it('a bad reader password is refused with CONNACK 4; a device password is not a reader password', async () => {
    expect((await connect({ username: SIGNBOARD.id, password: 'not-the-secret', clientId: 'signboard-x' })).code).toBe(4);
    expect((await connect({ username: HASHED.id, password: SIGNBOARD.secret, clientId: 'nodered-x' })).code).toBe(4);
    expect((await connect({ username: SIGNBOARD.id, password: 'tank-a-secret-1', clientId: 'signboard-y' })).code).toBe(4);
    // a client id that is not the reader's own (Home Assistant's default is a random one):
    // identifier rejected, as docs/home-assistant.md tells the installer
    expect((await connect({ username: SIGNBOARD.id, password: SIGNBOARD.secret, clientId: 'mqtt-3f9a1c' })).code).toBe(2);
  });

  it('the config keeps reader and device ids apart and needs a secret', () => {
    const r = configSchema.safeParse({
      version: 1,
      village: { id: 'fenwick', name: 'Fenwick', population: 160 },
      readers: [{ id: 'tank-a', secret: 'long-enough-1' }, { id: 'board' }],
      devices: [{ id: 'tank-a', secret: 'tank-a-secret-1' }],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['readers.0.id', 'readers.1.secret']));
  });
});
