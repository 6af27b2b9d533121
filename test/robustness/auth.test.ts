// Authentication and topic rules beyond test/services/broker/security.test.ts, each checked by
// what is actually delivered to a subscriber entitled to see the topic (and by what ingest took),
// not only by answer codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { connectDevice, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { hashSecret } from '../../services/broker/auth.ts';
import { manyTanksConfig, metricValue, nodeId, scrape, secretOf } from './helpers.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

const V = 'tend/ashgrove';

function tryConnect(url: string, opts: mqtt.IClientOptions): Promise<{ ok: boolean; code?: number; client?: MqttClient }> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      clientId: `${opts.username ?? 'anon'}-t-${Math.random().toString(16).slice(2)}`,
      ...opts,
    });
    c.once('connect', () => resolve({ ok: true, client: c }));
    c.once('error', (err) => {
      c.end(true);
      resolve({ ok: false, code: (err as { code?: number }).code });
    });
  });
}

/** A client that records everything it receives on the given filters. */
async function watcher(device: string, filters: string[]): Promise<{ client: MqttClient; got: { topic: string; payload: string; retain: boolean }[] }> {
  const client = await connectDevice(village, device);
  const got: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, p, packet) => got.push({ topic, payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(filters, { qos: 1 });
  return { client, got };
}

/**
 * publish, then wait until the broker counted it as refused (MQTT 3.1.1 has no PUBACK refusal; the
 * broker drops it and keeps the connection, as Mosquitto does)
 */
async function publishRefused(c: MqttClient, topic: string, payload: string, opts: { retain?: boolean } = {}): Promise<void> {
  const refusedNow = async () => metricValue(await scrape(village), 'tend_broker_refused_total', { reason: 'publish_not_allowed' }) ?? 0;
  const before = await refusedNow();
  c.publish(topic, payload, { qos: 0, retain: opts.retain ?? false });
  await waitFor(async () => (await refusedNow()) > before, 10_000, `the publish to ${topic} refused`);
}

/** A sentinel message through the same path, so "nothing delivered" means delivery was attempted after the attack. */
async function sentinel(w: { got: { payload: string }[] }, device: string, topic: string, payload: string): Promise<void> {
  const c = await connectDevice(village, device);
  await c.publishAsync(topic, payload, { qos: 1 });
  await waitFor(() => w.got.some((g) => g.payload === payload), 10_000, `sentinel ${payload}`);
  c.end(true);
}

describe('who may publish where', () => {
  it("refuses a device publishing another device's reading and status: not delivered, not ingested", async () => {
    const w = await watcher('tank-north', [`${V}/dev/tank-north/#`]);
    const acceptedBefore = village.ingest.accepted.get('tank-north') ?? 0;
    for (const [topic, payload] of [
      [`${V}/dev/tank-north/reading`, '{"distance_mm": 100}'],
      [`${V}/dev/tank-north/status`, 'offline'],
    ] as const) {
      const attacker = await connectDevice(village, 'tank-school');
      await publishRefused(attacker, topic, payload);
      attacker.end(true);
    }
    await sentinel(w, 'tank-north', `${V}/dev/tank-north/reading`, '{"distance_mm": 901}');
    expect(w.got.map((g) => g.payload)).toEqual(['{"distance_mm": 901}']);
    expect(village.ingest.accepted.get('tank-north')).toBe(acceptedBefore + 1);
    expect(village.refresh().sensors.stale).not.toContain('north');
    w.client.end(true);
  });

  it('refuses a device publishing to the village output topics and $SYS', async () => {
    const w = await watcher('tank-hill', [`${V}/reserve`, `${V}/alerts`, `${V}/assembly`]);
    // let the retained reserve status arrive first
    await waitFor(() => w.got.some((g) => g.topic === `${V}/reserve`), 10_000, 'retained reserve status');
    const n = w.got.length;
    for (const topic of [`${V}/reserve`, `${V}/alerts`, `${V}/assembly`, '$SYS/broker/uptime', '$SYS/tend/fake']) {
      const attacker = await connectDevice(village, 'tank-school');
      await publishRefused(attacker, topic, '{"fake": true, "headline": "leave the village"}', { retain: true });
      attacker.end(true);
    }
    // trigger a real output after the attack, so the watcher's queue has been flushed past it
    const dev = await connectDevice(village, 'tank-north');
    await dev.publishAsync(`${V}/dev/tank-north/reading`, '{"distance_mm": 1234}', { qos: 1 });
    dev.end(true);
    await waitFor(() => w.got.slice(n).some((g) => g.topic === `${V}/reserve` && g.payload.includes('"level_mm":866')), 10_000, 'reserve update');
    expect(w.got.filter((g) => g.payload.includes('"fake"'))).toEqual([]);
    w.client.end(true);
    // a late subscriber gets the village's retained status, not a planted one
    const late = await watcher('tank-north', [`${V}/reserve`, `${V}/alerts`, `${V}/assembly`]);
    await waitFor(() => late.got.some((g) => g.topic === `${V}/reserve`), 10_000, 'retained reserve for a late subscriber');
    await new Promise((r) => setTimeout(r, 300));
    expect(late.got.filter((g) => g.payload.includes('"fake"'))).toEqual([]);
    expect(JSON.parse(late.got.find((g) => g.topic === `${V}/reserve`)!.payload).water).toBeDefined();
    late.client.end(true);
  });

  it('refuses a retained message planted outside the own prefix, and a retained reading', async () => {
    for (const topic of [`${V}/dev/tank-north/status`, `${V}/dev/tank-north/reading`, `${V}/dev/ghost/status`, `${V}/news`, 'other/x']) {
      const attacker = await connectDevice(village, 'tank-school');
      await publishRefused(attacker, topic, 'offline', { retain: true });
      attacker.end(true);
    }
    // a retained reading even on the own topic would replay a stale level to every new subscriber
    const own = await connectDevice(village, 'tank-school');
    await publishRefused(own, `${V}/dev/tank-school/reading`, '{"pressure_kpa": 1}', { retain: true });
    own.end(true);
    // nothing retained: a subscriber entitled to the prefix gets only the device's own sentinel
    const w = await watcher('tank-north', [`${V}/dev/tank-north/#`]);
    await sentinel(w, 'tank-north', `${V}/dev/tank-north/reading`, '{"distance_mm": 902}');
    expect(w.got.filter((g) => g.retain)).toEqual([]);
    expect(w.got.map((g) => g.payload)).toEqual(['{"distance_mm": 902}']);
    w.client.end(true);
    const school = await watcher('tank-school', [`${V}/dev/tank-school/#`]);
    await sentinel(school, 'tank-school', `${V}/dev/tank-school/reading`, '{"pressure_kpa": 9.1}');
    expect(school.got.filter((g) => g.retain)).toEqual([]);
    school.client.end(true);
  });
});

describe('who may subscribe to what', () => {
  it('grants nothing on #, $SYS/#, + filters or other devices, and delivers nothing through them', async () => {
    const c = await connectDevice(village, 'tank-north');
    const got: string[] = [];
    c.on('message', (t) => got.push(t));
    const filters = [
      '#',
      '$SYS/#',
      '$SYS/broker/clients/connected',
      '+/#',
      '+/+/+/+/+',
      'tend/#',
      `${V}/#`,
      `${V}/dev/+/reading`,
      `${V}/dev/tank-school/#`,
      `${V}/+`,
    ];
    const suback = new Promise<number[]>((resolve) =>
      c.on('packetreceive', (p) => {
        if (p.cmd === 'suback') resolve(p.granted as number[]);
      }),
    );
    c.subscribe(filters, { qos: 1 }, () => {});
    expect(await suback).toEqual(filters.map(() => 128));
    // other devices publish; the refused subscriber sees none of it
    const w = await watcher('tank-school', [`${V}/dev/tank-school/#`]);
    await sentinel(w, 'tank-school', `${V}/dev/tank-school/reading`, '{"pressure_kpa": 9.3}');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    c.end(true);
    w.client.end(true);
  });
});

describe('who may log in', () => {
  it('refuses an overlong client id (CONNACK 2) and takes a normal one', async () => {
    const creds = { username: 'tank-north', password: 'demo-north-5e1f' };
    const long = await tryConnect(village.brokerUrl, { ...creds, clientId: 'x'.repeat(5000) });
    expect(long).toMatchObject({ ok: false, code: 2 });
    const justOver = await tryConnect(village.brokerUrl, { ...creds, clientId: 'y'.repeat(129) });
    expect(justOver).toMatchObject({ ok: false, code: 2 });
    // 128 characters in the account's own namespace (`<username>-…`)
    const fine = await tryConnect(village.brokerUrl, { ...creds, clientId: `tank-north-${'z'.repeat(117)}` });
    expect(fine.ok).toBe(true);
    fine.client?.end(true);
  });

  it('logs in a device whose secret is stored as scrypt secret_hash, refuses a wrong password', async () => {
    const config = manyTanksConfig(2);
    const hashed = config.devices[1]!;
    const secret = 'correct horse battery staple';
    hashed.secret_hash = await hashSecret(secret);
    delete hashed.secret;
    expect(hashed.secret_hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    const v = await startTestVillage({ config });
    try {
      const topic = `tend/stormvale/dev/${hashed.id}/reading`;
      expect(await tryConnect(v.brokerUrl, { username: hashed.id, password: 'wrong' })).toMatchObject({ ok: false, code: 4 });
      expect(await tryConnect(v.brokerUrl, { username: hashed.id, password: secret.slice(0, -1) })).toMatchObject({ ok: false, code: 4 });
      // the stored hash itself is not a password
      expect(await tryConnect(v.brokerUrl, { username: hashed.id, password: hashed.secret_hash })).toMatchObject({ ok: false, code: 4 });
      expect(await tryConnect(v.brokerUrl, { username: hashed.id })).toMatchObject({ ok: false });
      const ok = await tryConnect(v.brokerUrl, { username: hashed.id, password: secret });
      expect(ok.ok).toBe(true);
      await ok.client!.publishAsync(topic, '{"distance_mm": 600}', { qos: 1 });
      await waitFor(() => v.ingest.accepted.get(hashed.id) === 1, 10_000, 'reading of the hashed-secret device');
      ok.client!.end(true);
      // a wrong password right after a good login is still refused (the verified cache holds the right one only)
      expect(await tryConnect(v.brokerUrl, { username: hashed.id, password: 'wrong-again' })).toMatchObject({ ok: false, code: 4 });
      // a plain-secret device of the same village is unaffected
      const plain = await tryConnect(v.brokerUrl, { username: nodeId(0), password: secretOf(nodeId(0)) });
      expect(plain.ok).toBe(true);
      plain.client?.end(true);
      expect(v.ingest.accepted.get(hashed.id)).toBe(1);
    } finally {
      await v.cleanup();
    }
  });
});
