// Random serial bytes (a loose connector, a wrong baud rate, a board babbling at boot) between
// good sentences: nothing throws, memory stays bounded, every good sentence still lands.
import { describe, expect, it } from 'vitest';
import { encodeSentence, type TendSentence } from '../../../firmware-bridge/protocol/sentence.ts';
import { SentenceParser } from '../../../firmware-bridge/protocol/sentence-parser.ts';
import { rng } from '../../robustness/helpers.ts';

describe('sentence parser under random bytes', () => {
  it('keeps every good sentence among 8 MB of random bytes', () => {
    const rnd = rng(7);
    const p = new SentenceParser({ device: 'shed-uno' });
    const got: TendSentence[] = [];
    let rejects = 0;
    p.on('data', (s: TendSentence) => got.push(s));
    p.on('reject', () => rejects++);
    const rssBefore = process.memoryUsage().rss;
    let sent = 0;
    for (let block = 0; block < 2000; block++) {
      const noise = Buffer.alloc(4096);
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rnd() * 256);
      // a CR/LF ends any partial line the noise left open, as the firmware's next line would
      p.write(noise);
      p.write(Buffer.from(`\r\n${encodeSentence({ device: 'shed-uno', seq: block, metrics: { distance_mm: 700 + (block % 100) } })}`));
      sent++;
    }
    p.end();
    const seqs = new Set(got.filter((s) => s.device === 'shed-uno' && s.metrics.some(([m]) => m === 'distance_mm')).map((s) => s.seq));
    for (let i = 0; i < sent; i++) expect(seqs.has(i), `sentence ${i}`).toBe(true);
    expect(rejects).toBeGreaterThan(sent);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });
});
