// Federation: villages see each other's reserves, open incidents and offers, laterally, through
// an ordinary MQTT broker they share (Mosquitto with bridges, or an EMQX/VerneMQ cluster). There is
// no federation server of tend's own; each village is a client that publishes retained news under
// fed/<village>/ and subscribes to fed/+/… (see README.md beside this file).
//
// The link may fail (a storm takes down the radio): local monitoring never waits on it. A stable
// client id and a persistent session (clean start false, a session expiry, [MQTT-3.1.2-4],
// MQTT 5 §3.1.2.11.2) keep QoS 1 messages across short cuts; on every (re)connect the village's
// latest state is republished and the subscriptions renewed, so the broker replays the neighbours'
// retained news ([MQTT-3.8.4-3]) and everyone converges.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub } from '../events.ts';
import type { Storage } from '../storage.ts';
import type { AssemblyPrompt, Alert, Clock, Incident, LinkStatus, NeighbourOffer, ReserveStatus } from '../../core/types.ts';
import { NeighbourBook, type NeighbourView } from './neighbours.ts';
import { FederationStore, type OwnOffer } from './store.ts';
import { Backoff } from '../../core/backoff.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import { computeOffer, sameNews, significantChange, summarize, summarizeIncidents } from './summary.ts';
import {
  FED_LIMITS,
  FED_SUBSCRIPTIONS,
  FedPayloadError,
  decodeFed,
  fedTopic,
  parseFedTopic,
  type FedIncidentSummary,
  type FedKind,
  type FedOffer,
  type FedRejectReason,
  type FedSummary,
} from './topics.ts';

export interface FederationTuning {
  /** at most one publish per topic in this window; later changes go out at its end */
  minPublishIntervalMs: number;
  /** republish an unchanged summary this often (incidents and offer ten times less often) */
  heartbeatMs: number;
  /** reconnect delay grows from min to max (doubling) while the broker is unreachable */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxNeighbours: number;
  /** offers older than this are left out of offers() (the prompt) */
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

/** A neighbour's offer for the assembly prompt; `stale` tells the prompt it is old news. */
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
  own: { offer: string | null; offer_source: FedOffer['source']; withdrawn: boolean; configured: boolean };
  link: LinkStatus;
}

export interface FederationMetrics {
  received: number;
  rejected: Record<FedRejectReason, number>;
  published: number;
  /** publishes the broker refused (MQTT 5 PUBACK reason ≥ 0x80, e.g. 0x87 not authorized) */
  refused: number;
  neighbours: number;
}

/** Bad input from the page (offer text): a clear message for a 400 answer. */
export class FederationInputError extends Error {}

interface Outgoing<T> {
  /** latest content; `at` is filled at publish time for incidents and offer */
  latest: T | null;
  published: T | null;
  lastPubAt: number;
  timer: NodeJS.Timeout | null;
}

type OfferContent = Omit<FedOffer, 'at' | 'v'>;
type IncidentsContent = { open: FedIncidentSummary[] };

export class Federation {
  private readonly village: string;
  private readonly tuning: FederationTuning;
  /** `limited` gives one line per key a minute: a flapping link or a noisy neighbour cannot flood the log */
  private readonly log: Logger;
  private readonly book: NeighbourBook;
  private readonly store: FederationStore;
  private client: MqttClient | null = null;
  private started = false;
  private stopping = false;
  private connected = false;
  private linkDownAt: number | null = null;
  private linkState: LinkStatus;
  private readonly backoff: Backoff;
  private ownOffer: OwnOffer | null = null;
  private latestStatus: ReserveStatus | null = null;
  private readonly incidents = new Map<string, Incident>();
  private readonly closedIncidents = new Set<string>();
  private readonly prompts = new Map<string, AssemblyPrompt>();
  private alerts: Alert[] = [];
  private readonly out: { summary: Outgoing<FedSummary>; incidents: Outgoing<IncidentsContent>; offer: Outgoing<OfferContent> } = {
    summary: { latest: null, published: null, lastPubAt: -Infinity, timer: null },
    incidents: { latest: null, published: null, lastPubAt: -Infinity, timer: null },
    offer: { latest: null, published: null, lastPubAt: -Infinity, timer: null },
  };
  private readonly counters: FederationMetrics = {
    received: 0,
    rejected: { too_large: 0, not_utf8: 0, not_json: 0, bad_fields: 0, impossible: 0, name_copied: 0 },
    published: 0,
    refused: 0,
    neighbours: 0,
  };
  private readonly changeListeners = new Set<() => void>();
  private readonly listeners: { status: (s: ReserveStatus) => void; incident: (i: Incident) => void; assembly: (p: AssemblyPrompt) => void };

  constructor(private readonly opts: FederationOptions) {
    this.village = opts.config.village.id;
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.log = moduleLog(opts.log, 'federation', { clock: opts.clock, windowMs: 60_000 });
    this.book = new NeighbourBook(this.village, this.tuning.maxNeighbours, opts.config.village.name);
    this.store = new FederationStore(opts.storage);
    this.backoff = new Backoff({ first_ms: this.tuning.reconnectMinMs, max_ms: this.tuning.reconnectMaxMs });
    this.linkState = { name: 'federation', kind: 'federation', state: 'disconnected', last_error: null, since: new Date(opts.clock.now()).toISOString() };
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
    if (this.started || !this.fed) return;
    this.started = true;
    this.stopping = false;
    this.store.open();
    this.ownOffer = this.store.loadOffer();
    for (const r of this.store.loadNeighbours()) this.book.restore(r);
    this.counters.neighbours = this.book.size;
    const { events } = this.opts;
    events.on('status', this.listeners.status, 'federation');
    events.on('incident', this.listeners.incident, 'federation');
    events.on('assembly', this.listeners.assembly, 'federation');
    this.refreshIncidents();
    this.refreshOffer();
    this.connect();
  }

  private connect(): void {
    const fed = this.fed!;
    const username = fed.username ?? this.village;
    if (username !== this.village) {
      this.log.warn(`username "${username}" is not the village id "${this.village}"; an ACL of fed/%u/# will refuse our news`);
    }
    const options: IClientOptions = {
      clientId: fed.client_id ?? `tend-${this.village}`,
      username,
      password: fed.password,
      protocolVersion: 5,
      // persistent session: the broker keeps our subscriptions and queued QoS 1 news across cuts
      clean: false,
      properties: { sessionExpiryInterval: fed.session_expiry_s ?? 86_400 },
      reconnectPeriod: this.tuning.reconnectMinMs,
      connectTimeout: 10_000,
      // we subscribe ourselves on every connect (see onConnect)
      resubscribe: false,
      // a bad password or a broker still starting is retried with the growing delay, not given up
      reconnectOnConnackError: true,
      will: { topic: fedTopic(this.village, 'link'), payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })), qos: 1, retain: true },
    };
    this.setLink('connecting', null);
    const client = (this.opts.connect ?? mqtt.connect)(fed.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose(client));
    client.on('reconnect', () => {
      if (!this.stopping) this.setLink('reconnecting', this.linkState.last_error);
    });
    client.on('error', (err) => {
      this.linkState.last_error = err.message;
      this.log.limited('link-error', () => err.message);
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.onMessage(topic, payload, packet.retain === true);
      } catch (err) {
        // a neighbour's message must never take the village down
        this.log.limited('message', () => `could not take ${topic}: ${(err as Error).message}`, 'error');
      }
    });
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client || this.stopping) return;
    this.connected = true;
    this.backoff.reset();
    client.options.reconnectPeriod = this.tuning.reconnectMinMs;
    this.setLink('connected', null);
    this.log.info(`connected to ${this.fed!.url} as ${client.options.clientId}`);
    // subscribing again replays the retained news even when the session was resumed, so a
    // village converges on the neighbours' latest after any cut. No-local (MQTT 5 §3.8.3.1):
    // our own news need not come back.
    client.subscribe([...FED_SUBSCRIPTIONS], { qos: 1, nl: true }, (err) => {
      if (err) this.log.limited('subscribe', () => `subscribe failed: ${err.message}`, 'error');
    });
    this.publishRaw('link', { v: 1, state: 'online', at: this.iso() });
    for (const kind of ['summary', 'incidents', 'offer'] as const) {
      const o = this.out[kind];
      if (o.timer) clearTimeout(o.timer);
      o.timer = null;
      if (o.latest) this.publishNow(kind);
    }
    this.emitChange();
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    if (this.connected) {
      this.linkDownAt = this.opts.clock.now();
      this.log.warn('link down; neighbours shown as last heard');
      this.emitChange();
    }
    this.connected = false;
    if (this.stopping) {
      this.setLink('disconnected', null);
      return;
    }
    this.setLink('reconnecting', this.linkState.last_error);
    // growing, capped delay; mqtt.js reads options.reconnectPeriod when it schedules a reconnect
    client.options.reconnectPeriod = this.backoff.next();
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
    this.counters.neighbours = this.book.size;
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
    this.alerts = s.alerts;
    for (const p of s.assembly)
      if (!this.prompts.has(p.incident_id) || this.prompts.get(p.incident_id)!.version <= p.version) this.prompts.set(p.incident_id, p);
    this.out.summary.latest = summarize(s);
    this.schedule('summary');
    this.refreshOffer();
    this.refreshIncidents();
  }

  private onIncident(i: Incident): void {
    if (i.closed_at) {
      this.incidents.delete(i.id);
      this.closedIncidents.add(i.id);
      if (this.closedIncidents.size > 1000) this.closedIncidents.delete(this.closedIncidents.values().next().value!);
    } else {
      this.incidents.set(i.id, i);
    }
    this.refreshIncidents();
  }

  private onAssembly(p: AssemblyPrompt): void {
    if (p.status === 'open') this.prompts.set(p.incident_id, p);
    else this.prompts.delete(p.incident_id);
    this.refreshIncidents();
  }

  private refreshIncidents(): void {
    // incidents we only know through an open prompt or a firing alert (e.g. after a restart,
    // before the alerts module re-emits them) still count as open
    const all = new Map(this.incidents);
    for (const p of this.prompts.values()) {
      if (p.status !== 'open' || all.has(p.incident_id) || this.closedIncidents.has(p.incident_id)) continue;
      all.set(p.incident_id, {
        id: p.incident_id,
        opened_at: p.opened_at,
        closed_at: null,
        alert_ids: [],
        domains: [],
        crisis: true,
        prompt_id: p.id,
        exercise: p.exercise,
      });
    }
    for (const a of this.alerts) {
      if (!a.incident_id || a.state === 'resolved' || this.closedIncidents.has(a.incident_id)) continue;
      const known = all.get(a.incident_id);
      if (!known) {
        all.set(a.incident_id, {
          id: a.incident_id,
          opened_at: a.started_at,
          closed_at: null,
          alert_ids: [a.id],
          domains: [a.domain],
          crisis: false,
          prompt_id: null,
          exercise: false,
        });
      } else if (!known.domains.includes(a.domain) && !this.incidents.has(a.incident_id)) {
        known.domains = [...known.domains, a.domain];
      }
    }
    this.out.incidents.latest = { open: summarizeIncidents(all.values(), this.prompts.values(), this.alerts) };
    this.schedule('incidents');
  }

  private refreshOffer(): void {
    let content: OfferContent;
    if (this.ownOffer?.withdrawn) content = { text: null, withdrawn: true, source: 'edited' };
    else if (this.ownOffer?.text) content = { text: this.ownOffer.text, withdrawn: false, source: 'edited' };
    else if (this.fed?.offer) content = { text: this.fed.offer, withdrawn: false, source: 'config' };
    else {
      const c = this.latestStatus
        ? computeOffer(this.latestStatus, {
            population: this.opts.config.village.population,
            minimum_lpd: this.opts.config.village.minimum_water_lpd,
            margin_days: this.fed?.offer_margin_days ?? 7,
          })
        : null;
      content = { text: c, withdrawn: false, source: c ? 'computed' : 'none' };
    }
    this.out.offer.latest = content;
    this.schedule('offer');
  }

  /** publish now if the throttle allows, later if not; nothing while the link is down */
  private schedule(kind: 'summary' | 'incidents' | 'offer', force = false): void {
    const o = this.out[kind] as Outgoing<unknown>;
    if (!this.connected || !o.latest) return;
    const now = this.opts.clock.now();
    const since = now - o.lastPubAt;
    const changed =
      kind === 'summary'
        ? significantChange(this.out.summary.published, this.out.summary.latest!)
        : !sameNews(o.latest as { at?: string }, o.published as { at?: string } | null);
    if (force || (changed && since >= this.tuning.minPublishIntervalMs)) {
      if (o.timer) clearTimeout(o.timer);
      o.timer = null;
      this.publishNow(kind);
    } else if (changed) {
      if (!o.timer) {
        const wait = Math.max(10, Math.min(this.tuning.minPublishIntervalMs, this.tuning.minPublishIntervalMs - since));
        o.timer = setTimeout(() => {
          o.timer = null;
          if (this.connected) this.publishNow(kind);
        }, wait);
        o.timer.unref?.();
      }
    } else if (since >= (kind === 'summary' ? this.tuning.heartbeatMs : this.tuning.heartbeatMs * 10)) {
      // unchanged news goes out again now and then: neighbours see we are alive, and a copy a
      // busy broker dropped (Mosquitto's max_queued_messages) is replaced
      this.publishNow(kind);
    }
  }

  private publishNow(kind: 'summary' | 'incidents' | 'offer'): void {
    const o = this.out[kind] as Outgoing<object>;
    if (!o.latest) return;
    const body = kind === 'summary' ? o.latest : { v: 1, at: this.iso(), ...o.latest };
    o.published = o.latest;
    o.lastPubAt = this.opts.clock.now();
    this.publishRaw(kind, body);
  }

  private publishRaw(kind: FedKind, body: object): void {
    const client = this.client;
    if (!client || !this.connected) return;
    const topic = fedTopic(this.village, kind);
    client.publish(topic, JSON.stringify(body), { qos: 1, retain: true }, (err) => {
      if (!err) {
        this.counters.published++;
        return;
      }
      const code = (err as { code?: number }).code;
      if (typeof code === 'number' && code >= 0x80) {
        this.counters.refused++;
        this.log.limited(
          `refused:${kind}`,
          () => `the broker refused ${topic}: ${err.message} (check that the login name is the village id and the ACL allows fed/%u/#)`,
          'error',
        );
      } else {
        // a cut while in flight: mqtt.js resends QoS 1 from its store, and we republish on connect
        this.log.limited(`publish:${kind}`, () => `publish ${topic} not confirmed: ${err.message}`);
      }
    });
  }

  // ---- what the page and the prompt see

  view(): FederationView {
    const offer = this.out.offer.latest;
    return {
      village: this.village,
      connected: this.connected,
      neighbours: this.book.view(this.freshness()),
      own: {
        offer: offer?.text ?? null,
        offer_source: offer?.source ?? 'none',
        withdrawn: offer?.withdrawn ?? false,
        configured: this.fed !== undefined,
      },
      link: this.link(),
    };
  }

  /** One neighbour as view() shows it; null when never heard. */
  neighbour(village: string): NeighbourView | null {
    const r = this.book.get(village);
    return r ? this.book.viewOne(r, this.freshness()) : null;
  }

  /** Neighbours' current offers for the assembly prompt's `neighbours` section, freshest first. */
  offers(): FederationOffer[] {
    const now = this.opts.clock.now();
    return this.book
      .view(this.freshness())
      .filter((n) => n.offer !== null && n.heard_at !== null && now - Date.parse(n.heard_at) <= this.tuning.offerMaxAgeMs)
      .map((n) => ({ village: n.village, name: n.name, offer: n.offer!, heard_at: n.heard_at!, stale: n.stale }))
      .sort((a, b) => Number(a.stale) - Number(b.stale) || b.heard_at.localeCompare(a.heard_at));
  }

  /**
   * The village edits its offer on its page: a text replaces the computed one, `withdrawn`
   * publishes "no offer", and null (not withdrawn) returns to the computed offer.
   */
  setOffer(text: string | null, withdrawn = false): void {
    if (!this.fed) throw new FederationInputError('federation is not configured (add federation: { url, … } to the config)');
    let next: OwnOffer | null;
    const at = this.iso();
    if (withdrawn) next = { text: null, withdrawn: true, updated_at: at };
    else if (text === null || text.trim() === '') next = null;
    else {
      if (typeof text !== 'string') throw new FederationInputError('offer text is not a string');
      // one line, no control characters: it is shown on other villages' pages and prompts
      const clean = text
        .replace(/[\u0000-\u001f\u007f]+/g, ' ')
        .replace(/\s+/g, ' ')
        .trim();
      if (clean.length > FED_LIMITS.offer) throw new FederationInputError(`offer text is ${clean.length} characters; at most ${FED_LIMITS.offer}`);
      next = { text: clean, withdrawn: false, updated_at: at };
    }
    if (this.started) this.store.saveOffer(next);
    this.ownOffer = next;
    this.refreshOffer();
    // a person's edit goes out at once, not at the end of the throttle window
    this.schedule('offer', true);
    this.emitChange();
  }

  link(): LinkStatus {
    return { ...this.linkState };
  }

  metrics(): FederationMetrics {
    return { ...this.counters, rejected: { ...this.counters.rejected }, neighbours: this.book.size };
  }

  /** called when neighbours' news or our link changed (for SSE); returns an unsubscribe */
  onChange(fn: () => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.stopping = true;
    const { events } = this.opts;
    events.off('status', this.listeners.status);
    events.off('incident', this.listeners.incident);
    events.off('assembly', this.listeners.assembly);
    for (const o of Object.values(this.out)) {
      if (o.timer) clearTimeout(o.timer);
      o.timer = null;
    }
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (this.connected) {
      // a clean goodbye: neighbours see we left rather than guessing from silence
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(fedTopic(this.village, 'link'), JSON.stringify({ v: 1, state: 'offline', at: this.iso() }), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.connected = false;
    await Promise.race([client.endAsync(!client.connected), new Promise((r) => setTimeout(r, 3000))]);
    if (!client.disconnected) client.end(true);
    this.setLink('disconnected', null);
  }

  // ---- small helpers

  private freshness() {
    return {
      now: this.opts.clock.now(),
      connected: this.connected,
      linkDownAt: this.linkDownAt,
      staleAfterMs: (this.fed?.stale_after_s ?? 600) * 1000,
    };
  }

  private setLink(state: LinkStatus['state'], lastError: string | null): void {
    if (this.linkState.state !== state) this.linkState.since = this.iso();
    this.linkState.state = state;
    this.linkState.last_error = lastError;
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
