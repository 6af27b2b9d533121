import { describe, expect, it } from 'vitest';
import { decodeReadingPayload } from '../../../firmware-bridge/protocol/payload.ts';
import { MAX_PAYLOAD_BYTES } from '../../../core/limits.ts';
import { parseDeviceTopic, topicMatches } from '../../../firmware-bridge/protocol/topics.ts';

describe('reading payload', () => {
  it('decodes metrics, seq and ts (epoch ms and ISO-8601)', () => {
    expect(decodeReadingPayload('{"distance_mm": 812, "seq": 41}')).toEqual({ ok: true, metrics: [['distance_mm', 812]], ts: null, seq: 41 });
    const iso = decodeReadingPayload(Buffer.from('{"a": 1.5, "ts": "2026-11-26T10:00:00Z"}'));
    expect(iso).toMatchObject({ ok: true, ts: Date.parse('2026-11-26T10:00:00Z') });
    expect(decodeReadingPayload('{"a": 1, "ts": 1764150000000}')).toMatchObject({ ok: true, ts: 1764150000000 });
  });

  it.each([
    ['not json', '{distance_mm: 812}', 'not_json'],
    ['array', '[1,2]', 'not_object'],
    ['string', '"812"', 'not_object'],
    ['null', 'null', 'not_object'],
    ['empty object', '{}', 'not_object'],
    ['string value', '{"distance_mm": "812"}', 'not_finite'],
    ['NaN string', '{"distance_mm": "NaN"}', 'not_finite'],
    ['null value', '{"distance_mm": null}', 'not_finite'],
    ['nested', '{"distance_mm": {"v": 1}}', 'not_finite'],
    ['huge number', '{"distance_mm": 1e999}', 'not_finite'],
    ['bad ts', '{"a": 1, "ts": "yesterday"}', 'bad_ts'],
    ['negative seq', '{"a": 1, "seq": -1}', 'bad_seq'],
    ['fractional seq', '{"a": 1, "seq": 1.5}', 'bad_seq'],
    ['bad metric name', '{"a b": 1}', 'unknown_metric'],
  ])('rejects %s', (_name, payload, reason) => {
    const r = decodeReadingPayload(payload);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('checks every metric name, also once thousands of good ones have been seen', () => {
    // names that passed are remembered (a village sends the same few); the memory is bounded and
    // never lets a bad name through
    for (let i = 0; i < 3000; i++) expect(decodeReadingPayload(`{"m_${i}": ${i}}`)).toMatchObject({ ok: true, metrics: [[`m_${i}`, i]] });
    expect(decodeReadingPayload('{"m_0": 1}')).toMatchObject({ ok: true });
    expect(decodeReadingPayload('{"m_2999": 1}')).toMatchObject({ ok: true });
    for (const bad of ['a b', 'x'.repeat(65), 'tank/level', '']) {
      expect(decodeReadingPayload(JSON.stringify({ [bad]: 1 })), bad).toMatchObject({ ok: false, reason: 'unknown_metric' });
    }
    // a reading's keys are its own: nothing inherited is read as a metric
    expect(decodeReadingPayload('{"level_mm": 5}')).toEqual({ ok: true, metrics: [['level_mm', 5]], ts: null, seq: undefined });
  });

  it('refuses payloads over 4 KiB before parsing', () => {
    const big = `{"a": 1, "pad": "${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`;
    expect(decodeReadingPayload(big)).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('does not let __proto__ keys pollute prototypes', () => {
    const r = decodeReadingPayload('{"__proto__": {"polluted": 1}, "a": 1}');
    expect(r.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('topics', () => {
  it('parses device topics of this village only', () => {
    expect(parseDeviceTopic('ashgrove', 'tend/ashgrove/dev/tank-north/reading')).toEqual({ device: 'tank-north', kind: 'reading' });
    expect(parseDeviceTopic('ashgrove', 'tend/ashgrove/dev/tank-north/status')).toEqual({ device: 'tank-north', kind: 'status' });
    expect(parseDeviceTopic('ashgrove', 'tend/other/dev/tank-north/reading')).toBeNull();
    expect(parseDeviceTopic('ashgrove', 'tend/ashgrove/dev/tank-north/reading/x')).toBeNull();
    expect(parseDeviceTopic('ashgrove', 'tend/ashgrove/reserve')).toBeNull();
  });
  it('matches MQTT filters', () => {
    expect(topicMatches('tend/+/dev/#', 'tend/a/dev/x/reading')).toBe(true);
    expect(topicMatches('tend/+/reserve', 'tend/a/dev/x')).toBe(false);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
  });
});
