// What this village knows about its neighbours, and how fresh that news is.
//
// Freshness rule ("nothing stale is shown as fresh"): a neighbour's news is stale when
//  - our own federation link is down (we cannot know), or
//  - its newest message is older than `staleAfterMs`, or
//  - its newest message dates from before our link last went down (a retained copy the broker
//    replays after a cut may be the last thing it said before the storm), or
//  - its own link said offline (its will, [MQTT-3.1.2-8]), or
//  - it was loaded from our database at start and nothing has arrived since.
// The time of a message is the neighbour's own `at`, clamped to when we received it, so a clock
// running ahead cannot make old news look new; a lagging clock makes news look older (the safe
// side), and the lag is shown as clock_skew_s.
import { QUANTITY_KINDS, type FedIncidents, type FedLink, type FedMessage, type FedNeed, type FedOffer, type FedSummary, type Quantities } from './topics.ts';

export interface NeighbourRecord {
  village: string;
  summary: FedSummary | null;
  incidents: FedIncidents | null;
  offer: FedOffer | null;
  /** absent in records kept before needs existed */
  need?: FedNeed | null;
  link: FedLink | null;
  /** epoch ms of the newest news (clamped `at`), null if none */
  heard_at: number | null;
  /** epoch ms we last received anything */
  received_at: number;
  /** seconds the neighbour's clock is behind ours (live messages only), null if unknown or small */
  clock_skew_s: number | null;
  /** loaded from storage and not heard since */
  restored: boolean;
}

export interface NeighbourView {
  village: string;
  heard_at: string | null;
  water_days_current: number | null;
  water_days_minimum: number | null;
  power_hours_left: number | null;
  cold_at_risk: number;
  incident_open: boolean;
  offer: string | null;
  stale: boolean;
  // additive detail for the page
  name: string | null;
  population: number | null;
  sensors_online: number | null;
  sensors_total: number | null;
  link: 'online' | 'offline' | null;
  incidents: { opened_at: string; domains: string[]; crisis: boolean; exercise: boolean; headline: string | null }[];
  clock_skew_s: number | null;
  /** what its offer counts, when it says (null: words only, or no offer) */
  offer_quantities: Quantities | null;
  /** what it has said it needs; null when nothing */
  need: NeedView | null;
}

/** A need as the page and the prompt read it: the village's words and what it counts. */
export interface NeedView {
  text: string;
  quantities: Quantities;
  /** when the village said it (its own clock, as sent) */
  at: string;
}

/** The quantities a payload carries (zero counts as not said). */
export function quantitiesOf(x: Quantities): Quantities {
  const out: Quantities = {};
  for (const k of QUANTITY_KINDS) {
    const v = x[k];
    if (typeof v === 'number' && v > 0) out[k] = v;
  }
  return out;
}

/** A need payload as shown; null when it says nothing is needed. */
export function needView(n: FedNeed | null | undefined): NeedView | null {
  if (!n || n.text === null) return null;
  return { text: n.text, quantities: quantitiesOf(n), at: n.at };
}

export interface FreshnessContext {
  now: number;
  connected: boolean;
  /** epoch ms our link last went down, null if it never did */
  linkDownAt: number | null;
  staleAfterMs: number;
}

/** A name as people would read it: "Birch-Well", "birchwell" and "ＢＩＲＣＨＷＥＬＬ" are one name. */
export function nameKey(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}\p{Cf}]+/gu, '');
}

/** Skew under this is normal network and processing delay and not worth showing. */
const SKEW_SHOWN_MS = 120_000;

export class NeighbourBook {
  private readonly map = new Map<string, NeighbourRecord>();

  constructor(
    private readonly self: string,
    private readonly maxNeighbours = 1000,
    /** our own display name: no neighbour may take it */
    private readonly selfName: string | null = null,
  ) {}

  /**
   * The village whose name `name` copies, or null when it is free for `village` to use: a
   * neighbour must not show up under our name or id, or another known village's name or id.
   * A village may always use its own id as its name ("Birchwell" for birchwell), so the real
   * village is accepted even after another has taken its name; the copy is then refused when it
   * next speaks. Names are compared folded (case, width, spaces, punctuation, invisible marks).
   */
  nameCopies(village: string, name: string): string | null {
    const k = nameKey(name);
    if (k === '' || k === nameKey(village)) return null;
    if (k === nameKey(this.self) || (this.selfName !== null && k === nameKey(this.selfName))) return this.self;
    for (const r of this.map.values()) {
      if (r.village === village) continue;
      if (k === nameKey(r.village) || (r.summary?.name && k === nameKey(r.summary.name))) return r.village;
    }
    return null;
  }

  get size(): number {
    return this.map.size;
  }

  get(village: string): NeighbourRecord | undefined {
    return this.map.get(village);
  }

  all(): NeighbourRecord[] {
    return [...this.map.values()].sort((a, b) => a.village.localeCompare(b.village));
  }

  restore(r: NeighbourRecord): void {
    if (r.village === this.self || this.map.size >= this.maxNeighbours) return;
    this.map.set(r.village, { ...r, restored: true });
  }

  /**
   * Take one decoded message. `retained` is the MQTT retain flag as delivered: true for a copy
   * the broker replays on subscribe, false for live news ([MQTT-3.3.1-9]).
   * Returns false when it was ignored (our own, or too many neighbours).
   */
  apply(village: string, msg: FedMessage, receivedAt: number, retained: boolean): boolean {
    if (village === this.self) return false;
    let r = this.map.get(village);
    if (!r) {
      if (msg.body === null) return false;
      if (this.map.size >= this.maxNeighbours) return false;
      r = {
        village,
        summary: null,
        incidents: null,
        offer: null,
        need: null,
        link: null,
        heard_at: null,
        received_at: receivedAt,
        clock_skew_s: null,
        restored: false,
      };
      this.map.set(village, r);
    }
    r.received_at = receivedAt;
    r.restored = false;
    if (msg.body === null) {
      // an empty retained payload clears that topic; a cleared summary means the village left
      if (msg.kind === 'summary') {
        this.map.delete(village);
        return true;
      }
      if (msg.kind === 'incidents') r.incidents = null;
      if (msg.kind === 'offer') r.offer = null;
      if (msg.kind === 'need') r.need = null;
      if (msg.kind === 'link') r.link = null;
      return true;
    }
    const at = msg.body.at === undefined ? receivedAt : Date.parse(msg.body.at);
    // keep the newest of each kind: a queued QoS 1 copy arriving after a newer retained one is old
    switch (msg.kind) {
      case 'summary':
        if (r.summary && Date.parse(r.summary.at) > at) return true;
        r.summary = msg.body;
        break;
      case 'incidents':
        if (r.incidents && Date.parse(r.incidents.at) > at) return true;
        r.incidents = msg.body;
        break;
      case 'offer':
        if (r.offer && Date.parse(r.offer.at) > at) return true;
        r.offer = msg.body;
        break;
      case 'need':
        if (r.need && Date.parse(r.need.at) > at) return true;
        r.need = msg.body;
        break;
      case 'link':
        // online/offline says whether it is reachable, not how fresh its reserve news is
        r.link = msg.body;
        return true;
    }
    const heard = Math.min(at, receivedAt);
    if (r.heard_at === null || heard > r.heard_at) r.heard_at = heard;
    if (!retained && msg.body.at !== undefined) {
      const skew = receivedAt - at;
      r.clock_skew_s = skew > SKEW_SHOWN_MS ? Math.round(skew / 1000) : null;
    }
    return true;
  }

  isStale(r: NeighbourRecord, f: FreshnessContext): boolean {
    if (!f.connected || r.restored || r.heard_at === null) return true;
    if (r.link?.state === 'offline') return true;
    if (f.now - r.heard_at > f.staleAfterMs) return true;
    if (f.linkDownAt !== null && r.heard_at < f.linkDownAt) return true;
    return false;
  }

  view(f: FreshnessContext): NeighbourView[] {
    return this.all().map((r) => this.viewOne(r, f));
  }

  viewOne(r: NeighbourRecord, f: FreshnessContext): NeighbourView {
    const s = r.summary;
    const open = r.incidents?.open ?? [];
    const offer = r.offer && !r.offer.withdrawn ? r.offer.text : null;
    const offered = offer !== null && r.offer ? quantitiesOf(r.offer) : null;
    return {
      village: r.village,
      heard_at: r.heard_at === null ? null : new Date(r.heard_at).toISOString(),
      water_days_current: s?.water_days_current ?? null,
      water_days_minimum: s?.water_days_minimum ?? null,
      power_hours_left: s?.power_hours_left ?? null,
      cold_at_risk: s?.cold_at_risk ?? 0,
      // drills (CAP status Exercise) are listed but do not count as an open incident
      incident_open: open.some((i) => !i.exercise),
      offer,
      stale: this.isStale(r, f),
      name: s?.name ?? null,
      population: s?.population ?? null,
      sensors_online: s?.sensors_online ?? null,
      sensors_total: s?.sensors_total ?? null,
      link: r.link?.state ?? null,
      incidents: open.map((i) => ({ opened_at: i.opened_at, domains: i.domains, crisis: i.crisis, exercise: i.exercise, headline: i.headline })),
      clock_skew_s: r.clock_skew_s,
      offer_quantities: offered && Object.keys(offered).length ? offered : null,
      need: needView(r.need),
    };
  }
}
