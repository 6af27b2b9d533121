// Hostile payloads over real MQTT: 100,000+ malformed readings (random bytes, invalid UTF-8,
// deep JSON, prototype-pollution keys, NaN/Infinity, oversized) from several devices at once,
// with valid readings interleaved. Nothing crashes, every reject is counted on /metrics, every
// valid reading lands, memory stays bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { metricValue, rng, scrape, settledMemoryMb } from './helpers.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

const TOTAL = 100_000;
/** one valid reading after every this many malformed ones */
const VALID_EVERY = 250;

/**
 * Malformed payload number i for a device whose real metric is `metric`. Every kind is refused
 * by exactly one reject (the whole payload is refused at its first bad field), so the expected
 * reject count is exact.
 */
function malformed(r: () => number, metric: string): Buffer {
  const k = Math.floor(r() * 16);
  switch (k) {
    case 0: {
      // random bytes, never starting with '{' so they cannot by chance be an object
      const b = Buffer.alloc(1 + Math.floor(r() * 200));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(r() * 256);
      if (b[0] === 0x7b || (b[0]! >= 0x30 && b[0]! <= 0x39) || b[0] === 0x2d) b[0] = 0xff;
      return b;
    }
    case 1: // invalid UTF-8 in a key: decodes to U+FFFD, not an allowed metric name
      return Buffer.concat([Buffer.from('{"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('": 1}')]);
    case 2: // invalid UTF-8 as a value
      return Buffer.concat([Buffer.from(`{"${metric}": "`), Buffer.from([0xed, 0xa0, 0x80, 0xc0, 0xaf]), Buffer.from('"}')]);
    case 3: {
      // deeply nested arrays (as deep as fits in the size limit)
      const d = 1000 + Math.floor(r() * 1000);
      return Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`);
    }
    case 4: {
      // deeply nested objects under the metric key
      const d = 300 + Math.floor(r() * 300);
      return Buffer.from(`{"${metric}": ${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`);
    }
    case 5: // prototype pollution: __proto__ is not an allowed metric name
      return Buffer.from(`{"__proto__": {"polluted": 1}, "${metric}": 5}`);
    case 6:
      return Buffer.from(`{"constructor": {"prototype": {"polluted": 1}}}`);
    case 7:
      return Buffer.from(`{"${metric}": "NaN"}`);
    case 8:
      return Buffer.from(`{"${metric}": "Infinity"}`);
    case 9: // 1e400 parses to Infinity
      return Buffer.from(`{"${metric}": ${r() < 0.5 ? '1e400' : '-1e400'}}`);
    case 10: // bare NaN is not JSON
      return Buffer.from(`{"${metric}": NaN}`);
    case 11: {
      // oversized: over MAX_PAYLOAD_BYTES (4096), up to 64 KiB
      const n = 4097 + Math.floor(r() * 60_000);
      return Buffer.from(`{"${metric}": 1, "pad": "${'x'.repeat(n)}"}`);
    }
    case 12:
      return Buffer.from(r() < 0.5 ? '' : r() < 0.5 ? '[]' : 'null');
    case 13:
      return Buffer.from(`{"${metric}": 1, "ts": "yesterday"}`);
    case 14:
      return Buffer.from(`{"${metric}": 1, "seq": -${Math.floor(r() * 100) + 1}}`);
    default: // out of the configured range? the demo has no range; use a metric it lacks
      return Buffer.from(`{"not_my_metric": ${r()}}`);
  }
}

describe('payload fuzzer', () => {
  it(`refuses ${TOTAL.toLocaleString('en')} malformed payloads, counts each one, keeps taking valid readings`, async () => {
    const targets = [
      { device: 'tank-north', metric: 'distance_mm', valid: (i: number) => `{"distance_mm": ${500 + (i % 1000)}}` },
      { device: 'tank-hill', metric: 'level_mm', valid: (i: number) => `{"level_mm": ${100 + (i % 1500)}}` },
      { device: 'cold-store', metric: 'fridge1_c', valid: (i: number) => `{"fridge1_c": ${(i % 80) / 10}}` },
      { device: 'weather-mast', metric: 'wind_ms', valid: (i: number) => `{"wind_ms": ${(i % 200) / 10}}` },
    ];
    const clients: MqttClient[] = [];
    for (const t of targets) clients.push(await connectDevice(village, t.device));
    const metricsBefore = await scrape(village);
    const rejectedBefore = metricValue(metricsBefore, 'tend_readings_rejected_total') ?? 0;
    const acceptedBefore = village.ingest.acceptedTotal;
    const before = await settledMemoryMb();
    const rssBefore = before.rss;
    let peakRss = rssBefore;

    const per = TOTAL / targets.length;
    let validSent = 0;
    await Promise.all(
      targets.map(async (t, ti) => {
        const r = rng(1000 + ti);
        const c = clients[ti]!;
        const topic = `tend/ashgrove/dev/${t.device}/reading`;
        for (let i = 0; i < per; i++) {
          c.publish(topic, malformed(r, t.metric), { qos: 0 });
          if (i % VALID_EVERY === 0) {
            c.publish(topic, t.valid(i), { qos: 0 });
            validSent++;
          }
          // let the client socket drain: QoS 0 has no flow control of its own
          if (i % 200 === 0) {
            await new Promise((res) => setImmediate(res));
            const stream = (c as unknown as { stream: { writableLength: number } }).stream;
            while (stream.writableLength > 1 << 20) await new Promise((res) => setTimeout(res, 5));
          }
          if (i % 5000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss / 2 ** 20);
        }
        // a QoS 1 round trip: everything this client sent before it has been read by the broker
        await c.publishAsync(topic, t.valid(per), { qos: 1 });
        validSent++;
      }),
    );

    // every malformed payload counted as exactly one reject, every valid one accepted
    await waitFor(
      () => village.ingest.rejectedTotal - rejectedBefore >= TOTAL,
      30_000,
      `${TOTAL} rejects (have ${village.ingest.rejectedTotal - rejectedBefore})`,
    );
    await waitFor(() => village.ingest.acceptedTotal - acceptedBefore >= validSent, 30_000, `${validSent} valid readings`);
    expect(village.ingest.rejectedTotal - rejectedBefore).toBe(TOTAL);
    expect(village.ingest.acceptedTotal - acceptedBefore).toBe(validSent);

    const metrics = await scrape(village);
    expect((metricValue(metrics, 'tend_readings_rejected_total') ?? 0) - rejectedBefore).toBe(TOTAL);
    for (const reason of ['not_json', 'not_object', 'not_finite', 'too_large', 'unknown_metric', 'bad_ts', 'bad_seq']) {
      expect(metricValue(metrics, 'tend_readings_rejected_total', { reason }), reason).toBeGreaterThan(0);
    }
    for (const t of targets) {
      expect(metricValue(metrics, 'tend_readings_accepted_total', { device: t.device })).toBeGreaterThanOrEqual(per / VALID_EVERY);
    }
    // the last valid reading of each device is what the status shows
    const st = village.refresh();
    expect(st.water.tanks.find((x) => x.id === 'north')!.level_mm).toBeCloseTo(2100 - (500 + (per % 1000)), 6);
    expect(st.sensors.rejected_total).toBeGreaterThanOrEqual(TOTAL);
    // no prototype was polluted on the way
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    // all four devices are still connected: a bad payload refuses the reading, not the device
    expect(clients.every((c) => c.connected)).toBe(true);
    expect(village.ingest.rejects.size).toBeLessThan(100); // counted per device and reason, not per payload

    // memory bounded: generous, since the test's own clients live in this process too
    // what stays is measured as the reachable heap after full collections: RSS keeps the pages the
    // allocator grew during the flood (on Node 24 it stays up to ~250 MB higher; see the churn test)
    const after = await settledMemoryMb();
    expect(peakRss - rssBefore, `peak RSS ${peakRss.toFixed(0)} MB from ${rssBefore.toFixed(0)} MB`).toBeLessThan(400);
    expect(after.heapUsed - before.heapUsed, `heap ${after.heapUsed.toFixed(0)} MB after, ${before.heapUsed.toFixed(0)} MB before`).toBeLessThan(50);
    // rejects are logged at most once a minute per device, never per payload
    expect(village.logs.filter((l) => l.startsWith('ingest: rejected')).length).toBeLessThanOrEqual(2 * targets.length);
    for (const c of clients) c.end(true);
  }, 240_000);
});
