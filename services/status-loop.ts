// The loop that runs the village, after ingest:
//
//   reading/device event ─► reserve status ─► alert book judges it ─► assembly follows ─► outputs
//
// A status is computed on the leading edge after a change (a reading after a quiet spell is judged
// at once: alert latency) and at most once per throttle period under a flood (throughput), and
// every second for staleness and the time-weighted rules. The retained outputs are published only
// when their content changed, and the alert and assembly lists once per change of the lists, not
// once per event, so signboards and sirens hear each change once.
import type { Alert, AssemblyPrompt, PlanStatus, ReserveStatus, SensorHealth } from '../core/types.ts';
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
  /** recompute at most this often after a change (ms) */
  throttleMs?: number;
  /** false: never recompute by itself; the caller calls refresh() (a simulation on its own clock) */
  auto?: boolean;
  /** the 1 s tick for staleness and time-weighted rules */
  tick?: boolean;
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
  private interval: unknown = null;
  private readonly timers: LoopTimers;
  private readonly throttle: number;
  private readonly manual: boolean;
  private readonly onChange = () => this.schedule();
  private readonly onOutputs = () => this.queueOutputs();

  constructor(private readonly opts: StatusLoopOptions) {
    this.timers = opts.timers ?? realTimers;
    this.throttle = opts.throttleMs ?? 25;
    this.manual = opts.auto === false || this.throttle >= 2 ** 31 - 1;
  }

  start(): void {
    const { events } = this.opts;
    events.on('alert', this.onOutputs, 'outputs');
    events.on('assembly', this.onOutputs, 'outputs');
    this.publishOutputs();
    events.on('reading', this.onChange, 'status loop');
    events.on('device', this.onChange, 'status loop');
    this.refresh();
    if (this.opts.tick !== false) this.interval = this.timers.setInterval(() => this.refresh(), 1000);
  }

  stop(): void {
    const { events } = this.opts;
    events.off('alert', this.onOutputs);
    events.off('assembly', this.onOutputs);
    events.off('reading', this.onChange);
    events.off('device', this.onChange);
    if (this.interval !== null) this.timers.clearInterval(this.interval);
    if (this.pending !== null) this.timers.clearTimeout(this.pending);
    this.interval = this.pending = null;
  }

  /** The last computed status, with the alerts and prompts it led to. */
  status(): ReserveStatus {
    return this.current ?? this.refresh();
  }

  /** Compute the status now, judge it, follow it with the assembly, publish; returns it. */
  refresh(): ReserveStatus {
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
    const text = JSON.stringify(this.current);
    const content = text.replace(/"at":"[^"]*",/, '');
    if (content !== this.lastPublished) {
      this.lastPublished = content;
      this.opts.publish(this.opts.topics.reserve, text, { retain: true, qos: 1 });
    }
    return this.current;
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
