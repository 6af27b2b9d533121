// The $TEND serial sentence (docs/architecture.md, "Serial: $TEND sentences"):
//   $TEND,<device>,<seq>,<metric>=<value>[,<metric>=<value>…]*<CS>\r\n
// CS is two hex digits, the XOR of every byte between `$` and `*` (the NMEA 0183 rule).
// Pure functions: no streams, no I/O. The framing lives in sentence-parser.ts.

/** A line longer than this (without its CR/LF) is dropped as line_too_long. */
export const MAX_SENTENCE_BYTES = 256;

export interface TendSentence {
  device: string;
  seq: number;
  /** metric → value pairs in the order sent; metric names are unique within a sentence */
  metrics: [string, number][];
}

export type SentenceRejectReason = 'bad_checksum' | 'bad_sentence' | 'line_too_long' | 'not_utf8';

export type DecodeResult = { ok: true; sentence: TendSentence } | { ok: false; reason: SentenceRejectReason; detail: string };

const DEVICE_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const METRIC_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const SEQ_RE = /^\d{1,10}$/;
// plain decimal numbers as C printf/dtostrf writes them; no NaN, Infinity or hex
const NUMBER_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** XOR of the bytes of `body` (the text between `$` and `*`). */
export function checksum(body: string | Uint8Array): number {
  let cs = 0;
  if (typeof body === 'string') {
    const bytes = Buffer.from(body, 'utf8');
    for (let i = 0; i < bytes.length; i++) cs ^= bytes[i]!;
  } else {
    for (let i = 0; i < body.length; i++) cs ^= body[i]!;
  }
  return cs;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`a $TEND value must be finite, got ${v}`);
  // shortest text that reads back as the same number; decodeSentence accepts exponents too
  return String(v);
}

/** One complete sentence including the trailing CR LF. */
export function encodeSentence(s: { device: string; seq: number; metrics: [string, number][] | Record<string, number> }): string {
  const pairs = Array.isArray(s.metrics) ? s.metrics : Object.entries(s.metrics);
  const body = `TEND,${s.device},${s.seq},${pairs.map(([k, v]) => `${k}=${formatValue(v)}`).join(',')}`;
  const cs = checksum(body);
  return `$${body}*${HEX[cs >> 4]}${HEX[cs & 15]}\r\n`;
}

function hexNibble(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/**
 * Decode one sentence from bytes[start..end): starts with `$`, ends with the two checksum digits
 * (no CR/LF). Checks in order: length, checksum, UTF-8, fields, so a corrupted line is counted as
 * the cheapest thing it provably is. ASCII sentences (all that firmware sends) are read straight
 * from the bytes; anything else goes through a strict UTF-8 decode first.
 */
export function decodeSentenceBytes(bytes: Uint8Array, end = bytes.length, start = 0): DecodeResult {
  const len = end - start;
  if (len > MAX_SENTENCE_BYTES) return { ok: false, reason: 'line_too_long', detail: `${len} bytes (at most ${MAX_SENTENCE_BYTES})` };
  if (len < 4 || bytes[start] !== 0x24 /* $ */) return { ok: false, reason: 'bad_sentence', detail: 'does not start with $' };
  const star = end - 3;
  if (bytes[star] !== 0x2a /* * */) return { ok: false, reason: 'bad_sentence', detail: 'no *CS at the end' };
  const hi = hexNibble(bytes[star + 1]!);
  const lo = hexNibble(bytes[star + 2]!);
  if (hi < 0 || lo < 0) return { ok: false, reason: 'bad_sentence', detail: 'checksum is not two hex digits' };
  let cs = 0;
  let high = 0;
  for (let i = start + 1; i < star; i++) {
    const b = bytes[i]!;
    cs ^= b;
    high |= b;
  }
  const sent = (hi << 4) | lo;
  if (cs !== sent) return { ok: false, reason: 'bad_checksum', detail: `checksum ${HEX[sent >> 4]}${HEX[sent & 15]}, computed ${HEX[cs >> 4]}${HEX[cs & 15]}` };
  if (high < 0x80) return decodeAscii(bytes, start + 1, star);
  let body: string;
  try {
    body = utf8.decode(bytes.subarray(start + 1, star));
  } catch {
    return { ok: false, reason: 'not_utf8', detail: 'bytes that are not UTF-8' };
  }
  return decodeBody(body);
}

const latin1 = (b: Uint8Array, from: number, to: number): string => Buffer.prototype.latin1Slice.call(b, from, to) as string;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

/** Anything the fast path does not accept goes to decodeBody, which words the error. */
const slow = (b: Uint8Array, from: number, to: number): DecodeResult => decodeBody(latin1(b, from, to));

/** The same rules as decodeBody, on ASCII bytes without building the whole body string. */
function decodeAscii(b: Uint8Array, from: number, to: number): DecodeResult {
  // talker
  if (to - from < 5 || b[from] !== 0x54 || b[from + 1] !== 0x45 || b[from + 2] !== 0x4e || b[from + 3] !== 0x44 || b[from + 4] !== 0x2c) {
    return slow(b, from, to);
  }
  // device id: [a-z0-9][a-z0-9_-]{0,62}
  let i = from + 5;
  const d0 = i;
  for (; i < to && b[i] !== 0x2c; i++) {
    const c = b[i]!;
    if (!(isLower(c) || isDigit(c) || (i > d0 && (c === 0x5f || c === 0x2d)))) return slow(b, from, to);
  }
  if (i === d0 || i - d0 > 63 || i >= to) return slow(b, from, to);
  const device = latin1(b, d0, i);
  // seq: 1–10 digits
  i++;
  const s0 = i;
  let seq = 0;
  for (; i < to && b[i] !== 0x2c; i++) {
    const c = b[i]!;
    if (!isDigit(c)) return slow(b, from, to);
    seq = seq * 10 + (c - 0x30);
  }
  if (i === s0 || i - s0 > 10 || i >= to) return slow(b, from, to);
  const metrics: [string, number][] = [];
  // metric=value fields
  while (i < to) {
    i++; // past the comma
    const n0 = i;
    for (; i < to && b[i] !== 0x3d /* = */ && b[i] !== 0x2c; i++) {
      const c = b[i]!;
      const ok = isLower(c) || isUpper(c) || c === 0x5f || (i > n0 && (isDigit(c) || c === 0x2e || c === 0x2d));
      if (!ok) return slow(b, from, to);
    }
    if (i === n0 || i - n0 > 64 || i >= to || b[i] !== 0x3d) return slow(b, from, to);
    const n1 = i;
    i++;
    const v0 = i;
    // [-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?
    if (i < to && (b[i] === 0x2d || b[i] === 0x2b)) i++;
    let mant = 0;
    let dot = false;
    for (; i < to; i++) {
      const c = b[i]!;
      if (isDigit(c)) mant++;
      else if (c === 0x2e && !dot) dot = true;
      else break;
    }
    if (mant === 0) return slow(b, from, to);
    if (i < to && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < to && (b[i] === 0x2d || b[i] === 0x2b)) i++;
      const e0 = i;
      while (i < to && isDigit(b[i]!)) i++;
      if (i === e0) return slow(b, from, to);
    }
    if (i < to && b[i] !== 0x2c) return slow(b, from, to);
    const value = Number(latin1(b, v0, i));
    if (!Number.isFinite(value)) return slow(b, from, to);
    const name = latin1(b, n0, n1);
    for (let k = 0; k < metrics.length; k++) if (metrics[k]![0] === name) return slow(b, from, to);
    metrics.push([name, value]);
  }
  if (metrics.length === 0) return slow(b, from, to);
  return { ok: true, sentence: { device, seq, metrics } };
}

/** Decode a sentence given as text (with or without the trailing CR/LF). */
export function decodeSentence(line: string): DecodeResult {
  const trimmed = line.replace(/[\r\n]+$/, '');
  return decodeSentenceBytes(Buffer.from(trimmed, 'utf8'));
}

/** The field rules on the text between `$` and `*` (exported so tests can hold the byte path to it). */
export function decodeBody(body: string): DecodeResult {
  const fields = body.split(',');
  if (fields[0] !== 'TEND') return { ok: false, reason: 'bad_sentence', detail: `talker "${clip(fields[0]!)}" is not TEND` };
  if (fields.length < 4) return { ok: false, reason: 'bad_sentence', detail: 'needs device, seq and at least one metric=value' };
  const device = fields[1]!;
  if (!DEVICE_RE.test(device)) return { ok: false, reason: 'bad_sentence', detail: `device id "${clip(device)}" is not valid` };
  const seqText = fields[2]!;
  if (!SEQ_RE.test(seqText)) return { ok: false, reason: 'bad_sentence', detail: `seq "${clip(seqText)}" is not a whole number` };
  const seq = Number(seqText);
  const metrics: [string, number][] = [];
  for (let i = 3; i < fields.length; i++) {
    const f = fields[i]!;
    const eq = f.indexOf('=');
    if (eq < 0) return { ok: false, reason: 'bad_sentence', detail: `"${clip(f)}" is not metric=value` };
    const name = f.slice(0, eq);
    const text = f.slice(eq + 1);
    if (!METRIC_RE.test(name)) return { ok: false, reason: 'bad_sentence', detail: `metric name "${clip(name)}" is not valid` };
    if (!NUMBER_RE.test(text)) return { ok: false, reason: 'bad_sentence', detail: `value "${clip(text)}" of ${name} is not a number` };
    const value = Number(text);
    if (!Number.isFinite(value)) return { ok: false, reason: 'bad_sentence', detail: `value of ${name} is not finite` };
    for (const [k] of metrics) {
      if (k === name) return { ok: false, reason: 'bad_sentence', detail: `metric ${name} sent twice` };
    }
    metrics.push([name, value]);
  }
  return { ok: true, sentence: { device, seq, metrics } };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
