// Decoding the JSON reading payload: `{"distance_mm": 812, "seq": 41, "ts": 1732000000000}`.
// Pure: bytes in, metric values or a reject reason out. Never throws.
import type { RejectReason } from '../../core/types.ts';
import { MAX_PAYLOAD_BYTES } from '../../core/limits.ts';

export type DecodedPayload =
  | { ok: true; metrics: [string, number][]; ts: number | null; seq: number | undefined }
  | { ok: false; reason: RejectReason; detail: string };

const METRIC_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** names already checked: a village's devices send the same few on every reading */
const metricNames = new Set<string>();
const METRIC_NAMES_KEPT = 1024;

function isMetricName(key: string): boolean {
  if (metricNames.has(key)) return true;
  if (!METRIC_NAME.test(key)) return false;
  if (metricNames.size < METRIC_NAMES_KEPT) metricNames.add(key);
  return true;
}

export function decodeReadingPayload(payload: Buffer | string): DecodedPayload {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'too_large', detail: `${size} bytes > ${MAX_PAYLOAD_BYTES}` };
  let obj: unknown;
  try {
    // JSON.parse creates __proto__ as an own data property, so it cannot pollute prototypes.
    obj = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json', detail: 'payload is not JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, reason: 'not_object', detail: 'payload is not a JSON object of metric → number' };
  }
  let ts: number | null = null;
  let seq: number | undefined;
  const metrics: [string, number][] = [];
  const fields = obj as Record<string, unknown>;
  // for…in over a parsed object: its own keys only (JSON.parse makes no inherited ones), without
  // the array of pairs Object.entries allocates for every reading
  for (const key in fields) {
    const value = fields[key];
    if (key === 'ts') {
      const parsed = parseTs(value);
      if (parsed === null) return { ok: false, reason: 'bad_ts', detail: `ts ${JSON.stringify(value).slice(0, 40)} is not epoch ms or ISO-8601` };
      ts = parsed;
    } else if (key === 'seq') {
      if (!Number.isSafeInteger(value) || (value as number) < 0) return { ok: false, reason: 'bad_seq', detail: 'seq is not a non-negative integer' };
      seq = value as number;
    } else {
      if (!isMetricName(key)) return { ok: false, reason: 'unknown_metric', detail: `metric name ${JSON.stringify(key.slice(0, 40))} is not allowed` };
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return { ok: false, reason: 'not_finite', detail: `${key} is ${JSON.stringify(value)?.slice(0, 40)}, not a finite number` };
      }
      metrics.push([key, value]);
    }
  }
  if (metrics.length === 0) return { ok: false, reason: 'not_object', detail: 'no metrics in payload' };
  return { ok: true, metrics, ts, seq };
}

function parseTs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : null;
  if (typeof v === 'string' && v.length <= 40 && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}
