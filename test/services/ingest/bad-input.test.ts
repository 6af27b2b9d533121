// A flood of garbage never crashes the service, is counted per device and reason, and a valid
// reading still lands afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, getJson, startTestVillage } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

/** deterministic pseudo-random numbers, so a failure can be replayed */
function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

function garbage(r: () => number, i: number): Buffer {
  const kinds = [
    () => Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256))),
    () => Buffer.from('{"distance_mm": "NaN"}'),
    () => Buffer.from('{"distance_mm": Infinity}'),
    () => Buffer.from(`{"distance_mm": ${'['.repeat(200)}`),
    () => Buffer.from(JSON.stringify({ __proto__: { x: 1 }, constructor: { prototype: { y: 1 } } })),
    () => Buffer.from('[1,2,3]'),
    () => Buffer.from('{"unknown_metric": 1}'),
    () => Buffer.from(`{"distance_mm": 1, "pad": "${'x'.repeat(5000)}"}`),
    () => Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc3]),
    () => Buffer.from(`{"distance_mm": ${i}, "ts": "not a time"}`),
    () => Buffer.from('{"distance_mm": null}'),
    () => Buffer.from(''),
  ];
  return kinds[Math.floor(r() * kinds.length)]!();
}

describe('bad input', () => {
  it('survives 10,000 malformed payloads, counts them, and still takes a valid reading', async () => {
    const r = rng(42);
    const device = await connectDevice(village, 'tank-north');
    for (let i = 0; i < 10_000; i++) {
      device.publish('tend/ashgrove/dev/tank-north/reading', garbage(r, i), { qos: 0 });
      if (i % 500 === 0) await new Promise((res) => setImmediate(res));
    }
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 700, "seq": 1}', { qos: 1 });
    const s = await waitFor(
      async () => {
        const st = await getJson(`${village.webUrl}/api/status`);
        return st.water.tanks.find((t: { id: string }) => t.id === 'north').level_mm === 1400 ? st : null;
      },
      15000,
      'valid reading after the flood',
    );
    expect(s.sensors.rejected_total).toBeGreaterThanOrEqual(9000);
    const metrics = await (await fetch(`${village.webUrl}/metrics`)).text();
    for (const reason of ['not_json', 'not_object', 'not_finite', 'too_large', 'unknown_metric', 'bad_ts']) {
      expect(metrics).toMatch(new RegExp(`tend_readings_rejected_total\\{device="tank-north",reason="${reason}",village="ashgrove"\\} \\d+`));
    }
    // logged at most once a minute per device, not once per payload
    expect(village.logs.filter((l) => l.includes('rejected from tank-north')).length).toBeLessThanOrEqual(2);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    device.end(true);
  });

  it('replaces a device clock more than 10 minutes off and flags it', async () => {
    const device = await connectDevice(village, 'tank-hill');
    await device.publishAsync('tend/ashgrove/dev/tank-hill/reading', JSON.stringify({ level_mm: 500, ts: '2001-01-01T00:00:00Z' }), { qos: 1 });
    const s = await waitFor(async () => {
      const st = await getJson(`${village.webUrl}/api/status`);
      return st.water.tanks.find((t: { id: string }) => t.id === 'hill').level_mm === 500 ? st : null;
    }, 5000);
    const hill = s.water.tanks.find((t: { id: string }) => t.id === 'hill');
    expect(Date.now() - Date.parse(hill.last_seen)).toBeLessThan(60_000);
    expect(village.ingest.clockReplacedTotal).toBeGreaterThanOrEqual(1);
    device.end(true);
  });
});
