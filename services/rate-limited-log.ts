// Bad input is logged, but rate-limited per key: a board spewing noise at 115200 baud must not
// flood the log. The first message of a key goes out at once; later ones within the window are
// counted and summarised with the next message after it.
import type { Clock } from '../../services/types.ts';

export type RateLimitedLog = (key: string, msg: () => string) => void;

export function rateLimitedLog(log: ((msg: string) => void) | undefined, clock: Clock, windowMs = 10_000): RateLimitedLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, msg) => {
    if (!log) return;
    const now = clock.now();
    const seen = last.get(key);
    if (seen && now - seen.at < windowMs) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0 ? ` (${seen.suppressed} more like this since the last message)` : '';
    last.set(key, { at: now, suppressed: 0 });
    log(msg() + more);
  };
}
