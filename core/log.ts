// One leveled log with module names, and logging that cannot flood.
//
// Every module gets a Logger for its own name from the sink it was given (`moduleLog(sink,
// 'broker')`), so a line reads "broker: client refused" and the village's sink adds the time and
// the level. A sink is a plain function of a line, so a test collects lines with `(l) => lines.push(l)`.
//
// `limited` gives one line per key per window: a board spewing noise at 115200 baud, a flood of
// garbage payloads or a flapping link each give one line, and the next line after the window says
// how many were left out.
import type { Clock } from './types.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where lines go: the line already carries its module ("broker: …"); the level comes beside it. */
export type LogSink = (line: string, level: Level) => void;

export interface Logger {
  readonly module: string;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** at most one line per key per window (default 10 s); `msg` is only built when it is written */
  limited(key: string, msg: () => string, level?: Level): void;
}

/** keys come from the wire (device ids, neighbour names): past this many, start afresh */
const MAX_KEYS = 1000;

export function moduleLog(sink: LogSink | undefined, module: string, opts: { clock?: Clock; windowMs?: number } = {}): Logger {
  const write = (level: Level, msg: string) => sink?.(`${module}: ${msg}`, level);
  const limited = rateLimitedLog((line, level) => write(level, line), opts.clock ?? { now: () => Date.now() }, opts.windowMs);
  return {
    module,
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    limited: (key, msg, level = 'warn') => limited(key, msg, level),
  };
}

/** The process's sink: stderr, with time and level, from `min` up (TEND_LOG_LEVEL, default info). */
export function stderrSink(min: Level = levelFromEnv()): LogSink {
  return (line, level) => {
    if (RANK[level] < RANK[min]) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${line}\n`);
  };
}

function levelFromEnv(): Level {
  const v = process.env.TEND_LOG_LEVEL?.toLowerCase();
  return v && v in RANK ? (v as Level) : 'info';
}

export type RateLimitedLog = (key: string, msg: () => string, level?: Level) => void;

export function rateLimitedLog(log: LogSink | ((msg: string) => void) | undefined, clock: Clock, windowMs = 10_000): RateLimitedLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, msg, level = 'warn') => {
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
    log(msg() + more, level);
  };
}
