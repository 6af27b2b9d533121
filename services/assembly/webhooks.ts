// Webhooks: every alert, incident and assembly change is POSTed as JSON to each configured URL,
// in order, one at a time per URL. While a receiver is down the queue waits and retries with a
// growing, capped delay; the queue is bounded (oldest dropped first, counted and logged) so a
// receiver that is gone for weeks cannot eat the village's memory.
import { createHmac } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub } from '../events.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import { httpFetch } from '../../core/http.ts';

export interface WebhookOptions {
  config: Config;
  events: VillageEventHub;
  log?: LogSink;
  /** per-URL queue bound */
  maxQueue?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
}

export interface WebhookStats {
  url: string;
  queued: number;
  delivered: number;
  dropped: number;
  failures: number;
  state: 'idle' | 'sending' | 'retrying';
  last_error: string | null;
}

export interface Webhooks {
  stats(): WebhookStats[];
  stop(): void;
}

interface Delivery {
  event: 'alert' | 'incident' | 'assembly';
  body: string;
}

class WebhookQueue {
  readonly queue: Delivery[] = [];
  delivered = 0;
  dropped = 0;
  failures = 0;
  lastError: string | null = null;
  state: WebhookStats['state'] = 'idle';
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: AbortController | null = null;
  private stopped = false;
  constructor(
    private readonly url: string,
    private readonly secret: string | undefined,
    private readonly o: Required<Omit<WebhookOptions, 'config' | 'events' | 'log'>> & { log: Logger },
  ) {}

  push(d: Delivery): void {
    if (this.stopped) return;
    this.queue.push(d);
    if (this.queue.length > this.o.maxQueue) {
      this.queue.shift();
      this.dropped++;
      this.o.log.limited(`drop ${this.url}`, () => `${this.url} queue full (${this.o.maxQueue}); dropped the oldest (${this.dropped} so far)`);
    }
    if (this.state === 'idle') void this.send();
  }

  private async send(): Promise<void> {
    const d = this.queue[0];
    if (!d || this.stopped) {
      this.state = 'idle';
      return;
    }
    this.state = 'sending';
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'tend-webhook/1', 'x-tend-event': d.event };
    if (this.secret) headers['x-tend-signature'] = `sha256=${createHmac('sha256', this.secret).update(d.body).digest('hex')}`;
    this.inFlight = new AbortController();
    const timeout = setTimeout(() => this.inFlight?.abort(), this.o.timeoutMs);
    let ok = false;
    try {
      const res = await httpFetch(this.url, { method: 'POST', headers, body: d.body, signal: this.inFlight.signal });
      await res.arrayBuffer().catch(() => undefined);
      ok = res.status >= 200 && res.status < 300;
      if (!ok) this.lastError = `HTTP ${res.status}`;
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      clearTimeout(timeout);
      this.inFlight = null;
    }
    if (this.stopped) return;
    if (ok) {
      if (this.queue[0] === d) this.queue.shift();
      this.delivered++;
      if (this.attempt > 0) this.o.log.info(`${this.url} reachable again`);
      this.attempt = 0;
      this.lastError = null;
      void this.send();
      return;
    }
    this.failures++;
    // exponential backoff with a cap and some jitter, so many villages do not retry in step
    const delay = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    if (this.attempt === 0) this.o.log.warn(`${this.url} failed (${this.lastError}); retrying with backoff`);
    this.attempt++;
    this.state = 'retrying';
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, delay);
  }

  stats(): WebhookStats {
    return {
      url: this.url,
      queued: this.queue.length,
      delivered: this.delivered,
      dropped: this.dropped,
      failures: this.failures,
      state: this.state,
      last_error: this.lastError,
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.abort();
  }
}

export function startWebhooks(opts: WebhookOptions): Webhooks {
  const o = {
    maxQueue: opts.maxQueue ?? 1000,
    initialDelayMs: opts.initialDelayMs ?? 1000,
    maxDelayMs: opts.maxDelayMs ?? 60_000,
    timeoutMs: opts.timeoutMs ?? 10_000,
    log: moduleLog(opts.log, 'webhooks', { windowMs: 60_000 }),
  };
  const queues = opts.config.alerts.webhooks.map((w) => new WebhookQueue(w.url, w.secret, o));
  const village = opts.config.village.id;
  const send = (event: Delivery['event'], data: unknown) => {
    if (!queues.length) return;
    const body = JSON.stringify({ village, event, sent_at: new Date().toISOString(), data });
    for (const q of queues) q.push({ event, body });
  };
  const onAlert = (a: unknown) => send('alert', a);
  const onIncident = (i: unknown) => send('incident', i);
  const onAssembly = (p: unknown) => send('assembly', p);
  opts.events.on('alert', onAlert, 'webhooks');
  opts.events.on('incident', onIncident, 'webhooks');
  opts.events.on('assembly', onAssembly, 'webhooks');
  return {
    stats: () => queues.map((q) => q.stats()),
    stop() {
      opts.events.off('alert', onAlert);
      opts.events.off('incident', onIncident);
      opts.events.off('assembly', onAssembly);
      for (const q of queues) q.stop();
    },
  };
}
