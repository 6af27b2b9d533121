// Listeners are isolated: one that throws is logged with its module's name and the others still
// run; a failing output never breaks ingest, which emits from inside the broker's publish path.
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/types.ts';
import { VillageEventHub } from '../../services/events.ts';
import { connectDevice, getJson, startTestVillage } from '../helpers/village.ts';

const reading = { device: 'd', sensor: 's', kind: 'rain', metric: 'rain_mm', raw: 1, value: 1, ts: 0, received: 0, source: 'mqtt' } as unknown as Reading;

describe('event hub', () => {
  it('runs every listener when one throws, and logs the failing module by name', () => {
    const lines: string[] = [];
    const hub = new VillageEventHub((l) => lines.push(l));
    const seen: string[] = [];
    hub.on('reading', () => seen.push('before'), 'state');
    hub.on(
      'reading',
      () => {
        throw new Error('disk on fire');
      },
      'history',
    );
    hub.on('reading', () => seen.push('after'), 'web');
    expect(() => hub.emit('reading', reading)).not.toThrow();
    expect(seen).toEqual(['before', 'after']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^events: history failed on a reading event and was skipped: Error: disk on fire/);
    expect(hub.failures.get('history')).toBe(1);
  });

  it('logs a listener that keeps failing once a minute, not once per event', () => {
    const lines: string[] = [];
    const hub = new VillageEventHub((l) => lines.push(l));
    hub.on(
      'status',
      () => {
        throw new Error('boom');
      },
      'webhooks',
    );
    for (let i = 0; i < 1000; i++) hub.emit('status', {} as never);
    expect(lines).toHaveLength(1);
    expect(hub.failures.get('webhooks')).toBe(1000);
  });

  it('off removes only the listener named, also during an emit', () => {
    const hub = new VillageEventHub();
    const seen: number[] = [];
    const a = () => {
      seen.push(1);
      hub.off('alert', b);
    };
    const b = () => seen.push(2);
    hub.on('alert', a).on('alert', b);
    hub.emit('alert', {} as never); // b was removed during this emit: it still ran this time
    hub.emit('alert', {} as never);
    expect(seen).toEqual([1, 2, 1]);
    expect(hub.listenerCount('alert')).toBe(1);
  });
});

describe('a failing output in a running village', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('still acknowledges and shows the reading when a reading listener throws', async () => {
    const village = await startTestVillage({ tick: false });
    cleanups.push(() => village.cleanup());
    village.events.on(
      'reading',
      () => {
        throw new Error('history exploded');
      },
      'broken-output',
    );
    const device = await connectDevice(village, 'tank-north');
    cleanups.push(async () => {
      await device.endAsync(true);
    });
    // QoS 1: the PUBACK comes back only once the reading is durable, so this resolves only if ingest went through
    await device.publishAsync(`tend/${village.config.village.id}/dev/tank-north/reading`, JSON.stringify({ distance_mm: 700 }), { qos: 1 });
    const deadline = Date.now() + 5000;
    let level: number | null = null;
    while (Date.now() < deadline) {
      const st = await getJson(`${village.webUrl}/api/status`);
      const tank = st.water.tanks.find((t: { id: string; level_mm: number | null }) => t.id === 'north');
      level = tank?.level_mm ?? null;
      if (level !== null && Math.abs(level - 1400) < 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // the demo's north tank: sensor 2,100 mm above the bottom, 700 mm to the water
    expect(level).toBeCloseTo(1400, 0);
    expect(village.logs.some((l) => /broken-output failed on a reading event/.test(l))).toBe(true);
    expect(device.connected).toBe(true);
  });
});
