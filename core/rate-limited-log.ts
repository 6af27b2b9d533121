// Logging that cannot flood: one line per key per window. A board spewing noise at 115200 baud,
// a flood of garbage payloads or a flapping link each give one line, and the next line after the
// window says how many were left out. Used by ingest, the broker, serial devices, webhooks and
// federation alike.
import type { Clock } from './types.ts';

export type RateLimitedLog = (key: string, msg: () => string) => void;

/** keys come from the wire (device ids, neighbour names): past this many, start afresh */
const MAX_KEYS = 1000;

export function rateLimitedLog(log: ((msg: string) => void) | undefined, clock: Clock, windowMs = 10_000): RateLimitedLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, msg) => {
    if (!log) return;
    const now = clock.now();
    const seen = last.get(key);
    // a clock that stepped back (NTP after a power cut) opens a new window rather than muting
    if (seen && now - seen.at < windowMs && now >= seen.at) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0 ? ` (${seen.suppressed} more like this since the last message)` : '';
    if (!seen && last.size >= MAX_KEYS) last.clear();
    last.set(key, { at: now, suppressed: 0 });
    log(msg() + more);
  };
}
