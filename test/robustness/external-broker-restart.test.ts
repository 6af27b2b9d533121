// The external broker restarted mid-stream: a village reads its devices through a real Debian
// Mosquitto (persistence on). Devices publish QoS 1 with persistent sessions; Mosquitto is
// stopped and started again; tend reconnects with its stable client id and persistent session,
// and every reading the devices published — before, during and after the gap — arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { manyTanksConfig, metricValue, nodeId, scrape, secretOf } from './helpers.ts';
import type { Reading } from '../../core/types.ts';

const DEVICES = 3;
const TEND_PASSWORD = 'tend-broker-pass-42';
// devices write only under their own prefix; tend reads the device topics and writes the outputs
const ACL = ['pattern write tend/stormvale/dev/%u/#', 'pattern read tend/stormvale/dev/%u/#', 'user tend', 'topic readwrite tend/#', ''].join('\n');

let mosquitto: Mosquitto;
let village: Awaited<ReturnType<typeof startTestVillage>>;
const devices: MqttClient[] = [];
beforeAll(async () => {
  const users: Record<string, string> = { tend: TEND_PASSWORD };
  for (let i = 0; i < DEVICES; i++) users[nodeId(i)] = secretOf(nodeId(i));
  mosquitto = await startMosquitto({ users, acl: ACL });
  const config = manyTanksConfig(DEVICES, {
    broker: { url: mosquitto.url, username: 'tend', password: TEND_PASSWORD, client_id: 'tend-stormvale' },
  });
  village = await startTestVillage({ config });
}, 60_000);
afterAll(async () => {
  for (const d of devices) d.end(true);
  await village?.cleanup();
  await mosquitto?.close();
});

describe('external broker restarted mid-stream', () => {
  it('tend reconnects with its persistent session and every QoS 1 reading arrives', async () => {
    await waitFor(() => village.links()[0]!.state === 'connected', 15_000, 'tend connected to Mosquitto');
    const got = new Map<string, Set<number>>();
    village.events.on('reading', (r: Reading) => {
      if (!got.has(r.device)) got.set(r.device, new Set());
      got.get(r.device)!.add(r.seq!);
    });
    // devices with stable ids and persistent sessions; mqtt.js keeps unacknowledged QoS 1 messages
    // and sends them again after reconnecting
    for (let i = 0; i < DEVICES; i++) {
      const id = nodeId(i);
      const c = mqtt.connect(mosquitto.url, { username: id, password: secretOf(id), clientId: id, clean: false, reconnectPeriod: 200, connectTimeout: 5000 });
      c.on('error', () => {});
      devices.push(c);
      await new Promise<void>((r) => c.once('connect', () => r()));
    }
    const sent = new Map<string, number>();
    const acked = new Map<string, Set<number>>();
    let running = true;
    let tendStateWhenGapAcked = '';
    const publishers = devices.map(async (c, i) => {
      const id = nodeId(i);
      acked.set(id, new Set());
      let seq = 0;
      while (running) {
        const s = seq++;
        sent.set(id, seq);
        c.publish(`tend/stormvale/dev/${id}/reading`, JSON.stringify({ distance_mm: 500 + (s % 1000), seq: s }), { qos: 1 }, (err) => {
          if (!err) acked.get(id)!.add(s);
        });
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    // stream for a moment, then cut the broker
    await waitFor(() => (got.get(nodeId(0))?.size ?? 0) >= 10, 15_000, 'readings flowing through Mosquitto');
    await mosquitto.stop();
    await waitFor(() => village.links()[0]!.state !== 'connected', 15_000, 'tend notices the broker is gone');
    const gapFrom = Object.fromEntries(sent);
    // devices keep measuring while the broker is down: these go out when it is back
    await new Promise((r) => setTimeout(r, 4000));
    const gapTo = Object.fromEntries(sent);
    await mosquitto.start();
    // all gap readings acknowledged by Mosquitto (the devices have reconnected)
    await waitFor(
      () =>
        devices.every((_, i) => {
          const id = nodeId(i);
          for (let s = gapFrom[id]!; s < gapTo[id]!; s++) if (!acked.get(id)!.has(s)) return false;
          return true;
        }),
      30_000,
      'the devices deliver their gap readings to Mosquitto',
    );
    tendStateWhenGapAcked = village.links()[0]!.state;
    await waitFor(() => village.links()[0]!.state === 'connected', 60_000, 'tend reconnects');
    // a little more streaming after the reconnect
    const after = Object.fromEntries(sent);
    await waitFor(() => devices.every((_, i) => got.get(nodeId(i))?.has(after[nodeId(i)]! + 5) ?? false), 30_000, 'readings after the restart');
    running = false;
    await Promise.all(publishers);
    // every acknowledged reading arrived at tend: before, during and after the gap
    await waitFor(
      () =>
        devices.every((_, i) => {
          const id = nodeId(i);
          for (const s of acked.get(id)!) if (!got.get(id)!.has(s)) return false;
          return true;
        }),
      30_000,
      'all acknowledged readings at tend',
    );
    for (let i = 0; i < DEVICES; i++) {
      const id = nodeId(i);
      const missing: number[] = [];
      for (let s = 0; s < after[id]!; s++) if (!got.get(id)!.has(s)) missing.push(s);
      expect(missing, `${id} readings missing at tend (gap ${gapFrom[id]}…${gapTo[id]}); tend was ${tendStateWhenGapAcked} when the gap was delivered`).toEqual(
        [],
      );
      expect(gapTo[id]! - gapFrom[id]!).toBeGreaterThanOrEqual(20);
    }
    // counted on /metrics too (QoS 1 is at least once: duplicates are allowed, losses are not)
    const metrics = await scrape(village);
    expect(metricValue(metrics, 'tend_readings_accepted_total')).toBeGreaterThanOrEqual([...sent.values()].reduce((a, b) => a + b, 0) - DEVICES * 2);
    expect(village.ingest.acceptedTotal).toBe(metricValue(metrics, 'tend_readings_accepted_total'));
    // the broker saw tend come back with the same client id and a persistent session (clean false → c0)
    expect(mosquitto.log()).toMatch(/New client connected .* as tend-stormvale \(p\d, c0/);
  }, 180_000);
});
