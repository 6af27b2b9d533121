// How far back a sparkline reaches. A fixed 24 h left a new village with a sliver for its whole
// first day, so the page asks for `hours=auto`: the shortest of 1 h, 6 h, 24 h and 7 days that
// holds all the history the sensor has, with points spaced to suit that span.

export type HistoryPoint = { ts: number; value: number };

/** the spans a sparkline may cover, in hours, shortest first */
export const SPANS_H = [1, 6, 24, 168] as const;

/** What the span needs from the village: the sensor's history on the village clock. */
export interface HistorySource {
  /** means per `stepMs` over the last `hours`; null for an unknown sensor */
  history(sensorId: string, hours: number, stepMs?: number): HistoryPoint[] | null;
  now?(): number;
}

/** Point spacing for a span: 60 to 340 points, enough for a line a phone draws 300 px wide. */
export function stepFor(hours: number): number {
  if (hours <= 1) return 60_000;
  if (hours <= 24) return 5 * 60_000;
  return 30 * 60_000;
}

/** The shortest span holding everything since `oldestTs`; 1 h when there is no history yet. */
export function chooseSpan(oldestTs: number | null, now: number): number {
  if (oldestTs === null) return SPANS_H[0];
  const age = now - oldestTs;
  for (const h of SPANS_H) if (age <= h * 3_600_000) return h;
  return SPANS_H[SPANS_H.length - 1];
}

/** The sensor's history over the span that fits it; null for an unknown sensor. */
export function autoHistory(src: HistorySource, sensor: string): { hours: number; step_s: number; points: HistoryPoint[] } | null {
  const longest = SPANS_H[SPANS_H.length - 1];
  // minute points find the oldest reading to the minute, so the first hour is told from the second
  const minutes = src.history(sensor, longest, 60_000);
  if (!minutes) return null;
  const now = src.now ? src.now() : Date.now();
  const hours = chooseSpan(minutes.length ? minutes[0]!.ts : null, now);
  const step = stepFor(hours);
  const points = step === 60_000 ? minutes.filter((p) => p.ts >= now - hours * 3_600_000) : (src.history(sensor, hours, step) ?? []);
  return { hours, step_s: step / 1000, points };
}
