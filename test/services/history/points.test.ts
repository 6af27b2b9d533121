// Line protocol escaping, checked as text and round-tripped through a real influxd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeKey, escapeMeasurement, escapeString, line, readingPoint, statusPoints, alertPoint, PointClass } from '../../../services/history/points.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';
import { alert, reading, status } from './fixtures.ts';

describe('line protocol text', () => {
  it('escapes commas, spaces and = in keys and tag values, and quotes in strings', () => {
    expect(escapeMeasurement('a b,c=d')).toBe('a\\ b\\,c=d');
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d');
    expect(escapeString('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(escapeString('two\nlines')).toBe('"two lines"');
    expect(escapeKey('line\nbreak')).toBe('line\\ break');
  });

  it('leaves out empty tags and null/NaN fields, and returns null without fields', () => {
    expect(line('m', { a: '', b: 'x', c: undefined }, { f: null, g: NaN, h: 1.5 }, 1000)).toBe('m,b=x h=1.5 1000');
    expect(line('m', { a: 'x' }, { f: null }, 1)).toBeNull();
  });

  it('writes numbers as floats (never i), so a field never changes type', () => {
    expect(line('m', {}, { n: 5, b: true, s: 'x' }, 7)).toBe('m n=5,b=true,s="x" 7');
  });

  it("builds the reading point with the contract's tags and fields", () => {
    const p = readingPoint('ashgrove', reading(0))!;
    expect(p.cls).toBe(PointClass.raw);
    expect(p.line).toBe('reading,device=tank-north,kind=tank_distance,sensor=north,village=ashgrove value=5000,raw=800,level_mm=1300 1700000000000');
    const odd = readingPoint('ash grove', reading(1, { sensor: 'a,b', device: 'x=y' }))!;
    expect(odd.line.startsWith('reading,device=x\\=y,kind=battery_soc,sensor=a\\,b,village=ash\\ grove ')).toBe(true);
  });

  it('classes: reserve totals and alerts are kept, tank samples are derived', () => {
    const pts = statusPoints(status(0), 0);
    expect(pts.find((p) => p.line.startsWith('reserve,'))!.cls).toBe(PointClass.keep);
    expect(pts.find((p) => p.line.startsWith('tank,'))!.cls).toBe(PointClass.derived);
    expect(alertPoint('ashgrove', alert(0), 0)!.cls).toBe(PointClass.keep);
  });
});

describe('escaping against a real influxd', () => {
  let influx: Influxd;
  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx?.close();
  });

  it('round-trips tags and string fields with spaces, commas, =, quotes and backslashes', async () => {
    const nasty = 'North tank, "big" = 2\\3';
    const l = line(
      'esc test',
      { village: 'ashgrove', tank: nasty, 'odd key': 'v w' },
      { note: `He said "leak, maybe" \\ 5 = 5`, 'field,key': 1 },
      1_700_000_000_000,
    )!;
    const res = await fetch(`${influx.url}/write?db=tend&precision=ms`, { method: 'POST', body: l });
    expect(res.status, await res.text()).toBe(204);
    const rows = await influx.rows('SELECT * FROM "esc test"');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tank).toBe(nasty);
    expect(rows[0]!['odd key']).toBe('v w');
    expect(rows[0]!.note).toBe('He said "leak, maybe" \\ 5 = 5');
    expect(rows[0]!['field,key']).toBe(1);
  });

  it('keeps a tag value ending in a backslash writable (line protocol cannot carry it as is)', async () => {
    const l = line('esc_trailing', { tank: 'west\\' }, { v: 1 }, 1_700_000_000_000)!;
    const res = await fetch(`${influx.url}/write?db=tend&precision=ms`, { method: 'POST', body: l });
    expect(res.status, await res.text()).toBe(204);
    const rows = await influx.rows('SELECT * FROM "esc_trailing"');
    expect(rows[0]!.tank).toBe('west ');
  });
});
