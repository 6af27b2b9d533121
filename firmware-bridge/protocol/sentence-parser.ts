// Framing for $TEND sentences as a Transform stream, the node-serialport parser way:
// bytes in (split anywhere), decoded sentences out. Whatever cannot be read is dropped, counted by
// reason and announced on the 'reject' event; the sentences around it still come through.
//
// The framing is a three-state machine over bytes, so the result does not depend on how the
// input was cut into chunks:
//   idle  — between sentences; bytes other than `$` are noise (counted once per run)
//   in    — after `$`, collecting up to MAX_SENTENCE_BYTES until CR or LF
//   skip  — the line grew too long; drop bytes until CR/LF or the next `$`
// CR, LF, CR LF and LF CR all end a line; empty lines are ignored.
import { Transform, type TransformCallback } from 'node:stream';
import { decodeSentenceBytes, MAX_SENTENCE_BYTES, type SentenceRejectReason } from './sentence.ts';

export type ParserRejectReason = SentenceRejectReason | 'wrong_port';

export interface ParserReject {
  reason: ParserRejectReason;
  detail: string;
}

export interface SentenceParserOptions {
  /** the device id bound to this port; sentences from any other id are dropped as wrong_port */
  device?: string;
}

const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;
const IDLE = 0;
const IN = 1;
const SKIP = 2;

/** Events: 'data' (TendSentence), 'reject' (ParserReject). */
export class SentenceParser extends Transform {
  /** dropped input by reason since the parser was made */
  readonly rejected: Record<ParserRejectReason, number> = {
    bad_checksum: 0,
    bad_sentence: 0,
    line_too_long: 0,
    not_utf8: 0,
    wrong_port: 0,
  };

  private readonly device: string | undefined;
  // a sentence cut by a chunk end; one byte more than the limit, so an overlong line shows
  private readonly line = new Uint8Array(MAX_SENTENCE_BYTES + 1);
  private len = 0;
  private state = IDLE;
  private noise = 0;

  constructor(opts: SentenceParserOptions = {}) {
    super({ readableObjectMode: true });
    this.device = opts.device;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.feed(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    // an unterminated tail at end of stream is a sentence cut short (cable pulled mid-line)
    if (this.state === IN) this.discard('bad_sentence', 'cut off before CR/LF');
    this.endNoise();
    this.state = IDLE;
    this.len = 0;
    done();
  }

  private feed(buf: Uint8Array): void {
    const n = buf.length;
    let i = 0;
    // where the current sentence starts in this chunk; -1 when it began in an earlier chunk and
    // its first this.len bytes wait in this.line (only sentences cut by a chunk end are copied)
    let start = -1;
    while (i < n) {
      if (this.state === IN) {
        const cap = start >= 0 ? start + MAX_SENTENCE_BYTES + 1 : MAX_SENTENCE_BYTES + 1 - this.len;
        const lim = Math.min(cap, n);
        let j = i;
        while (j < lim) {
          const b = buf[j]!;
          if (b === CR || b === LF || b === DOLLAR) break;
          j++;
        }
        const length = start >= 0 ? j - start : this.len + j;
        if (length > MAX_SENTENCE_BYTES) {
          this.discard('line_too_long', `longer than ${MAX_SENTENCE_BYTES} bytes`);
          this.state = SKIP;
          this.len = 0;
          start = -1;
          i = j; // this byte is judged by the skip state
          continue;
        }
        if (j === n) {
          // the chunk ends mid-sentence: keep what we have for the next chunk
          if (start >= 0) {
            this.line.set(buf.subarray(start, n), 0);
            this.len = n - start;
          } else {
            this.line.set(buf.subarray(0, n), this.len);
            this.len += n;
          }
          return;
        }
        if (buf[j] === DOLLAR) {
          this.discard('bad_sentence', 'cut off by a new $');
          this.len = 0;
          start = j;
          i = j + 1;
          continue;
        }
        // CR or LF: a complete line
        if (start >= 0) {
          this.finish(buf, start, j);
        } else {
          this.line.set(buf.subarray(0, j), this.len);
          this.finish(this.line, 0, this.len + j);
        }
        this.state = IDLE;
        this.len = 0;
        start = -1;
        i = j + 1;
      } else if (this.state === IDLE) {
        const b = buf[i]!;
        if (b === DOLLAR) {
          this.endNoise();
          this.state = IN;
          start = i;
        } else if (b === CR || b === LF) {
          this.endNoise();
        } else {
          this.noise++;
        }
        i++;
      } else {
        const b = buf[i]!;
        if (b === DOLLAR) {
          this.state = IDLE; // the idle branch starts the new sentence
        } else {
          if (b === CR || b === LF) this.state = IDLE;
          i++;
        }
      }
    }
    // a `$` was the last byte of the chunk
    if (this.state === IN && start >= 0) {
      this.line.set(buf.subarray(start, n), 0);
      this.len = n - start;
    }
  }

  private finish(bytes: Uint8Array, from: number, to: number): void {
    const r = decodeSentenceBytes(bytes, to, from);
    if (!r.ok) {
      this.discard(r.reason, r.detail);
      return;
    }
    if (this.device !== undefined && r.sentence.device !== this.device) {
      this.discard('wrong_port', `device "${r.sentence.device}" is not the one on this port ("${this.device}")`);
      return;
    }
    this.push(r.sentence);
  }

  private endNoise(): void {
    if (this.noise === 0) return;
    const n = this.noise;
    this.noise = 0;
    this.discard('bad_sentence', `${n} byte${n === 1 ? '' : 's'} of noise outside a sentence`);
  }

  private discard(reason: ParserRejectReason, detail: string): void {
    this.rejected[reason]++;
    this.emit('reject', { reason, detail } satisfies ParserReject);
  }
}
