// Federation: villages see each other's reserves, open incidents, offers and needs, laterally,
// through an ordinary MQTT broker they share (Mosquitto with bridges, or an EMQX/VerneMQ cluster).
// There is no federation server of tend's own; each village is a client that publishes retained
// news under fed/<village>/ and subscribes to fed/+/… (see README.md beside this file).
//
// The link may fail (a storm takes down the radio): local monitoring never waits on it. On every
// (re)connect the village's latest news is republished and the subscriptions renewed, so the
// broker replays the neighbours' retained news ([MQTT-3.8.4-3]) and everyone converges.
//
// This class wires the parts: the connection (link.ts), the throttled news (outbox.ts), the open
// incidents (open-incidents.ts), the own offer and need (own-news.ts), what we know of the
// neighbours (neighbours.ts, kept by store.ts) and where offers meet needs (match.ts).
import type mqtt from 'mqtt';
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import type { AssemblyPrompt, Clock, Incident, LinkStatus, NeighbourOffer, ReserveStatus } from '../../core/types.ts';
import { sayIn, type Say } from '../../core/i18n.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import { FederationLink } from './link.ts';
import { findMatches, quantitiesText, type MatchParty, type NeedMatch } from './match.ts';
import { NeighbourBook, quantitiesOf, type NeedView, type NeighbourView } from './neighbours.ts';
import { NewsOutbox } from './outbox.ts';
import { OpenIncidents } from './open-incidents.ts';
import { FederationInputError, cleanQuantities, needContent, offerContent, readNeed, readOffer, type NeedContent, type OfferContent } from './own-news.ts';
import { FederationStore, type OwnNeed, type OwnOffer } from './store.ts';
import { summarize } from './summary.ts';
import { FedPayloadError, decodeFed, parseFedTopic, type FedOffer, type FedRejectReason, type Quantities } from './topics.ts';

export { FederationInputError } from './own-news.ts';

export interface FederationTuning {
  /** at most one publish per topic in this window; later changes go out at its end */
  minPublishIntervalMs: number;
  /** republish an unchanged summary this often (incidents, offer and need ten times less often) */
  heartbeatMs: number;
  /** reconnect delay grows from min to max (doubling) while the broker is unreachable */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxNeighbours: number;
  /** offers and needs older than this are left out of offers() (the prompt) */
  offerMaxAgeMs: number;
}

export const DEFAULT_TUNING: FederationTuning = {
  minPublishIntervalMs: 5000,
  heartbeatMs: 60_000,
  reconnectMinMs: 1000,
  reconnectMaxMs: 30_000,
  maxNeighbours: 1000,
  offerMaxAgeMs: 24 * 3600_000,
};

export interface FederationOptions {
  config: Config;
  clock: Clock;
  events: VillageEventHub;
  storage: Storage;
  log?: LogSink;
  connect?: typeof mqtt.connect;
  tuning?: Partial<FederationTuning>;
}

/** A neighbour's offer and need for the assembly prompt; `stale` tells the prompt it is old news. */
export interface FederationOffer extends NeighbourOffer {
  /** the neighbour's display name, when its summary gave one */
  name: string | null;
  stale: boolean;
}

export interface FederationView {
  village: string;
  connected: boolean;
  neighbours: NeighbourView[];
  /** additive: what this village itself publishes */
  own: {
    offer: string | null;
    offer_source: FedOffer['source'];
    withdrawn: boolean;
    configured: boolean;
    offer_quantities: Quantities | null;
    need: NeedView | null;
  };
  /** additive: where a neighbour's offer could meet our need, or ours a neighbour's, as facts */
  matches: NeedMatch[];
  link: LinkStatus;
}

export interface FederationMetrics {
  received: number;
  rejected: Record<FedRejectReason, number>;
  published: number;
  /** publishes the broker refused (MQTT 5 PUBACK reason ≥ 0x80, e.g. 0x87 not authorized) */
  refused: number;
  neighbours: number;
  /** offers and needs from the page refused as bad input */
  input_refused: number;
}

export class Federation {
  private readonly village: string;
  private readonly tuning: FederationTuning;
  /** `limited` gives one line per key a minute: a flapping link or a noisy neighbour cannot flood the log */
  private readonly log: Logger;
  private readonly book: NeighbourBook;
  private readonly store: FederationStore;
  private readonly incidents = new OpenIncidents();
  private readonly say: Say;
  private link_: FederationLink | null = null;
  private readonly outbox: NewsOutbox;
  private started = false;
  private ownOffer: OwnOffer | null = null;
  private ownNeed: OwnNeed | null = null;
  private latestStatus: ReserveStatus | null = null;
  private readonly counters = {
    received: 0,
    /** offers and needs from the page refused as bad input (400) */
    input_refused: 0,
    /** publishes the broker confirmed, and refused; kept by the link */
    link: { published: 0, refused: 0 },
    rejected: { too_large: 0, not_utf8: 0, not_json: 0, bad_fields: 0, impossible: 0, name_copied: 0 } as Record<FedRejectReason, number>,
  };
  private readonly changeListeners = new Set<() => void>();
  private readonly listeners: { status: (s: ReserveStatus) => void; incident: (i: Incident) => void; assembly: (p: AssemblyPrompt) => void };

  constructor(private readonly opts: FederationOptions) {
    this.village = opts.config.village.id;
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.log = moduleLog(opts.log, 'federation', { clock: opts.clock, windowMs: 60_000 });
    this.book = new NeighbourBook(this.village, this.tuning.maxNeighbours, opts.config.village.name);
    this.store = new FederationStore(opts.storage);
    this.say = sayIn(opts.config.village.language ?? 'en');
    this.outbox = new NewsOutbox({
      clock: opts.clock,
      minPublishIntervalMs: this.tuning.minPublishIntervalMs,
      heartbeatMs: this.tuning.heartbeatMs,
      connected: () => this.connected,
      publish: (kind, body) => this.link_?.publish(kind, body),
    });
    // the village's own loop emits these: a fault here is logged, never thrown back into it
    const guard =
      <T>(what: string, fn: (x: T) => void) =>
      (x: T) => {
        try {
          fn(x);
        } catch (err) {
          this.log.limited(`event:${what}`, () => `could not take the ${what}: ${(err as Error).message}`, 'error');
        }
      };
    this.listeners = {
      status: guard('status', (s: ReserveStatus) => this.onStatus(s)),
      incident: guard('incident', (i: Incident) => this.onIncident(i)),
      assembly: guard('assembly', (p: AssemblyPrompt) => this.onAssembly(p)),
    };
  }

  private get fed(): NonNullable<Config['federation']> | undefined {
    return this.opts.config.federation;
  }

  start(): void {
    const fed = this.fed;
    if (this.started || !fed) return;
    this.started = true;
    this.store.open();
    this.ownOffer = this.store.loadOffer();
    this.ownNeed = this.store.loadNeed();
    for (const r of this.store.loadNeighbours()) this.book.restore(r);
    // one link for the life of this object: a restart keeps when it last went down (freshness)
    this.link_ ??= new FederationLink(
      {
        village: this.village,
        fed,
        clock: this.opts.clock,
        log: this.log,
        reconnectMinMs: this.tuning.reconnectMinMs,
        reconnectMaxMs: this.tuning.reconnectMaxMs,
        connect: this.opts.connect,
        counts: this.counters.link,
      },
      {
        connected: () => {
          this.outbox.republish();
          this.emitChange();
        },
        down: () => this.emitChange(),
        message: (topic, payload, retained) => this.onMessage(topic, payload, retained),
      },
    );
    const { events } = this.opts;
    events.on('status', this.listeners.status, 'federation');
    events.on('incident', this.listeners.incident, 'federation');
    events.on('assembly', this.listeners.assembly, 'federation');
    this.refreshIncidents();
    this.refreshOffer();
    this.refreshNeed();
    this.link_.start();
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const t = parseFedTopic(topic);
    if (!t) return;
    if (t.village === this.village) return;
    this.counters.received++;
    let msg: ReturnType<typeof decodeFed>;
    try {
      msg = decodeFed(t.kind, payload);
    } catch (err) {
      if (err instanceof FedPayloadError) {
        this.counters.rejected[err.reason]++;
        this.log.limited(`reject:${t.village}:${err.reason}`, () => `refused ${topic} from a neighbour: ${err.reason} (${err.message})`);
        return;
      }
      throw err;
    }
    if (msg.kind === 'summary' && msg.body?.name !== undefined) {
      // a village showing up under another's name (or ours) would mislead the page and prompts
      const name = msg.body.name;
      const owner = this.book.nameCopies(t.village, name);
      if (owner !== null) {
        this.counters.rejected.name_copied++;
        this.log.limited(
          `reject:${t.village}:name_copied`,
          () =>
            `refused ${topic} from a neighbour: name_copied (${JSON.stringify(name.slice(0, 60))} is ${owner === this.village ? 'our own name' : `the name of ${owner}`})`,
        );
        return;
      }
    }
    if (!this.book.apply(t.village, msg, this.opts.clock.now(), retained)) return;
    try {
      this.store.queueNeighbour(t.village, this.book.get(t.village) ?? null);
    } catch (err) {
      this.log.limited('store', () => `could not keep neighbour news: ${(err as Error).message}`, 'error');
    }
    this.emitChange();
  }

  // ---- local events → what we tell the neighbours

  private onStatus(s: ReserveStatus): void {
    this.latestStatus = s;
    this.incidents.status(s);
    this.outbox.set('summary', summarize(s));
    this.refreshOffer();
    this.refreshIncidents();
  }

  private onIncident(i: Incident): void {
    this.incidents.incident(i);
    this.refreshIncidents();
  }

  private onAssembly(p: AssemblyPrompt): void {
    this.incidents.assembly(p);
    this.refreshIncidents();
  }

  private refreshIncidents(): void {
    this.outbox.set('incidents', { open: this.incidents.summary() });
  }

  private refreshOffer(force = false): void {
    const content = offerContent(this.ownOffer, this.fed?.offer, this.latestStatus, {
      population: this.opts.config.village.population,
      minimum_lpd: this.opts.config.village.minimum_water_lpd,
      margin_days: this.fed?.offer_margin_days ?? 7,
    });
    this.outbox.set('offer', content, force);
  }

  private refreshNeed(force = false): void {
    this.outbox.set('need', needContent(this.ownNeed), force);
  }

  // ---- what the page and the prompt see

  view(): FederationView {
    const offer = this.outbox.latest<OfferContent>('offer') ?? null;
    const offered = offer && !offer.withdrawn && offer.text !== null ? quantitiesOf(offer) : null;
    return {
      village: this.village,
      connected: this.connected,
      neighbours: this.book.view(this.freshness()),
      own: {
        offer: offer?.text ?? null,
        offer_source: offer?.source ?? 'none',
        withdrawn: offer?.withdrawn ?? false,
        configured: this.fed !== undefined,
        offer_quantities: offered && Object.keys(offered).length ? offered : null,
        need: this.ownNeed ? { text: this.ownNeed.text, quantities: { ...this.ownNeed.quantities }, at: this.ownNeed.updated_at } : null,
      },
      matches: this.matches(),
      link: this.link(),
    };
  }

  /** One neighbour as view() shows it; null when never heard. */
  neighbour(village: string): NeighbourView | null {
    const r = this.book.get(village);
    return r ? this.book.viewOne(r, this.freshness()) : null;
  }

  /** Where an offer could meet a need, between us and each neighbour (facts for the page and prompts). */
  matches(): NeedMatch[] {
    const offer = this.outbox.latest<OfferContent>('offer') ?? null;
    const need = this.outbox.latest<NeedContent>('need') ?? null;
    const own: MatchParty = {
      village: this.village,
      name: this.opts.config.village.name,
      offer: offer && !offer.withdrawn && offer.text !== null ? quantitiesOf(offer) : null,
      need: need && need.text !== null ? quantitiesOf(need) : null,
      stale: false,
      heard_at: null,
    };
    const now = this.opts.clock.now();
    const parties: MatchParty[] = this.book
      .view(this.freshness())
      // the prompt leaves out news older than a day; so do the facts
      .filter((n) => n.heard_at !== null && now - Date.parse(n.heard_at) <= this.tuning.offerMaxAgeMs)
      .map((n) => ({
        village: n.village,
        name: n.name ?? n.village,
        offer: n.offer_quantities,
        need: n.need?.quantities ?? null,
        stale: n.stale,
        heard_at: n.heard_at,
      }));
    return findMatches(own, parties, this.say, this.opts.config.village.timezone);
  }

  /**
   * Neighbours' current offers and needs for the assembly prompt's `neighbours` section, freshest
   * first: each with its offer (or, when it offers nothing, that in words), its need, and the
   * facts where an offer could meet a need.
   */
  offers(): FederationOffer[] {
    const now = this.opts.clock.now();
    const matches = this.matches();
    return this.book
      .view(this.freshness())
      .filter((n) => (n.offer !== null || n.need !== null) && n.heard_at !== null && now - Date.parse(n.heard_at) <= this.tuning.offerMaxAgeMs)
      .map((n) => {
        const o: FederationOffer = {
          village: n.village,
          name: n.name,
          offer: n.offer ?? this.say('federation.no_offer', 'no offer at present'),
          heard_at: n.heard_at!,
          stale: n.stale,
        };
        // the additive fields only when there is something to say, so a prompt without needs reads as before
        if (n.offer === null) o.offering = false;
        if (n.offer_quantities) o.quantities = n.offer_quantities;
        if (n.need) {
          const figures = quantitiesText(n.need.quantities, this.say);
          o.need = figures ? `${n.need.text} (${figures})` : n.need.text;
          o.need_quantities = n.need.quantities;
        }
        const facts = matches.filter((m) => m.offered_by === n.village || m.needed_by === n.village).map((m) => m.text);
        if (facts.length) o.matches = facts;
        return o;
      })
      .sort((a, b) => Number(a.stale) - Number(b.stale) || b.heard_at.localeCompare(a.heard_at));
  }

  /**
   * The village edits its offer on its page: a text replaces the computed one (with what it
   * counts, when given), `withdrawn` publishes "no offer", and null (not withdrawn) returns to
   * the computed offer.
   */
  setOffer(text: string | null, withdrawn = false, figures: Record<string, unknown> = {}): void {
    const next = this.checked('offer', () => readOffer(text, withdrawn, cleanQuantities(figures), this.iso()));
    if (this.started) this.store.saveOffer(next);
    this.ownOffer = next;
    // a person's edit goes out at once, not at the end of the throttle window
    this.refreshOffer(true);
    this.emitChange();
  }

  /**
   * The assembly says what the village needs, as the page posts it: `need` (text, up to
   * FED_LIMITS.need characters) with the figures it counts (water_liters, power_kwh,
   * freezer_liters, hands); `need: null` or an empty text clears it.
   */
  setNeed(body: Record<string, unknown>): void {
    const next = this.checked('need', () => {
      if (!('need' in body)) throw new FederationInputError('need is missing: {"need": "what for", "water_liters": 1500, …}, or {"need": null} to clear it');
      if (body.need !== null && typeof body.need !== 'string') throw new FederationInputError('need is not a text (or null to clear it)');
      return readNeed(body.need, cleanQuantities(body), this.iso());
    });
    if (this.started) this.store.saveNeed(next);
    this.ownNeed = next;
    this.refreshNeed(true);
    this.emitChange();
  }

  /** Read a person's input; bad input is counted and logged (rate-limited) and thrown on for a 400. */
  private checked<T>(what: 'offer' | 'need', read: () => T): T {
    try {
      if (!this.fed) throw new FederationInputError('federation is not configured (add federation: { url, … } to the config)');
      return read();
    } catch (err) {
      if (err instanceof FederationInputError) {
        this.counters.input_refused++;
        this.log.limited(`input:${what}`, () => `refused the village's ${what}: ${err.message}`);
      }
      throw err;
    }
  }

  link(): LinkStatus {
    return this.link_?.status() ?? { name: 'federation', kind: 'federation', state: 'disconnected', last_error: null, since: this.iso() };
  }

  metrics(): FederationMetrics {
    return {
      received: this.counters.received,
      rejected: { ...this.counters.rejected },
      published: this.counters.link.published,
      refused: this.counters.link.refused,
      neighbours: this.book.size,
      input_refused: this.counters.input_refused,
    };
  }

  /** called when neighbours' news or our link changed (for SSE); returns an unsubscribe */
  onChange(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const { events } = this.opts;
    events.off('status', this.listeners.status);
    events.off('incident', this.listeners.incident);
    events.off('assembly', this.listeners.assembly);
    this.outbox.stop();
    await this.link_?.stop();
  }

  // ---- small helpers

  private get connected(): boolean {
    return this.link_?.connected ?? false;
  }

  private freshness() {
    return {
      now: this.opts.clock.now(),
      connected: this.connected,
      linkDownAt: this.link_?.linkDownAt ?? null,
      staleAfterMs: (this.fed?.stale_after_s ?? 600) * 1000,
    };
  }

  private iso(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  private emitChange(): void {
    for (const fn of this.changeListeners) {
      try {
        fn();
      } catch (err) {
        this.log.limited('listener', () => `change listener failed: ${(err as Error).message}`, 'error');
      }
    }
  }
}
