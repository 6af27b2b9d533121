// The connection life of one cabled device (serial or Firmata), kept apart from the wire format:
// open → connected → lost (cable pulled, port error, board silent) → wait (1 s … 30 s) → open again.
// The state is visible as a LinkStatus, and online/offline goes to the sink.
import type { Clock, LinkStatus } from '../../core/types.ts';
import { Backoff, type BackoffOptions } from '../../core/backoff.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';

/** One open connection; `close` releases the port and everything on it. */
export interface LinkSession {
  close(): Promise<void>;
  /**
   * false once the device is gone (its path removed: a USB adapter pulled out), asked on every
   * watchdog check; the port's own error or close does not always come, or not at once
   */
  present?(): boolean;
}

export interface LinkHooks {
  /** call when the connection is gone (port closed, error); the link reconnects */
  lost(err: Error | string): void;
  /** call when the device said something readable; marks it online */
  heard(): void;
}

export interface DeviceLinkOptions {
  name: string;
  kind: 'serial' | 'firmata';
  clock: Clock;
  /** open a connection; reject when the port cannot be opened */
  connect(hooks: LinkHooks): Promise<LinkSession>;
  /** the device is reachable or not (goes to TransportSink.online) */
  online(online: boolean): void;
  /** nothing heard for this long while connected: the device counts as offline */
  silence_ms: number;
  backoff?: BackoffOptions;
  /** lines read "<name>: …" (serial:tank-north: connected) */
  log?: LogSink;
}

/**
 * How long a cabled device may stay silent before it counts as offline: 1.5 × interval_s, one
 * report late by half an interval (twice that and the port is reopened, see checkSilence).
 */
export function silenceMs(interval_s: number): number {
  return Math.round(interval_s * 1500);
}

export class DeviceLink {
  private state: LinkStatus['state'] = 'disconnected';
  private lastError: string | null = null;
  private since: number;
  private session: LinkSession | null = null;
  private generation = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private lostHook: ((err: string) => void) | null = null;
  private isOnline = false;
  private stopped = true;
  private readonly backoff: Backoff;
  private readonly log: Logger;

  constructor(private readonly opts: DeviceLinkOptions) {
    this.log = moduleLog(opts.log, opts.name, { clock: opts.clock });
    this.since = opts.clock.now();
    this.backoff = new Backoff(opts.backoff);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.set('connecting', null);
    // check several times per silence window so "offline" shows soon after the window ends
    const every = Math.max(50, Math.min(1000, Math.floor(this.opts.silence_ms / 4)));
    this.watchdog = setInterval(() => this.checkSilence(), every);
    this.watchdog.unref();
    void this.attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.retryTimer = this.watchdog = null;
    const s = this.session;
    this.session = null;
    if (s) await s.close().catch(() => undefined);
    this.set('disconnected', this.lastError);
  }

  status(): LinkStatus {
    return {
      name: this.opts.name,
      kind: this.opts.kind,
      state: this.state,
      last_error: this.lastError,
      since: new Date(this.since).toISOString(),
    };
  }

  /**
   * Run the silence check (every quarter window; exposed for tests on a fake clock). Silent for
   * one window: offline. Silent for two: the port is reopened, in case the cable was pulled in a
   * way the OS did not report (some hubs and adapters) — on an Uno or Nano reopening also resets
   * the board, which is what a person would try next.
   */
  checkSilence(): void {
    if (this.stopped || !this.session) return;
    if (this.session.present?.() === false) {
      this.lostHook?.('the port is gone (its device path was removed)');
      return;
    }
    const quiet = this.opts.clock.now() - this.lastHeard;
    if (quiet > 2 * this.opts.silence_ms) {
      const why = `nothing heard for ${Math.round(quiet / 1000)} s; reopening the port`;
      this.lostHook?.(why);
      return;
    }
    if (this.isOnline && quiet > this.opts.silence_ms) {
      this.lastError = `nothing heard for ${Math.round(quiet / 1000)} s`;
      this.log.warn(`${this.lastError}; counting it as offline`);
      this.setOnline(false);
    }
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    let lostOnce = false;
    const hooks: LinkHooks = {
      lost: (err) => {
        if (gen !== this.generation || lostOnce) return;
        lostOnce = true;
        void this.onLost(err);
      },
      heard: () => {
        if (gen !== this.generation) return;
        this.lastHeard = this.opts.clock.now();
        this.backoff.reset();
        if (!this.isOnline) this.setOnline(true);
      },
    };
    try {
      const session = await this.opts.connect(hooks);
      if (gen !== this.generation || this.stopped) {
        await session.close().catch(() => undefined);
        return;
      }
      this.session = session;
      this.lostHook = hooks.lost;
      this.lastHeard = this.opts.clock.now();
      this.set('connected', this.lastError);
      this.log.info('connected');
    } catch (err) {
      if (gen !== this.generation || this.stopped) return;
      this.retry(message(err));
    }
  }

  private async onLost(err: Error | string): Promise<void> {
    const s = this.session;
    this.session = null;
    this.lostHook = null;
    this.generation++;
    this.setOnline(false);
    if (s) await s.close().catch(() => undefined);
    if (this.stopped) return;
    this.log.warn(`link lost (${message(err)})`);
    this.retry(message(err));
  }

  private retry(error: string): void {
    const delay = this.backoff.next();
    // reconnecting while the delay still grows; error once it has reached its cap, so the page
    // tells a blip from a board that has been away for a while
    this.set(this.backoff.capped ? 'error' : 'reconnecting', error);
    this.log.warn(`${error}; trying again in ${delay / 1000} s`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, delay);
    this.retryTimer.unref();
  }

  private setOnline(online: boolean): void {
    if (this.isOnline === online) return;
    this.isOnline = online;
    this.opts.online(online);
  }

  private set(state: LinkStatus['state'], lastError: string | null): void {
    if (state !== this.state) this.since = this.opts.clock.now();
    this.state = state;
    this.lastError = lastError;
  }
}

/** The text of an error; johnny-five and firmata.js also pass strings and bare { message } objects. */
export function message(err: unknown): string {
  return String((err as { message?: unknown } | null)?.message ?? err);
}
