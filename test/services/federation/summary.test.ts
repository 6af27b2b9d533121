// What a village tells its neighbours: summary, offer and incidents, computed from its status.
import { describe, expect, it } from 'vitest';
import { computeOffer, computedOffer, roughLitres, sameNews, significantChange, summarize, summarizeIncidents } from '../../../services/federation/summary.ts';
import { decodeFed, type FedPayloadError, parseFedTopic, fedTopic } from '../../../services/federation/topics.ts';
import { makeIncident, makePrompt, makeStatus } from './fixtures.ts';

const T0 = Date.parse('2026-11-20T06:00:00Z');
const policy = { population: 180, minimum_lpd: 15, margin_days: 7 };

describe('summarize', () => {
  it('rounds the figures and counts cold units at risk', () => {
    const s = summarize(makeStatus('ashgrove', T0, { liters: 10_000, draw_lph: 150, cold_status: 'watch' }));
    expect(s).toMatchObject({
      v: 1,
      at: new Date(T0).toISOString(),
      water_days_minimum: 3.7,
      water_days_current: 2.8,
      cold_at_risk: 1,
      sensors_online: 6,
      sensors_total: 6,
    });
    // the summary is valid on the wire
    expect(decodeFed('summary', Buffer.from(JSON.stringify(s))).body).toEqual(s);
  });

  it('treats summaries that differ only in time as the same news', () => {
    const a = summarize(makeStatus('ashgrove', T0));
    const b = summarize(makeStatus('ashgrove', T0 + 1000));
    expect(sameNews(a, b)).toBe(true);
    expect(sameNews(a, summarize(makeStatus('ashgrove', T0, { liters: 30_000 })))).toBe(false);
  });
});

describe('significantChange', () => {
  it('tells levels and large moves at once, and leaves small drifts to the heartbeat', () => {
    const a = summarize(makeStatus('ashgrove', T0, { load_w: 800 }));
    expect(significantChange(null, a)).toBe(true);
    expect(significantChange(a, summarize(makeStatus('ashgrove', T0 + 1000, { load_w: 810 })))).toBe(false);
    expect(significantChange(a, summarize(makeStatus('ashgrove', T0, { load_w: 1200 })))).toBe(true);
    expect(significantChange(a, summarize(makeStatus('ashgrove', T0, { cold_status: 'watch' })))).toBe(true);
    expect(significantChange(a, summarize(makeStatus('ashgrove', T0, { liters: null })))).toBe(true);
    expect(significantChange(a, summarize(makeStatus('ashgrove', T0, { online: 5 })))).toBe(true);
  });
});

describe('computeOffer', () => {
  it("shares water above the margin at the larger of minimum and the village's daily use, rounded down", () => {
    // 54,000 − 7 × 2,700 = 35,100 → "about 35,000"
    expect(computeOffer(makeStatus('a', T0), policy)).toBe('can share about 35,000 litres of water');
    expect(computedOffer(makeStatus('a', T0), policy)?.quantities).toEqual({ water_liters: 35_000 });
    // a daily use of 7,200 L beats the minimum: 54,000 − 50,400 = 3,600 → "about 3,500"
    expect(computeOffer(makeStatus('a', T0, { daily_use: 7200 }), policy)).toBe('can share about 3,500 litres of water');
  });

  it("reads the day's use, not the last hour's draw × 24 (a busy morning hour or a quiet night hour)", () => {
    // the last hour drew 1,000 L (× 24 = 24,000 L/day: nothing to share), but the day's use is 3,000 L
    expect(computeOffer(makeStatus('a', T0, { draw_lph: 1000, daily_use: 3000 }), policy)).toBe('can share about 33,000 litres of water');
    // a quiet night hour (10 L/h) does not hide a day of 6,000 L: 54,000 − 42,000 = 12,000
    expect(computeOffer(makeStatus('a', T0, { draw_lph: 10, daily_use: 6000 }), policy)).toBe('can share about 12,000 litres of water');
  });

  it('offers nothing when the village is short or its water is strained', () => {
    expect(computeOffer(makeStatus('a', T0, { liters: 19_000 }), policy)).toBeNull();
    expect(computeOffer(makeStatus('a', T0, { water_status: 'strained' }), policy)).toBeNull();
    expect(computeOffer(makeStatus('a', T0, { liters: null }), policy)).toBeNull();
  });

  it('offers spare charging capacity when the bank is full and the sun covers the load', () => {
    const offer = computeOffer(makeStatus('a', T0, { liters: 10_000, soc: 95, solar_w: 3000, load_w: 800 }), policy);
    expect(offer).toBe('spare charging capacity (battery charged, sun above load)');
    expect(computeOffer(makeStatus('a', T0, { liters: 10_000, soc: 95, solar_w: 300, load_w: 800 }), policy)).toBeNull();
  });

  it('rounds litres down to a plain figure', () => {
    expect(roughLitres(950)).toBe('900');
    expect(roughLitres(4_999)).toBe('4,500');
    expect(roughLitres(51_100)).toBe('51,000');
  });
});

describe('summarizeIncidents', () => {
  it('gives open incidents with headline and alert titles, never notes', () => {
    const p = makePrompt('i1', T0, { notes: [{ at: new Date(T0).toISOString(), author: 'Mara', text: 'Jon is hurt' }] });
    const alert = {
      id: 'leak:north:1',
      rule: 'leak',
      subject: 'north',
      domain: 'water' as const,
      severity: 'critical' as const,
      state: 'firing' as const,
      title: 'North tank is losing water faster than use',
      detail: 'x',
      value: 1,
      started_at: new Date(T0).toISOString(),
      fired_at: null,
      resolved_at: null,
      incident_id: 'i1',
    };
    const out = summarizeIncidents([makeIncident('i1', T0), makeIncident('i0', T0 - 1000, { closed_at: new Date(T0).toISOString() })], [p], [alert]);
    expect(out).toEqual([
      {
        id: 'i1',
        opened_at: new Date(T0).toISOString(),
        domains: ['water', 'power'],
        crisis: true,
        exercise: false,
        headline: p.headline,
        alerts: [alert.title],
      },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/Mara|hurt/);
  });
});

describe('topics', () => {
  it('parses only fed/<village>/<kind>', () => {
    expect(fedTopic('ashgrove', 'offer')).toBe('fed/ashgrove/offer');
    expect(parseFedTopic('fed/ashgrove/summary')).toEqual({ village: 'ashgrove', kind: 'summary' });
    expect(parseFedTopic('fed/ashgrove/summary/x')).toBeNull();
    expect(parseFedTopic('fed/Ash Grove/summary')).toBeNull();
    expect(parseFedTopic('fed/ashgrove/other')).toBeNull();
    expect(parseFedTopic('tend/ashgrove/summary')).toBeNull();
  });

  it('refuses bad payloads with a reason', () => {
    const reason = (kind: 'summary' | 'offer', p: Buffer) => {
      try {
        decodeFed(kind, p);
        return 'accepted';
      } catch (err) {
        return (err as FedPayloadError).reason;
      }
    };
    expect(reason('summary', Buffer.from('nope'))).toBe('not_json');
    expect(reason('summary', Buffer.from([0xff, 0xfe]))).toBe('not_utf8');
    expect(reason('summary', Buffer.alloc(20_000, 32))).toBe('too_large');
    expect(reason('summary', Buffer.from(JSON.stringify({ v: 1, at: 'now' })))).toBe('bad_fields');
    expect(reason('offer', Buffer.from(JSON.stringify({ v: 1, at: new Date(T0).toISOString(), text: 'x'.repeat(501) })))).toBe('bad_fields');
    expect(reason('offer', Buffer.from(JSON.stringify({ v: 1, at: new Date(T0).toISOString(), text: 'water', future_field: 1 })))).toBe('accepted');
    expect(decodeFed('offer', Buffer.alloc(0))).toEqual({ kind: 'offer', body: null });
  });
});
