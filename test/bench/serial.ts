// Parser throughput (target: at least 10 MB/s of sentences, about a thousand times what a
// 115200-baud line can carry: 11.5 kB/s). Sentences like the tank-node sends, fed in 4 KiB chunks
// the way a serial port delivers bursts.
import { encodeSentence } from '../../firmware-bridge/protocol/sentence.ts';
import { ReadlineParser } from 'serialport';
import { SentenceParser } from '../../firmware-bridge/protocol/sentence-parser.ts';

/**
 * MB here are 10^6 bytes. `baseline_mb_per_s` is node-serialport's ReadlineParser on the same
 * bytes: line splitting only, no checksum or field checks, for scale.
 */
export function benchSentenceParser(opts: { megabytes?: number } = {}): {
  mb_per_s: number;
  baseline_mb_per_s: number;
  sentences_per_s: number;
  bytes: number;
} {
  const target = (opts.megabytes ?? 32) * 1024 * 1024;
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    lines.push(encodeSentence({ device: 'shed-uno', seq: i, metrics: i % 2 ? { distance_mm: 800 + (i % 97) } : { pressure_kpa: 12.5 + i / 100, fault: 0 } }));
  }
  const block = Buffer.from(lines.join(''), 'latin1');
  const chunks: Buffer[] = [];
  for (let i = 0; i < block.length; i += 4096) chunks.push(block.subarray(i, i + 4096));
  const parser = new SentenceParser({ device: 'shed-uno' });
  let count = 0;
  parser.on('data', () => count++);
  // warm up the JIT before timing
  for (const c of chunks) parser.write(c);
  count = 0;
  const rounds = Math.max(1, Math.round(target / block.length));
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const c of chunks) parser.write(c);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = rounds * block.length;
  if (count !== rounds * lines.length) throw new Error(`parser lost sentences: ${count} of ${rounds * lines.length}`);
  const baseline = new ReadlineParser({ delimiter: '\r\n' });
  let split = 0;
  baseline.on('data', () => split++);
  for (const c of chunks) baseline.write(c);
  const t1 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const c of chunks) baseline.write(c);
  const baseSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  void split;
  return { mb_per_s: bytes / 1e6 / seconds, baseline_mb_per_s: bytes / 1e6 / baseSeconds, sentences_per_s: count / seconds, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(benchSentenceParser()));
}
