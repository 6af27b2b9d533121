import { describe, expect, it } from 'vitest';
import { encodeSentence, type TendSentence } from '../../../firmware-bridge/protocol/sentence.ts';
import { SentenceParser, type ParserReject } from '../../../firmware-bridge/protocol/sentence-parser.ts';
// seeded, so a failing split can be reproduced from the seed in the message
import { rng as prng } from '../../robustness/helpers.ts';

interface Outcome {
  sentences: TendSentence[];
  rejects: ParserReject[];
  counts: Record<string, number>;
}

function run(chunks: Buffer[], device?: string): Outcome {
  const p = new SentenceParser({ device });
  const sentences: TendSentence[] = [];
  const rejects: ParserReject[] = [];
  p.on('data', (s: TendSentence) => sentences.push(s));
  p.on('reject', (r: ParserReject) => rejects.push(r));
  for (const c of chunks) p.write(c);
  p.end();
  return { sentences, rejects, counts: { ...p.rejected } };
}

function randomSplit(buf: Buffer, rnd: () => number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    // mostly tiny pieces (byte-at-a-time UARTs), sometimes big ones
    const n = rnd() < 0.7 ? 1 + Math.floor(rnd() * 4) : 1 + Math.floor(rnd() * 80);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Feed `input` whole and in 40 random splits; every run must give the same outcome. */
function parseAllSplits(input: Buffer | string, device?: string): Outcome {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const whole = run([buf], device);
  const bytewise = run(
    [...buf].map((b) => Buffer.from([b])),
    device,
  );
  expect(bytewise, 'byte-at-a-time').toEqual(whole);
  for (let seed = 1; seed <= 40; seed++) {
    const got = run(randomSplit(buf, prng(seed)), device);
    expect(got, `random split, seed ${seed}`).toEqual(whole);
  }
  return whole;
}

const good = (seq: number, metrics: Record<string, number> = { distance_mm: 800 + seq }, device = 'shed-uno') => encodeSentence({ device, seq, metrics });

function withChecksumOf(body: string): string {
  let cs = 0;
  for (const b of Buffer.from(body, 'latin1')) cs ^= b;
  return `$${body}*${cs.toString(16).toUpperCase().padStart(2, '0')}`;
}

describe('SentenceParser', () => {
  it('reads a sentence split across chunks and several in one chunk', () => {
    const input = good(1) + good(2) + good(3, { distance_mm: 812, fault: 0 });
    const out = parseAllSplits(input, 'shed-uno');
    expect(out.sentences).toEqual([
      { device: 'shed-uno', seq: 1, metrics: [['distance_mm', 801]] },
      { device: 'shed-uno', seq: 2, metrics: [['distance_mm', 802]] },
      {
        device: 'shed-uno',
        seq: 3,
        metrics: [
          ['distance_mm', 812],
          ['fault', 0],
        ],
      },
    ]);
    expect(out.rejects).toEqual([]);
  });

  it('accepts CR LF, LF, CR and LF CR line ends, and blank lines', () => {
    const s = (n: number) => good(n).replace('\r\n', '');
    const input = `${s(1)}\r\n${s(2)}\n${s(3)}\r${s(4)}\n\r\r\n\n${s(5)}\r\n`;
    const out = parseAllSplits(input);
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(out.rejects).toEqual([]);
  });

  it('drops noise bytes between sentences, counted, and keeps the sentences around them', () => {
    const input = `\x00\xff${good(1)}garbage${good(2)}\r\n~~~\r\n${good(3)}`;
    const out = parseAllSplits(input);
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(out.counts.bad_sentence).toBe(3);
    expect(out.rejects.every((r) => r.reason === 'bad_sentence' && /noise/.test(r.detail))).toBe(true);
  });

  it('drops a bad checksum as bad_checksum', () => {
    const bad = good(2).replace(/\*[0-9A-F]{2}/, (m) => (m === '*00' ? '*01' : '*00'));
    const flipped = good(3).replace('distance_mm=803', 'distance_mm=804'); // one digit changed in transit
    const out = parseAllSplits(good(1) + bad + flipped + good(4));
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 4]);
    expect(out.counts.bad_checksum).toBe(2);
    expect(out.counts.bad_sentence).toBe(0);
  });

  it('accepts a lower-case checksum', () => {
    const s = withChecksumOf('TEND,shed-uno,9,level_mm=1500').replace(/\*([0-9A-F]{2})$/, (_m, h: string) => `*${h.toLowerCase()}`);
    expect(parseAllSplits(`${s}\r\n`).sentences).toHaveLength(1);
  });

  it('drops malformed sentences with a good checksum as bad_sentence', () => {
    const bodies = [
      'GPGGA,shed-uno,1,distance_mm=5', // not TEND
      'TEND,shed-uno,1', // no metric
      'TEND,shed-uno,x,distance_mm=5', // seq not a number
      'TEND,shed-uno,1,distance_mm', // no =
      'TEND,shed-uno,1,distance_mm=abc', // not a number
      'TEND,shed-uno,1,distance_mm=NaN',
      'TEND,shed-uno,1,distance_mm=1,distance_mm=2', // metric twice
      'TEND,Shed Uno,1,distance_mm=1', // bad device id
    ];
    const input = `${good(1)}${bodies.map((b) => `${withChecksumOf(b)}\r\n`).join('')}$TEND,shed-uno,2,distance_mm=5\r\n${good(3)}`;
    const out = parseAllSplits(input);
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 3]);
    expect(out.counts.bad_sentence).toBe(bodies.length + 1);
  });

  it('drops a sentence cut off by a new $ and keeps the new one', () => {
    const input = `$TEND,shed-uno,1,dist${good(2)}`;
    const out = parseAllSplits(input);
    expect(out.sentences.map((x) => x.seq)).toEqual([2]);
    expect(out.counts.bad_sentence).toBe(1);
  });

  it('drops lines longer than 256 bytes and resynchronises on the next line or $', () => {
    const metrics: Record<string, number> = {};
    for (let i = 0; i < 30; i++) metrics[`metric_${i}`] = 1000 + i;
    const long = good(2, metrics);
    expect(long.length).toBeGreaterThan(258);
    // exactly at the limit: 256 bytes before CR LF is still fine (leading zeros pad the value)
    const head = 'TEND,shed-uno,5,x=';
    const edge = `${withChecksumOf(`${head}${'0'.repeat(256 - 4 - head.length - 1)}5`)}\r\n`;
    expect(edge.length - 2).toBe(256);
    const garbage = 'z'.repeat(400); // no line end at all, then a sentence
    const out = parseAllSplits(good(1) + long + good(3) + garbage + good(4) + edge);
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 3, 4, 5]);
    expect(out.counts.line_too_long).toBe(1);
    // the 400 bytes of noise longer than a line are noise, not a sentence
    expect(out.counts.bad_sentence).toBe(1);
    const tooLong = `$${'a'.repeat(256)}\r\n${good(6)}`; // 257 bytes
    const out2 = parseAllSplits(tooLong);
    expect(out2.counts.line_too_long).toBe(1);
    expect(out2.sentences.map((x) => x.seq)).toEqual([6]);
  });

  it('drops sentences with bytes that are not UTF-8 as not_utf8', () => {
    const body = Buffer.concat([Buffer.from('TEND,shed-uno,2,dist'), Buffer.from([0xff, 0xfe]), Buffer.from('=5')]);
    let cs = 0;
    for (const b of body) cs ^= b;
    const bad = Buffer.concat([Buffer.from('$'), body, Buffer.from(`*${cs.toString(16).toUpperCase().padStart(2, '0')}\r\n`)]);
    const utf = Buffer.from(`${withChecksumOf('TEND,shed-uno,3,level_mm=5')}\r\n`);
    const input = Buffer.concat([Buffer.from(good(1)), bad, utf, Buffer.from(good(4))]);
    const out = parseAllSplits(input);
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 3, 4]);
    expect(out.counts.not_utf8).toBe(1);
  });

  it('drops sentences from a device not bound to this port as wrong_port', () => {
    const input = good(1) + good(2, { distance_mm: 5 }, 'other-node') + good(3);
    const out = parseAllSplits(input, 'shed-uno');
    expect(out.sentences.map((x) => x.seq)).toEqual([1, 3]);
    expect(out.counts.wrong_port).toBe(1);
    expect(out.rejects[0]!.detail).toMatch(/other-node/);
  });

  it('reports a sentence cut off at the end of the stream', () => {
    const out = parseAllSplits(`${good(1)}$TEND,shed-uno,2,dis`);
    expect(out.sentences).toHaveLength(1);
    expect(out.counts.bad_sentence).toBe(1);
  });

  it('keeps good sentences through a long mixed stream', () => {
    const rnd = prng(99);
    const parts: string[] = [];
    let expected = 0;
    for (let seq = 0; seq < 300; seq++) {
      const r = rnd();
      if (r < 0.7) {
        parts.push(good(seq));
        expected++;
      } else if (r < 0.8) {
        parts.push(good(seq).replace('=', '=9')); // checksum no longer matches
      } else if (r < 0.9) {
        parts.push('\x00\x13noise');
      } else {
        parts.push(good(seq, { distance_mm: 1 }, 'stranger'));
      }
    }
    const out = parseAllSplits(parts.join(''), 'shed-uno');
    expect(out.sentences).toHaveLength(expected);
  });
});
