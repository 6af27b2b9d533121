// A device message ingest has taken in authorizePublish is routed through aedes only when someone's
// subscription matches it: live, or kept for a persistent session whose client is away. Readings
// nobody subscribes to end after ingest (and their QoS 1 PUBACK still waits for durability).
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { configSchema } from '../../../config/schema.ts';
import { systemClock } from '../../../core/types.ts';
import { DeviceAuth } from '../../../services/broker/auth.ts';
import { EmbeddedBroker } from '../../../services/broker/embedded.ts';
import { topicMatches } from '../../../firmware-bridge/protocol/topics.ts';
import { SubscriptionIndex, type SubscriptionStore } from '../../../services/broker/sessions.ts';
import { waitFor } from '../../helpers/net.ts';

const config = configSchema.parse({
  version: 1,
  village: { id: 'hollin', name: 'Hollin', population: 150, timezone: 'UTC' },
  devices: [
    { id: 'tank-a', secret: 'tank-a-secret-1' },
    { id: 'tank-b', secret: 'tank-b-secret-2' },
  ],
  sensors: [
    { id: 'a', name: 'A', device: 'tank-a', metric: 'level_mm', kind: 'tank_level', tank: { shape: 'box', length_mm: 1000, width_mm: 1000, height_mm: 2000 } },
    { id: 'b', name: 'B', device: 'tank-b', metric: 'level_mm', kind: 'tank_level', tank: { shape: 'box', length_mm: 1000, width_mm: 1000, height_mm: 2000 } },
  ],
});
const topic = (d: string) => `tend/hollin/dev/${d}/reading`;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

/** the embedded broker alone: device messages are taken (counted), durability is held by hand */
async function broker(): Promise<{ b: EmbeddedBroker; taken: string[]; durable: () => void; waiting: () => number }> {
  const taken: string[] = [];
  let waiters: (() => void)[] = [];
  const b = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    auth: new DeviceAuth(config, () => [], systemClock),
    onDeviceMessage: (t) => {
      if (!t.startsWith('tend/hollin/dev/')) return false;
      taken.push(t);
      return true;
    },
    whenDurable: (done) => waiters.push(done),
    village: 'hollin',
  });
  await b.start();
  cleanups.push(() => b.stop());
  return {
    b,
    taken,
    durable: () => {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    waiting: () => waiters.length,
  };
}

async function device(b: EmbeddedBroker, id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const secret = config.devices.find((d) => d.id === id)!.secret;
  const c = await mqtt.connectAsync(b.address, {
    username: id,
    password: secret,
    reconnectPeriod: 0,
    clientId: `${id}-${Math.random().toString(16).slice(2)}`,
    ...opts,
  });
  cleanups.push(() => c.endAsync(true).catch(() => {}));
  return c;
}

describe('topicMatches', () => {
  it('follows MQTT wildcards', () => {
    expect(topicMatches('tend/v/dev/a/#', 'tend/v/dev/a/reading')).toBe(true);
    expect(topicMatches('tend/v/dev/a/#', 'tend/v/dev/a')).toBe(true); // the parent level too
    expect(topicMatches('tend/v/+/a/reading', 'tend/v/dev/a/reading')).toBe(true);
    expect(topicMatches('tend/v/#', 'tend/v/dev/b/status')).toBe(true);
    expect(topicMatches('tend/v/dev/a/#', 'tend/v/dev/b/reading')).toBe(false);
    expect(topicMatches('tend/v/dev/+', 'tend/v/dev/a/reading')).toBe(false);
    expect(topicMatches('tend/v/reserve', 'tend/v/reserve/x')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('$share/g/tend/v/dev/+/reading', 'tend/v/dev/a/reading')).toBe(true);
  });

  it('counts a filter until its last holder lets go, and a kept one until its session is cleaned', async () => {
    const index = new SubscriptionIndex();
    index.liveAdded('tend/v/dev/a/#');
    index.liveAdded('tend/v/dev/a/#');
    index.liveRemoved('tend/v/dev/a/#');
    expect(index.anyMatch('tend/v/dev/a/reading')).toBe(true);
    index.liveRemoved('tend/v/dev/a/#');
    expect(index.anyMatch('tend/v/dev/a/reading')).toBe(false);
    const store: SubscriptionStore = {
      addSubscriptions: async () => {},
      removeSubscriptions: async () => {},
      cleanSubscriptions: async () => {},
    };
    index.install(store);
    await store.addSubscriptions({ id: 'a-1' }, [{ topic: 'tend/v/dev/a/#' }]);
    expect(index.anyMatch('tend/v/dev/a/reading')).toBe(true);
    await store.cleanSubscriptions({ id: 'a-1' });
    expect(index.anyMatch('tend/v/dev/a/reading')).toBe(false);
  });
});

describe('device messages nobody subscribes to', () => {
  it('are taken without routing, and the QoS 1 PUBACK still waits until durable', async () => {
    const { b, taken, durable, waiting } = await broker();
    const a = await device(b, 'tank-a');
    let acked = false;
    const pub = a.publishAsync(topic('tank-a'), '{"level_mm":1200}', { qos: 1 }).then(() => (acked = true));
    await waitFor(() => waiting() === 1);
    expect(taken).toEqual([topic('tank-a')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(acked).toBe(false);
    durable();
    await pub;
    expect(acked).toBe(true);
    expect(b.unrouted).toBe(1);
  });

  it('are routed to a device subscribed to its own prefix, and not once it unsubscribes', async () => {
    const { b, durable, waiting } = await broker();
    const a = await device(b, 'tank-a');
    const got: string[] = [];
    a.on('message', (t, p) => got.push(`${t} ${p}`));
    await a.subscribeAsync('tend/hollin/dev/tank-a/#', { qos: 0 });
    const first = a.publishAsync(topic('tank-a'), '{"level_mm":1}', { qos: 1 });
    await waitFor(() => waiting() === 1);
    expect(b.subscriptions.anyMatch(topic('tank-a'))).toBe(true);
    durable();
    await first;
    await waitFor(() => got.length === 1);
    expect(got).toEqual([`${topic('tank-a')} {"level_mm":1}`]);
    expect(b.unrouted).toBe(0);
    // another device's readings match nobody's filter
    const other = await device(b, 'tank-b');
    await other.publishAsync(topic('tank-b'), '{"level_mm":2}', { qos: 0 });
    await waitFor(() => b.unrouted === 1);
    await a.unsubscribeAsync('tend/hollin/dev/tank-a/#');
    await waitFor(() => !b.subscriptions.anyMatch(topic('tank-a')));
    await a.publishAsync(topic('tank-a'), '{"level_mm":3}', { qos: 0 });
    await waitFor(() => b.unrouted === 2);
    expect(got).toHaveLength(1);
  });

  it('are queued for a persistent session whose client is away, and delivered when it returns', async () => {
    const { b, durable, waiting } = await broker();
    const clientId = 'tank-a-listener';
    const listener = await device(b, 'tank-a', { clientId, clean: false });
    await listener.subscribeAsync('tend/hollin/dev/tank-a/#', { qos: 1 });
    await listener.endAsync();
    await waitFor(() => b.connectedClients() === 0);
    // the session is away: only the persistence keeps its filter
    expect(b.subscriptions.anyMatch(topic('tank-a'))).toBe(true);
    const a = await device(b, 'tank-a');
    const pub = a.publishAsync(topic('tank-a'), '{"level_mm":1500}', { qos: 1 });
    await waitFor(() => waiting() === 1);
    durable();
    await pub;
    await waitFor(() => b.queuedMessages() === 1);
    expect(b.unrouted).toBe(0);
    const got: string[] = [];
    const back = mqtt.connect(b.address, { username: 'tank-a', password: 'tank-a-secret-1', clientId, clean: false, reconnectPeriod: 0 });
    cleanups.push(() => back.endAsync(true).catch(() => {}));
    back.on('message', (t, p) => got.push(`${t} ${p}`));
    await waitFor(() => got.length === 1);
    expect(got).toEqual([`${topic('tank-a')} {"level_mm":1500}`]);
  });

  it('a retained device message is always routed, for subscribers to come', async () => {
    const { b } = await broker();
    const a = await device(b, 'tank-a');
    await a.publishAsync('tend/hollin/dev/tank-a/status', 'online', { qos: 0, retain: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(b.unrouted).toBe(0);
  });
});
