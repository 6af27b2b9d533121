// Persistent sessions on the embedded broker stay bounded: 2,000 real clean:false clients
// subscribed to the village outputs (and some to a device's prefix) go away while the status keeps
// changing. Each session's queue and the total stay within their bounds, an output keeps only its
// latest copy, a returning client gets exactly that, and sessions away past the expiry are
// removed. Queues are read back through aedes' persistence (what aedes would send), not only
// through the broker's own counters; time is an injected clock.
import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { DeviceAuth } from '../../../services/broker/auth.ts';
import { EmbeddedBroker } from '../../../services/broker/embedded.ts';
import { startTestVillage } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';
import { manyTanksConfig, metricValue, nodeId, scrape, secretOf } from '../../robustness/helpers.ts';
import { connectPacket, persistentConnectBytes, rawMqtt, type RawMqtt } from './raw-mqtt.ts';

const V = 'tend/stormvale';
const OUTPUTS = [`${V}/reserve`, `${V}/alerts`, `${V}/assembly`];
const LIMITS = { perSession: 20, total: 9000, totalBytes: 16 * 1024 * 1024 };
const EXPIRY_MS = 24 * 3600_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function startBroker(clock: { now(): number }) {
  const config = manyTanksConfig(4);
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    auth: new DeviceAuth(config, () => [], clock),
    onDeviceMessage: () => false,
    whenDurable: (done) => done(),
    clock,
    sessionExpiryMs: EXPIRY_MS,
    latestOnlyTopics: OUTPUTS,
    queueLimits: LIMITS,
  });
  await broker.start();
  cleanups.push(() => broker.stop());
  return broker;
}

/** A persistent session of `device` with this client id, subscribed at QoS 1, left open. */
async function session(port: number, device: string, clientId: string, filters: string[]): Promise<RawMqtt> {
  const c = await rawMqtt(port);
  c.sendBytes(persistentConnectBytes({ clientId, username: device, password: Buffer.from(secretOf(device)) }));
  const ack = await c.next<mqttPacket.IConnackPacket>('connack');
  if (ack.returnCode !== 0) throw new Error(`${clientId}: CONNACK ${ack.returnCode}`);
  if (filters.length) {
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
    await c.next('suback');
  }
  return c;
}

/** Open `ids.length` sessions, 100 at a time, and drop each without DISCONNECT (power gone). */
async function sessionsThatGoAway(port: number, ids: { device: string; clientId: string; filters: string[] }[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const batch = await Promise.all(ids.slice(i, i + 100).map((s) => session(port, s.device, s.clientId, s.filters)));
    for (const c of batch) c.close();
  }
}

describe('persistent sessions that go away', () => {
  it('2,000 sessions and a stream of status changes: every queue and the total stay within the bounds, outputs keep their latest copy', async () => {
    const clock = { now: () => 1_700_000_000_000 };
    const broker = await startBroker(clock);
    const SIGNS = 2000;
    // the first 300 also follow a device's prefix, as a device's own second client would: 100 of
    // node-0000 (they reach the per-session bound), 200 of node-0001 (they reach the total)
    const FOLLOWERS = 300;
    const ids = Array.from({ length: SIGNS }, (_, i) => {
      const own = i < 100 ? nodeId(0) : i < FOLLOWERS ? nodeId(1) : nodeId(2 + (i % 2));
      return { device: own, clientId: `${own}-sign-${i}`, filters: i < FOLLOWERS ? [...OUTPUTS, `${V}/dev/${own}/#`] : OUTPUTS };
    });
    await sessionsThatGoAway(broker.port, ids);
    await waitFor(() => broker.connectedClients() === 0, 30_000, 'every session client gone');

    // the village keeps publishing its retained outputs (QoS 1): 300 status changes, 100 alert
    // changes, one assembly list; and node-0000 its readings, which its 100 followers queue
    for (let i = 0; i < 300; i++) {
      broker.publish(`${V}/reserve`, JSON.stringify({ n: i }), { qos: 1, retain: true });
      if (i % 3 === 0) broker.publish(`${V}/alerts`, JSON.stringify([{ n: i }]), { qos: 1, retain: true });
    }
    broker.publish(`${V}/assembly`, '[]', { qos: 1, retain: true });
    for (const d of [nodeId(0), nodeId(1)]) {
      const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: d, password: secretOf(d), clientId: `${d}-dev`, reconnectPeriod: 0 });
      for (let i = 0; i < 60; i++) await dev.publishAsync(`${V}/dev/${d}/reading`, JSON.stringify({ distance_mm: 500 + i, seq: i }), { qos: 1 });
      await dev.endAsync();
    }
    // one more status change after the readings, the last thing published
    broker.publish(`${V}/reserve`, JSON.stringify({ n: 300 }), { qos: 1, retain: true });

    // a signboard comes back: it gets the latest reserve, alerts and assembly list, once each
    const returning = ids[SIGNS - 1]!;
    const back = await rawMqtt(broker.port);
    back.sendBytes(persistentConnectBytes({ clientId: returning.clientId, username: returning.device, password: Buffer.from(secretOf(returning.device)) }));
    expect((await back.next<mqttPacket.IConnackPacket>('connack')).sessionPresent).toBe(true);
    const got: mqttPacket.IPublishPacket[] = [];
    while (!got.some((p) => p.topic === `${V}/reserve` && String(p.payload) === '{"n":300}')) {
      const p = await back.next<mqttPacket.IPublishPacket>('publish', 'the last reserve status', 30_000);
      back.send({ cmd: 'puback', messageId: p.messageId! });
      got.push(p);
    }
    expect(got.map((p) => `${p.topic} ${p.payload}`).sort()).toEqual([`${V}/alerts [{"n":297}]`, `${V}/assembly []`, `${V}/reserve {"n":300}`]);
    back.close();

    // the last publish reached every queue with the returning one's (one enqueue for all)
    const perSession = await Promise.all(ids.slice(0, -1).map((s) => broker.queuedFor(s.clientId)));
    const total = perSession.reduce((a, b) => a + b, 0);
    expect(Math.max(...perSession)).toBeLessThanOrEqual(LIMITS.perSession);
    expect(total).toBeLessThanOrEqual(LIMITS.total);
    // a session that follows only the outputs holds one copy of each: the latest
    for (let i = FOLLOWERS; i < SIGNS - 1; i += 97) expect(perSession[i]).toBe(OUTPUTS.length);
    // and the followers kept theirs too, beside the newest readings that fit
    for (let i = 0; i < FOLLOWERS; i += 37) expect(perSession[i]).toBeGreaterThanOrEqual(OUTPUTS.length);
    await waitFor(() => broker.queuedMessages() === total, 10_000, 'the returning session acknowledged');
    const dropped = Object.fromEntries(broker.droppedCounts());
    // every session dropped 300 older reserve copies and 99 older alert lists
    expect(dropped.superseded).toBe(SIGNS * (300 + 99));
    expect(dropped.session_limit).toBeGreaterThan(0);
    expect(dropped.total_limit).toBeGreaterThan(0);
  }, 180_000);

  it('removes sessions whose client stayed away past session_expiry_s, with their queues and subscriptions, and keeps the others', async () => {
    let now = 1_700_000_000_000;
    const clock = { now: () => now };
    const broker = await startBroker(clock);
    const away = Array.from({ length: 50 }, (_, i) => ({ device: nodeId(1), clientId: `${nodeId(1)}-old-${i}`, filters: OUTPUTS }));
    await sessionsThatGoAway(broker.port, away);
    await waitFor(() => broker.connectedClients() === 0, 10_000, 'the old sessions gone');
    broker.publish(`${V}/reserve`, '{"n":1}', { qos: 1, retain: true });
    await waitFor(async () => (await broker.queuedFor(away[49]!.clientId)) === 1, 10_000, 'queued for the old sessions');

    // half a day later: one session goes away only now, and one stays connected
    now += EXPIRY_MS / 2;
    await sessionsThatGoAway(broker.port, [{ device: nodeId(2), clientId: `${nodeId(2)}-recent`, filters: OUTPUTS }]);
    const connected = await session(broker.port, nodeId(3), `${nodeId(3)}-here`, OUTPUTS);
    expect(await broker.expireSessions()).toEqual([]);

    // a day and a minute after the first ones left
    now += EXPIRY_MS / 2 + 60_000;
    const expired = await broker.expireSessions();
    expect(expired.sort()).toEqual(away.map((s) => s.clientId).sort());
    for (const s of away) expect(await broker.queuedFor(s.clientId)).toBe(0);
    expect(Object.fromEntries(broker.droppedCounts()).session_expired).toBe(50);
    // their subscriptions are gone too: nothing is queued for them any more
    broker.publish(`${V}/reserve`, '{"n":2}', { qos: 1, retain: true });
    await waitFor(async () => (await broker.queuedFor(`${nodeId(2)}-recent`)) === 1, 10_000, 'the recent session still queues');
    for (const s of away) expect(await broker.queuedFor(s.clientId)).toBe(0);
    await connected.next('publish');
    // coming back after expiry is a new session
    const late = await rawMqtt(broker.port);
    late.sendBytes(persistentConnectBytes({ clientId: away[0]!.clientId, username: nodeId(1), password: Buffer.from(secretOf(nodeId(1))) }));
    expect((await late.next<mqttPacket.IConnackPacket>('connack')).sessionPresent).toBe(false);
    late.close();
    connected.close();
  });
});

describe('through a started village', () => {
  it('queues only the latest output for sessions that went away, and says so on /metrics', async () => {
    const village = await startTestVillage({ config: manyTanksConfig(2) });
    cleanups.push(() => village.cleanup());
    const ids = Array.from({ length: 200 }, (_, i) => ({ device: nodeId(i % 2), clientId: `${nodeId(i % 2)}-sign-${i}`, filters: [`${V}/reserve`] }));
    await sessionsThatGoAway(village.brokerPort, ids);
    await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === 0, 10_000, 'the sessions gone');
    for (let i = 0; i < 50; i++) village.publish(`${V}/reserve`, JSON.stringify({ n: i }), { qos: 1, retain: true });
    const text = await waitFor(
      async () => {
        const t = await scrape(village);
        return (metricValue(t, 'tend_broker_queue_dropped_total', { reason: 'superseded' }) ?? 0) >= 49 * ids.length ? t : null;
      },
      10_000,
      'older reserve copies dropped',
    );
    expect(metricValue(text, 'tend_broker_queued_messages')).toBeLessThanOrEqual(ids.length);
    // a plain connect with a clean session is unaffected
    const c = await rawMqtt(village.brokerPort);
    c.send(connectPacket({ clientId: `${nodeId(0)}-clean`, username: nodeId(0), password: Buffer.from(secretOf(nodeId(0))) }));
    expect((await c.next<mqttPacket.IConnackPacket>('connack')).returnCode).toBe(0);
    c.close();
  });
});
