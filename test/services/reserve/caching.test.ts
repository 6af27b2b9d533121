// The reserve computes a status many times a second under load; what did not change since the
// last one is handed out again instead of worked out anew. These tests hold that a cached figure
// is always the figure the reserve would compute afresh: after a reading, when a sensor goes
// stale, when its device goes offline, and for the daily use behind days left.
import { afterEach, describe, expect, it } from 'vitest';
import { rig, T0, type Rig } from './fixture.ts';

const MIN = 60_000;
let r: Rig | null = null;
afterEach(() => {
  r?.reserve.stop();
  r?.storage.close();
  r = null;
});

/** the same readings into a reserve of its own, asked only once: the status worked out afresh */
function afresh(readings: { id: string; raw: number; at: number }[], now: number) {
  const x = rig(':memory:', readings[0]?.at ?? T0);
  for (const { id, raw, at } of readings) {
    x.clock.set(at);
    x.feed(id, raw);
  }
  x.clock.set(now);
  const out = { status: x.reserve.status({ rejected_total: 0 }), sensors: x.reserve.sensors() };
  x.reserve.stop();
  x.storage.close();
  return out;
}

describe('reserve caching', () => {
  it('hands out an unchanged tank and sensor again, and a new one after a reading or a change of staleness', () => {
    r = rig();
    const fed: { id: string; raw: number; at: number }[] = [];
    const feed = (id: string, raw: number, at: number) => {
      r!.clock.set(at);
      r!.feed(id, raw);
      fed.push({ id, raw, at });
    };
    // an hour and a half of both tanks falling, one reading a minute
    for (let m = 0; m <= 90; m++) {
      feed('east', 1500 - 3 * m, T0 + m * MIN);
      feed('north', 400 + 2 * m, T0 + m * MIN + 1000);
    }
    const at = T0 + 90 * MIN + 2000;
    r.clock.set(at);
    const a = r.reserve.status({ rejected_total: 0 });
    const sa = r.reserve.sensors();
    const b = r.reserve.status({ rejected_total: 0 });
    const sb = r.reserve.sensors();
    // nothing happened between: the same entries
    expect(b.water.tanks[0]).toBe(a.water.tanks[0]);
    expect(sb[0]).toBe(sa[0]);
    expect(b).toEqual(a);
    expect(a).toEqual(afresh(fed, at).status);
    expect(sa).toEqual(afresh(fed, at).sensors);
    expect(a.water.draw_lph).not.toBeNull();

    // a reading of one tank: its entry is new, the other's stays
    feed('east', 1200, at + 1000);
    const c = r.reserve.status({ rejected_total: 0 });
    expect(c.water.tanks[0]).not.toBe(a.water.tanks[0]);
    expect(c.water.tanks[1]).toBe(a.water.tanks[1]);
    expect(c.water.tanks[0]!.liters).not.toBe(a.water.tanks[0]!.liters);
    expect(c).toEqual(afresh(fed, at + 1000).status);

    // north falls silent: once stale, its entry and health say so, and the totals are marked
    const later = at + 1000 + 5 * MIN;
    r.clock.set(later);
    const d = r.reserve.status({ rejected_total: 0 });
    const sd = r.reserve.sensors();
    expect(d.water.tanks[1]!.stale).toBe(true);
    expect(d.water.stale_tanks).toBe(2);
    expect(sd.find((s) => s.id === 'north')!.stale).toBe(true);
    expect(d).toEqual(afresh(fed, later).status);
    expect(sd).toEqual(afresh(fed, later).sensors);

    // its device says offline, then a reading brings it back
    r.reserve.setDeviceOnline('tanks', false, later);
    expect(r.reserve.sensors().find((s) => s.id === 'east')!.device_online).toBe(false);
    feed('north', 700, later + 1000);
    const e = r.reserve.status({ rejected_total: 0 });
    expect(e.water.tanks[1]!.stale).toBe(false);
    expect(r.reserve.sensors().find((s) => s.id === 'north')!.device_online).toBe(false);
  });

  it('keeps the daily use behind days left in step with the readings', () => {
    r = rig();
    const fed: { id: string; raw: number; at: number }[] = [];
    const feed = (id: string, raw: number, at: number) => {
      r!.clock.set(at);
      r!.feed(id, raw);
      fed.push({ id, raw, at });
    };
    for (let m = 0; m <= 5 * 60; m += 1) {
      feed('east', 1800 - m, T0 + m * MIN);
      feed('north', 300 + m / 2, T0 + m * MIN + 500);
    }
    const a = r.reserve.status({ rejected_total: 0 }).water;
    expect(a.daily_use_liters).not.toBeNull();
    // more use: the figure moves with it, as a reserve asked only now would have it
    for (let m = 301; m <= 330; m += 1) feed('east', 1800 - 301 - 4 * (m - 301), T0 + m * MIN);
    const b = r.reserve.status({ rejected_total: 0 }).water;
    expect(b.daily_use_liters).not.toBe(a.daily_use_liters);
    expect(r.reserve.status({ rejected_total: 0 }).water.daily_use_liters).toBe(b.daily_use_liters);
    expect(b).toEqual(afresh(fed, r.clock.now()).status.water);
  });
});
