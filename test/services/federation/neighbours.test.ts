// Freshness of neighbours' news on a fake clock: nothing stale is ever shown as fresh.
import { describe, expect, it } from 'vitest';
import { NeighbourBook, type FreshnessContext } from '../../../services/federation/neighbours.ts';
import type { FedMessage } from '../../../services/federation/topics.ts';

const T0 = Date.parse('2026-11-20T06:00:00Z');
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

function summary(at: number, days = 12): FedMessage {
  return {
    kind: 'summary',
    body: {
      v: 1,
      at: iso(at),
      water_days_current: days,
      water_days_minimum: days * 2,
      power_hours_left: 30,
      cold_at_risk: 0,
      sensors_online: 5,
      sensors_total: 6,
    },
  };
}
const ctx = (now: number, over: Partial<FreshnessContext> = {}): FreshnessContext => ({
  now,
  connected: true,
  linkDownAt: null,
  staleAfterMs: 10 * MIN,
  ...over,
});

describe('NeighbourBook freshness', () => {
  it('shows news fresh until it is older than the stale window', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0), T0 + 100, false);
    expect(b.view(ctx(T0 + 5 * MIN))[0]).toMatchObject({ village: 'birchwell', stale: false, water_days_current: 12, heard_at: iso(T0) });
    expect(b.view(ctx(T0 + 11 * MIN))[0]!.stale).toBe(true);
  });

  it('ignores our own village and shows everything stale while our link is down', () => {
    const b = new NeighbourBook('ashgrove');
    expect(b.apply('ashgrove', summary(T0), T0, false)).toBe(false);
    b.apply('birchwell', summary(T0), T0, false);
    expect(b.view(ctx(T0, { connected: false })).map((n) => n.stale)).toEqual([true]);
  });

  it('shows a replayed copy from before our link went down as stale, until newer news arrives', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0), T0, false);
    const down = T0 + MIN;
    // after the cut the broker replays the retained copy: still the news of T0
    b.apply('birchwell', summary(T0), T0 + 3 * MIN, true);
    expect(b.view(ctx(T0 + 3 * MIN, { linkDownAt: down }))[0]!.stale).toBe(true);
    b.apply('birchwell', summary(T0 + 3 * MIN, 9), T0 + 3 * MIN, false);
    expect(b.view(ctx(T0 + 3 * MIN, { linkDownAt: down }))[0]).toMatchObject({ stale: false, water_days_current: 9 });
  });

  it('clamps a neighbour clock running ahead, so old news cannot look new', () => {
    const b = new NeighbourBook('ashgrove');
    // its clock says an hour later than ours; we heard it at T0
    b.apply('birchwell', summary(T0 + 60 * MIN), T0, true);
    expect(b.view(ctx(T0 + 11 * MIN))[0]!.stale).toBe(true);
    expect(b.view(ctx(T0))[0]!.heard_at).toBe(iso(T0));
  });

  it('shows a lagging neighbour clock as skew', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0 - 5 * MIN), T0, false);
    expect(b.view(ctx(T0))[0]!.clock_skew_s).toBe(300);
  });

  it('keeps the newest of each kind when an older queued copy arrives late', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0 + MIN, 5), T0 + MIN, true);
    b.apply('birchwell', summary(T0, 12), T0 + MIN, false);
    expect(b.view(ctx(T0 + MIN))[0]!.water_days_current).toBe(5);
  });

  it('marks a neighbour stale when its will says offline, and fresh when it is back', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0), T0, false);
    b.apply('birchwell', { kind: 'link', body: { v: 1, state: 'offline' } }, T0 + 1000, false);
    expect(b.view(ctx(T0 + 1000))[0]).toMatchObject({ stale: true, link: 'offline' });
    b.apply('birchwell', { kind: 'link', body: { v: 1, state: 'online', at: iso(T0 + 2000) } }, T0 + 2000, false);
    b.apply('birchwell', summary(T0 + 2000), T0 + 2000, false);
    expect(b.view(ctx(T0 + 2000))[0]).toMatchObject({ stale: false, link: 'online' });
  });

  it('shows news restored from storage as stale until the neighbour is heard again', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0), T0, false);
    const saved = JSON.parse(JSON.stringify(b.get('birchwell')));
    const after = new NeighbourBook('ashgrove');
    after.restore(saved);
    expect(after.view(ctx(T0 + MIN))[0]).toMatchObject({ stale: true, water_days_current: 12, heard_at: iso(T0) });
    after.apply('birchwell', summary(T0 + MIN), T0 + MIN, true);
    expect(after.view(ctx(T0 + MIN))[0]!.stale).toBe(false);
  });

  it('counts drills as listed but not as an open incident; an empty summary forgets the village', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('birchwell', summary(T0), T0, false);
    const drill = { id: 'i1', opened_at: iso(T0), domains: ['water'], crisis: true, exercise: true, headline: 'Drill', alerts: [] };
    b.apply('birchwell', { kind: 'incidents', body: { v: 1, at: iso(T0), open: [drill] } }, T0, false);
    expect(b.view(ctx(T0))[0]).toMatchObject({ incident_open: false, incidents: [{ headline: 'Drill', exercise: true }] });
    b.apply('birchwell', { kind: 'incidents', body: { v: 1, at: iso(T0 + 1), open: [{ ...drill, exercise: false }] } }, T0 + 1, false);
    expect(b.view(ctx(T0))[0]!.incident_open).toBe(true);
    b.apply('birchwell', { kind: 'summary', body: null }, T0 + 2, true);
    expect(b.view(ctx(T0))).toEqual([]);
  });

  it('holds at most maxNeighbours', () => {
    const b = new NeighbourBook('ashgrove', 3);
    for (let i = 0; i < 10; i++) b.apply(`v${i}`, summary(T0), T0, false);
    expect(b.size).toBe(3);
  });
});
