// CAP 1.2 XML for each prompt version validates against the OASIS schema (xmllint), with
// msgType Alert → Update → Cancel, references to earlier messages, and Exercise for drills.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capTime } from '../../../services/assembly/cap.ts';
import { tempDir } from '../../helpers/net.ts';
import { harness, HOUR, MIN } from '../alerts/harness.ts';

const XSD = join(import.meta.dirname, '..', '..', 'fixtures', 'CAP-v1.2.xsd');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function validate(xml: string): void {
  const tmp = tempDir('tend-cap-');
  cleanups.push(tmp.remove);
  const file = join(tmp.dir, 'alert.xml');
  writeFileSync(file, xml);
  // throws with xmllint's message when the document does not validate
  execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
}

const tag = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

describe('CAP 1.2', () => {
  it('formats times as CAP wants them (no fractions, explicit offset)', () => {
    expect(capTime(Date.parse('2026-11-26T03:27:04.512Z'))).toBe('2026-11-26T03:27:04+00:00');
  });

  it('Alert, Update and Cancel of one prompt validate against the schema', () => {
    const h = harness();
    h.run(30 * MIN, 5 * MIN);
    h.run(30 * MIN, 5 * MIN, (w) => {
      w.tendency = -6.5;
      w.gust = 26;
    });
    h.run(60 * MIN, 5 * MIN, (w) => {
      w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
    });
    const id = h.alerting.prompts()[0]!.id;
    h.alerting.addNote(id, { author: 'Ana <clinic> & "crew"', text: 'Escaping check: <b>&amp;</b>' });
    const first = h.alerting.cap(id);
    validate(first);
    expect(tag(first, 'msgType')).toEqual(['Alert']);
    expect(tag(first, 'status')).toEqual(['Actual']);
    expect(tag(first, 'responseType')).toEqual(['Assess']);
    expect(tag(first, 'category').sort()).toEqual(['Infra', 'Met']);
    expect(first).not.toMatch(/<instruction>/);
    expect(tag(first, 'identifier')).toEqual([`tend-ashgrove-${id}-v1`]);

    h.run(20 * MIN, MIN, (w, e) => {
      w.voltage = (e / MIN) % 2 ? 44 : 53;
    });
    const update = h.alerting.cap(id);
    validate(update);
    expect(tag(update, 'msgType')).toEqual(['Update']);
    expect(tag(update, 'references')[0]).toMatch(new RegExp(`^tend@ashgrove,tend-ashgrove-${id}-v1,\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\+00:00$`));

    h.run(6 * HOUR, 10 * MIN, (w) => {
      w.voltage = 50;
      w.tendency = 0;
      w.gust = 5;
    });
    const cancel = h.alerting.cap(id);
    validate(cancel);
    expect(tag(cancel, 'msgType')).toEqual(['Cancel']);
    expect(tag(cancel, 'responseType')).toEqual(['Monitor']);
    expect(tag(cancel, 'references')[0]!.split(' ').length).toBeGreaterThanOrEqual(2);
  });

  it('a drill is status Exercise and validates', () => {
    const h = harness();
    h.step(MIN);
    h.alerting.startDrill();
    const xml = h.alerting.cap(h.alerting.prompts()[0]!.id);
    validate(xml);
    expect(tag(xml, 'status')).toEqual(['Exercise']);
  });

  it('the validator does reject a broken document', () => {
    expect(() => validate('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>')).toThrow();
  });

  it('an unknown prompt is a clear error', () => {
    const h = harness();
    expect(() => h.alerting.cap('prompt-404')).toThrow(/no assembly prompt "prompt-404"/);
  });
});

describe('CAP with hostile text', () => {
  it('strips every character XML 1.0 forbids from text that reaches CAP, and still validates', () => {
    const h = harness();
    // a neighbour's offer and a note carrying what XML 1.0 cannot hold, even escaped
    const hostile = 'water\uFFFE for 2\uFFFF days \u0001\u0008\u000B\u001F \uD800 lone \uDC00 surrogates, & <b>markup</b> "quoted" 🚰';
    h.offers.push({ village: 'birch\uFFFFmoor', offer: hostile, heard_at: new Date(h.clock.now()).toISOString() });
    h.run(30 * MIN, 5 * MIN);
    h.run(30 * MIN, 5 * MIN, (w) => {
      w.tendency = -6.5;
      w.gust = 26;
    });
    h.run(60 * MIN, 5 * MIN, (w) => {
      w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
    });
    const id = h.alerting.prompts()[0]!.id;
    h.alerting.addNote(id, { author: 'Ana\uFFFE', text: `cut emoji ${'🚰'.slice(0, 1)} and ${hostile}` });
    const xml = h.alerting.cap(id);
    validate(xml);
    expect(xml).not.toMatch(/[\uFFFE\uFFFF\u0001]/);
    expect(xml).toMatch(/water for 2 days/);
    // what XML allows survives: markup escaped, the emoji kept
    expect(xml).toContain('&lt;b&gt;markup&lt;/b&gt;');
    expect(xml).toContain('🚰');
  });
});
