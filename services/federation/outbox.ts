// What we tell the neighbours, throttled: the latest content of each kind of news waits here and
// goes out at most once per minPublishIntervalMs when it changed (later changes at the window's
// end), again unchanged as a heartbeat, and at once when a person edits it. Nothing is queued
// while the link is down: on connect only the latest of each kind goes out.
import type { Clock } from '../../core/types.ts';
import { sameNews, significantChange } from './summary.ts';
import type { FedSummary } from './topics.ts';

/** The kinds of news the village keeps publishing (the link topic is the link's own). */
export const NEWS_KINDS = ['summary', 'incidents', 'offer', 'need'] as const;
export type NewsKind = (typeof NEWS_KINDS)[number];

export interface OutboxOptions {
  clock: Clock;
  /** at most one publish per kind in this window */
  minPublishIntervalMs: number;
  /** republish unchanged summaries this often, the other kinds ten times less often */
  heartbeatMs: number;
  connected(): boolean;
  publish(kind: NewsKind, body: object): void;
}

interface Outgoing {
  /** latest content; `at` is filled at publish time for every kind but the summary */
  latest: object | null;
  published: object | null;
  lastPubAt: number;
  timer: NodeJS.Timeout | null;
}

export class NewsOutbox {
  private readonly out = new Map<NewsKind, Outgoing>(NEWS_KINDS.map((k) => [k, { latest: null, published: null, lastPubAt: -Infinity, timer: null }]));

  constructor(private readonly opts: OutboxOptions) {}

  /** the latest content of a kind (what the page shows as our own), null before the first */
  latest<T extends object>(kind: NewsKind): T | null {
    return this.slot(kind).latest as T | null;
  }

  /** take new content and publish it now if the throttle allows, later if not; `force`: a person's edit */
  set(kind: NewsKind, content: object, force = false): void {
    this.slot(kind).latest = content;
    this.schedule(kind, force);
  }

  /** on (re)connect: the latest of each kind goes out now */
  republish(): void {
    for (const kind of NEWS_KINDS) {
      const o = this.slot(kind);
      this.clear(o);
      if (o.latest) this.publishNow(kind);
    }
  }

  stop(): void {
    for (const o of this.out.values()) this.clear(o);
  }

  private schedule(kind: NewsKind, force: boolean): void {
    const o = this.slot(kind);
    if (!this.opts.connected() || !o.latest) return;
    const min = this.opts.minPublishIntervalMs;
    const since = this.opts.clock.now() - o.lastPubAt;
    const changed =
      kind === 'summary'
        ? significantChange(o.published as FedSummary | null, o.latest as FedSummary)
        : !sameNews(o.latest as { at?: string }, o.published as { at?: string } | null);
    if (force || (changed && since >= min)) {
      this.clear(o);
      this.publishNow(kind);
    } else if (changed) {
      if (!o.timer) {
        const wait = Math.max(10, Math.min(min, min - since));
        o.timer = setTimeout(() => {
          o.timer = null;
          if (this.opts.connected()) this.publishNow(kind);
        }, wait);
        o.timer.unref?.();
      }
    } else if (since >= (kind === 'summary' ? this.opts.heartbeatMs : this.opts.heartbeatMs * 10)) {
      // unchanged news goes out again now and then: neighbours see we are alive, and a copy a
      // busy broker dropped (Mosquitto's max_queued_messages) is replaced
      this.publishNow(kind);
    }
  }

  private publishNow(kind: NewsKind): void {
    const o = this.slot(kind);
    if (!o.latest) return;
    const body = kind === 'summary' ? o.latest : { v: 1, at: new Date(this.opts.clock.now()).toISOString(), ...o.latest };
    o.published = o.latest;
    o.lastPubAt = this.opts.clock.now();
    this.opts.publish(kind, body);
  }

  private slot(kind: NewsKind): Outgoing {
    return this.out.get(kind)!;
  }

  private clear(o: Outgoing): void {
    if (o.timer) clearTimeout(o.timer);
    o.timer = null;
  }
}
