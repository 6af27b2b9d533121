// The loop that runs the village, after ingest:
//
//   reading/device event ─► reserve status ─► alert book judges it ─► assembly follows ─► outputs
//
// A status is computed on the leading edge after a change (a reading after a quiet spell is judged
// at once: alert latency) and at most once per throttle period under a flood (throughput), and
// every second for staleness and the time-weighted rules (a tick half a second after a compute is
// left out). A reading that crosses a threshold of its rule (urgent) is judged at once even under
// a flood, right after the event that brought it. The retained outputs are published only when
// their content changed, and the alert and assembly lists once per change of the lists, not once
// per event, so signboards and sirens hear each change once.
import type { Alert, AssemblyPrompt, PlanStatus, Reading, ReserveStatus, SensorHealth } from '../core/types.ts';
import type { Judgement } from './alerts/book.ts';
import type { VillageEventHub } from './events.ts';

/** Publishing one retained output (the broker's publish). */
export type PublishOutput = (topic: string, payload: string, opts: { retain: boolean; qos: 0 | 1 }) => void;

/** Timers the loop runs on; a test hands in fakes and moves time itself. */
export interface LoopTimers {
  /** monotonic ms, for the throttle */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** the tick for staleness and the time-weighted rules */
const TICK_MS = 1000;

export const realTimers: LoopTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface StatusLoopOptions {
  events: VillageEventHub;
  /** the reserve stage: computes the status from the latest values */
  reserve: { status(extra: { rejected_total: number }): Omit<ReserveStatus, 'alerts' | 'assembly'>; sensors(): SensorHealth[] };
  /** how many readings ingest has refused so far */
  rejectedTotal: () => number;
  alerts: { judge(status: ReserveStatus, sensors: SensorHealth[]): Judgement; alerts(): Alert[] };
  assembly: { follow(j: Judgement, status: ReserveStatus | null): void; prompts(): AssemblyPrompt[] };
  /** the assembly's plan in force beside the actual figures (reserve/plan.ts); absent: no plans */
  plan?: (status: Omit<ReserveStatus, 'alerts' | 'assembly'>) => PlanStatus | undefined;
  publish: PublishOutput;
  /** the retained output topics */
  topics: { reserve: string; alerts: string; assembly: string };
  /**
   * recompute at most this often after a change (ms; 1000). A screen needs no fresher figures than
   * one a second, and a reading across a threshold does not wait for it (`urgent`); at 25 ms, a
   * flood of 500 readings a second cost 40 whole computes a second, most of tend's CPU, and at
   * 250 ms the four computes a second were still a tenth of it.
   */
  throttleMs?: number;
  /** false: never recompute by itself; the caller calls refresh() (a simulation on its own clock) */
  auto?: boolean;
  /** the 1 s tick for staleness and time-weighted rules (left out half a second after a compute) */
  tick?: boolean;
  /** whether a reading crossed a threshold (the alert book's crosses): judged at once, not after the throttle */
  urgent?: (r: Reading) => boolean;
  timers?: LoopTimers;
}

export class StatusLoop {
  /** null until the first compute (start) */
  private current: ReserveStatus | null = null;
  private lastPublished = '';
  private lastAlerts = '';
  private lastAssembly = '';
  private outputsQueued = false;
  private pending: unknown = null;
  private lastRefreshAt = -Infinity;
  /** when the status was last computed, for whatever reason (the tick skips one just done) */
  private lastComputeAt = -Infinity;
  private interval: unknown = null;
  private running = false;
  private urgentQueued = false;
  private readonly timers: LoopTimers;
  private readonly throttle: number;
  private readonly manual: boolean;
  private readonly onChange = () => this.schedule();
  private readonly onReading = (r: Reading) => (this.opts.urgent?.(r) ? this.judgeNow() : this.schedule());
  private readonly onOutputs = () => this.queueOutputs();

  constructor(private readonly opts: StatusLoopOptions) {
    this.timers = opts.timers ?? realTimers;
    this.throttle = opts.throttleMs ?? 1000;
    this.manual = opts.auto === false || this.throttle >= 2 ** 31 - 1;
  }

  start(): void {
    const { events } = this.opts;
    events.on('alert', this.onOutputs, 'outputs');
    events.on('assembly', this.onOutputs, 'outputs');
    this.publishOutputs();
    this.running = true;
    events.on('reading', this.onReading, 'status loop');
    events.on('device', this.onChange, 'status loop');
    this.refresh();
    if (this.opts.tick !== false) this.interval = this.timers.setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    const { events } = this.opts;
    events.off('alert', this.onOutputs);
    events.off('assembly', this.onOutputs);
    events.off('reading', this.onReading);
    this.running = false;
    events.off('device', this.onChange);
    if (this.interval !== null) this.timers.clearInterval(this.interval);
    if (this.pending !== null) this.timers.clearTimeout(this.pending);
    this.interval = this.pending = null;
  }

  /** The last computed status, with the alerts and prompts it led to. */
  status(): ReserveStatus {
    return this.current ?? this.refresh();
  }

  /**
   * The tick moves time-based judgements on (staleness, the rules that weigh time) while nothing
   * arrives. Under a stream of readings the throttle computes anyway: a tick while its compute is
   * due, or half a tick after a compute, would judge the same moment again, and is left out.
   */
  private tick(): void {
    if (this.pending !== null || this.timers.now() - this.lastComputeAt < TICK_MS / 2) return;
    this.refresh();
  }

  /** Compute the status now, judge it, follow it with the assembly, publish; returns it. */
  refresh(): ReserveStatus {
    this.lastComputeAt = this.timers.now();
    const { reserve, alerts, assembly } = this.opts;
    const base = reserve.status({ rejected_total: this.opts.rejectedTotal() });
    const plan = this.opts.plan?.(base);
    if (plan) base.plan = plan;
    // the rules see the status, then the status carries what they concluded
    const seen = { ...base, alerts: this.current?.alerts ?? alerts.alerts(), assembly: this.current?.assembly ?? assembly.prompts() };
    assembly.follow(alerts.judge(seen, reserve.sensors()), seen);
    this.current = { ...base, alerts: alerts.alerts(), assembly: assembly.prompts() };
    this.opts.events.emit('status', this.current);
    // republish only when something besides the time `at` changed
    const text = statusText(this.current);
    if (!sameButTime(text, this.lastPublished)) {
      this.lastPublished = text;
      this.opts.publish(this.opts.topics.reserve, text, { retain: true, qos: 1 });
    }
    return this.current;
  }

  /**
   * Judge right after the event that brought an urgent reading (a microtask: every listener of
   * the reading has had it), whatever the throttle; a timed compute still due is not needed then.
   */
  private judgeNow(): void {
    if (this.manual || this.urgentQueued) return;
    this.urgentQueued = true;
    queueMicrotask(() => {
      this.urgentQueued = false;
      if (!this.running) return;
      if (this.pending !== null) this.timers.clearTimeout(this.pending);
      this.pending = null;
      this.lastRefreshAt = this.timers.now();
      this.refresh();
    });
  }

  private schedule(): void {
    if (this.pending !== null || this.manual) return;
    const wait = Math.max(0, this.lastRefreshAt + this.throttle - this.timers.now());
    this.pending = this.timers.setTimeout(() => {
      this.pending = null;
      this.lastRefreshAt = this.timers.now();
      this.refresh();
    }, wait);
  }

  private queueOutputs(): void {
    if (this.outputsQueued) return;
    this.outputsQueued = true;
    queueMicrotask(() => this.publishOutputs());
  }

  private publishOutputs(): void {
    this.outputsQueued = false;
    const { publish, topics } = this.opts;
    const a = JSON.stringify(this.opts.alerts.alerts());
    if (a !== this.lastAlerts) publish(topics.alerts, (this.lastAlerts = a), { retain: true, qos: 1 });
    const p = JSON.stringify(this.opts.assembly.prompts());
    if (p !== this.lastAssembly) publish(topics.assembly, (this.lastAssembly = p), { retain: true, qos: 1 });
  }
}

/** each tank's JSON, made once per tank entry: the reserve hands out the same entry until the tank changes */
const tankTexts = new WeakMap<object, string>();
const TANKS_HERE = '\u0000tanks';

/**
 * JSON.stringify(status), the same text, made faster: the tanks, most of a large village's status
 * and mostly unchanged from one compute to the next, are joined from each tank's own text.
 */
export function statusText(status: ReserveStatus): string {
  const tanks = status.water?.tanks;
  if (!Array.isArray(tanks) || tanks.length < 8) return JSON.stringify(status);
  const parts: string[] = [];
  for (const t of tanks) {
    let text = tankTexts.get(t);
    if (text === undefined) tankTexts.set(t, (text = JSON.stringify(t)));
    parts.push(text);
  }
  const rest = JSON.stringify({ ...status, water: { ...status.water, tanks: TANKS_HERE } });
  // the marker cannot stand inside any other string (JSON writes the NUL as \u0000)
  return rest.replace(`"tanks":${JSON.stringify(TANKS_HERE)}`, () => `"tanks":[${parts.join(',')}]`);
}

/** Whether two status texts differ only in their time `at` (compared in place, without copies). */
function sameButTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const i = a.indexOf('"at":"');
  if (i < 0 || b.indexOf('"at":"') !== i) return a === b;
  const end = a.indexOf('"', i + 6);
  if (end < 0 || b.indexOf('"', i + 6) !== end) return a === b;
  return a.slice(0, i) === b.slice(0, i) && a.slice(end) === b.slice(end);
}
