import { describe, expect, it } from 'vitest';
import { checksum, decodeBody, decodeSentence, decodeSentenceBytes, encodeSentence } from '../../../firmware-bridge/protocol/sentence.ts';

describe('$TEND sentence', () => {
  it('checksums the bytes between $ and * with XOR (NMEA rule)', () => {
    expect(checksum('TEND,shed-uno,7,distance_mm=812')).toBe([...Buffer.from('TEND,shed-uno,7,distance_mm=812')].reduce((a, b) => a ^ b, 0));
    expect(checksum('A')).toBe(0x41);
    expect(checksum('AA')).toBe(0);
  });

  it('encodes the documented example with two hex digits and CR LF', () => {
    const s = encodeSentence({ device: 'shed-uno', seq: 7, metrics: { distance_mm: 812 } });
    const cs = checksum('TEND,shed-uno,7,distance_mm=812').toString(16).toUpperCase().padStart(2, '0');
    expect(s).toBe(`$TEND,shed-uno,7,distance_mm=812*${cs}\r\n`);
  });

  it('round-trips several metrics, negative and fractional values', () => {
    const metrics: [string, number][] = [
      ['temp_c', -3.25],
      ['pressure_kpa', 12.5],
      ['fault', 0],
      ['big', 1e21],
    ];
    const r = decodeSentence(encodeSentence({ device: 'cold-1', seq: 4294967295, metrics }));
    expect(r).toEqual({ ok: true, sentence: { device: 'cold-1', seq: 4294967295, metrics } });
  });

  it('refuses to encode non-finite values', () => {
    expect(() => encodeSentence({ device: 'a', seq: 1, metrics: { x: Number.NaN } })).toThrow(/finite/);
  });

  it('tells bad checksum, bad sentence and too long apart', () => {
    expect(decodeSentence('$TEND,a,1,x=1*00')).toMatchObject({ ok: false, reason: 'bad_checksum' });
    expect(decodeSentence('$TEND,a,1,x=1')).toMatchObject({ ok: false, reason: 'bad_sentence' });
    expect(decodeSentence('$TEND,a,1,x=1*G0')).toMatchObject({ ok: false, reason: 'bad_sentence' });
    expect(decodeSentence(encodeSentence({ device: 'a', seq: 1, metrics: { x: 1 } }).replace('$', '#'))).toMatchObject({ ok: false, reason: 'bad_sentence' });
    const long = encodeSentence({ device: 'a', seq: 1, metrics: { ['m'.repeat(60)]: 1, ['n'.repeat(60)]: 2, ['o'.repeat(60)]: 3, ['p'.repeat(60)]: 4 } });
    expect(decodeSentence(long)).toMatchObject({ ok: false, reason: 'line_too_long' });
  });
});

describe('the byte fast path', () => {
  it('gives the same verdict as the text rules on mutated sentences', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = 'TEND,=.-+eE_0123456789abczAZ$* ';
    const base = ['TEND,shed-uno,7,distance_mm=812', 'TEND,a,0,x=-1.5e3,y_2=.5,z.k=7.', 'TEND,n9_-x,4294967295,fault=1'];
    for (let k = 0; k < 20000; k++) {
      const chars = [...base[k % base.length]!];
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * chars.length);
        const c = alphabet[Math.floor(rnd() * alphabet.length)]!;
        const op = rnd();
        if (op < 0.4) chars[at] = c;
        else if (op < 0.7) chars.splice(at, 0, c);
        else chars.splice(at, 1);
      }
      const body = chars.join('');
      const cs = checksum(body);
      const line = Buffer.from(`$${body}*${cs.toString(16).toUpperCase().padStart(2, '0')}`, 'latin1');
      const fast = decodeSentenceBytes(line);
      const slow = line.length > 256 ? fast : decodeBody(body);
      expect({ body, ok: fast.ok, s: fast.ok ? fast.sentence : fast.reason }).toEqual({ body, ok: slow.ok, s: slow.ok ? slow.sentence : slow.reason });
    }
  });
});
