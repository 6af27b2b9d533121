// Session state of the embedded broker, bounded: who holds each client id, the messages queued
// for persistent sessions (clean: false) whose client is away, and the inbound QoS 2 packet ids
// already taken. aedes keeps a persistent session's queue forever by default (aedes-persistence
// memory store: one array per client id, never trimmed); 2,000 abandoned signboard sessions and a
// stream of status changes grew the process by 200 MB in 20 s. Here the queues are bounded per
// session and in all, the retained-style outputs keep only their latest copy, and sessions whose
// client stays away past `session_expiry_s` are removed. Everything dropped is counted.
//
// The queues replace the `outgoing*` methods of aedes' persistence, a documented interface
// (aedes-persistence: outgoingEnqueue, outgoingEnqueueCombi, outgoingUpdate,
// outgoingClearMessageId, outgoingStream), with the same semantics as the memory store.
import { Readable } from 'node:stream';
import { BROKER_QUEUE_LIMITS } from '../../core/limits.ts';
import { topicMatches } from '../../firmware-bridge/protocol/topics.ts';

/** A PUBLISH (or, for QoS 2, a PUBREL) as aedes hands it to the persistence. */
export interface QueuedPacket {
  cmd?: string;
  topic?: string;
  payload?: Buffer;
  qos?: number;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}

export type DropReason = 'superseded' | 'session_limit' | 'total_limit' | 'session_expired';

export interface QueueLimits {
  perSession: number;
  total: number;
  totalBytes: number;
}

/** The parts of aedes' persistence (aedes-persistence 11, promise style) that are replaced or watched. */
export interface AedesPersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedPacket): Promise<void>;
  outgoingUpdate(client: { id: string }, packet: QueuedPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: QueuedPacket): Promise<QueuedPacket | undefined>;
  outgoingStream(client: { id: string }): Readable;
  incomingDelPacket(client: { id: string }, packet: QueuedPacket): Promise<unknown>;
  cleanIncoming?(client: { id: string }): Promise<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
}

const size = (p: QueuedPacket) => (p.payload?.length ?? 0) + (p.topic?.length ?? 0);

export class SessionQueues {
  private readonly queues = new Map<string, QueuedPacket[]>();
  private count = 0;
  private bytes = 0;
  /** messages dropped from queues, per reason */
  readonly dropped = new Map<DropReason, number>();
  /** client id → inbound QoS 2 packet ids taken and not yet released (PUBREL) */
  private readonly qos2 = new Map<string, Set<number>>();

  constructor(
    /** topics where only the latest copy matters (the retained outputs): an older unsent copy is dropped */
    private readonly latestOnly: Set<string>,
    private readonly limits: QueueLimits = BROKER_QUEUE_LIMITS,
  ) {}

  /** messages queued for all sessions */
  queued(): number {
    return this.count;
  }

  /** payload and topic bytes queued, each copy counted */
  queuedBytes(): number {
    return this.bytes;
  }

  /** Put these queues in place of aedes' own, and watch its inbound QoS 2 store. */
  install(p: AedesPersistence): void {
    p.outgoingEnqueue = async (sub, packet) => this.enqueue(sub.clientId, packet);
    p.outgoingEnqueueCombi = async (subs, packet) => {
      for (const sub of subs) this.enqueue(sub.clientId, packet);
    };
    p.outgoingUpdate = async (client, packet) => this.update(client.id, packet);
    p.outgoingClearMessageId = async (client, packet) => this.clear(client.id, packet);
    p.outgoingStream = (client) => Readable.from([...(this.queues.get(client.id) ?? [])]);
    // a PUBREL ends an inbound QoS 2 flow (aedes deletes the stored packet): the id may be new again
    const del = p.incomingDelPacket.bind(p);
    p.incomingDelPacket = (client, packet) => {
      this.releaseQoS2(client.id, packet.messageId);
      return del(client, packet);
    };
    const cleanIncoming = p.cleanIncoming?.bind(p);
    if (cleanIncoming) {
      p.cleanIncoming = (client) => {
        this.qos2.delete(client.id);
        return cleanIncoming(client);
      };
    }
  }

  /**
   * An inbound QoS 2 PUBLISH: true the first time this packet id arrives from this client id,
   * false for a retransmission (DUP) until PUBREL ends the flow [MQTT-4.3.3-2]. Synchronous, so
   * two copies read from one socket chunk (which aedes dispatches together) are told apart.
   */
  firstQoS2(clientId: string, messageId: number): boolean {
    let ids = this.qos2.get(clientId);
    if (!ids) this.qos2.set(clientId, (ids = new Set()));
    if (ids.has(messageId)) return false;
    ids.add(messageId);
    return true;
  }

  private releaseQoS2(clientId: string, messageId: number | undefined): void {
    const ids = this.qos2.get(clientId);
    if (!ids || messageId === undefined) return;
    ids.delete(messageId);
    if (ids.size === 0) this.qos2.delete(clientId);
  }

  /** Drop everything held for a session that is removed (expired); returns the messages dropped. */
  dropSession(clientId: string): number {
    this.qos2.delete(clientId);
    const q = this.queues.get(clientId);
    if (!q) return 0;
    for (const p of q) this.bytes -= size(p);
    this.count -= q.length;
    this.queues.delete(clientId);
    this.countDrop('session_expired', q.length);
    return q.length;
  }

  private enqueue(clientId: string, packet: QueuedPacket): void {
    let q = this.queues.get(clientId);
    if (!q) this.queues.set(clientId, (q = []));
    if (this.isLatestOnly(packet)) {
      // only the latest status matters: older copies not yet sent go (one sent and unacknowledged
      // stays, so its PUBACK still finds it)
      for (let i = q.length - 1; i >= 0; i--) {
        if (q[i]!.topic === packet.topic && q[i]!.messageId === undefined) this.removeAt(q, i, 'superseded');
      }
    }
    // Past a bound the oldest message goes, but never an output's latest copy while anything
    // else is there: it is the one thing a signboard coming back needs. At the total bound a
    // session's new message takes the place of its own oldest, so no session grows while the
    // total is full; one with nothing it may give up gets nothing more until the total drains.
    const n = size(packet);
    if (q.length >= this.limits.perSession) this.removeAt(q, this.oldestToDrop(q), 'session_limit');
    while (this.overTotal(n) && q.some((e) => !this.isLatestOnly(e))) this.removeAt(q, this.oldestToDrop(q), 'total_limit');
    if (this.overTotal(n)) {
      this.countDrop('total_limit', 1);
      if (q.length === 0) this.queues.delete(clientId);
      return;
    }
    // each session gets its own copy: its packet id is set when it is sent (aedes-persistence does the same)
    q.push({ ...packet, messageId: undefined });
    this.count++;
    this.bytes += n;
  }

  private isLatestOnly(p: QueuedPacket): boolean {
    return p.topic !== undefined && this.latestOnly.has(p.topic);
  }

  private overTotal(adding: number): boolean {
    return this.count >= this.limits.total || this.bytes + adding > this.limits.totalBytes;
  }

  /** the oldest message that is not an output's latest copy (the oldest of all when there is none) */
  private oldestToDrop(q: QueuedPacket[]): number {
    const i = q.findIndex((e) => !this.isLatestOnly(e));
    return Math.max(i, 0);
  }

  /** drop q[i] (the queue stays in the map even when empty: enqueue goes on using it) */
  private removeAt(q: QueuedPacket[], i: number, reason: DropReason): void {
    const [p] = q.splice(i, 1);
    this.count--;
    this.bytes -= size(p!);
    this.countDrop(reason, 1);
  }

  private countDrop(reason: DropReason, n: number): void {
    if (n > 0) this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  /** A queued message is being sent with a packet id, or a QoS 2 PUBLISH became its PUBREL. */
  private update(clientId: string, packet: QueuedPacket): void {
    const q = this.queues.get(clientId);
    if (!q) return;
    for (let i = 0; i < q.length; i++) {
      const e = q[i]!;
      if (e.brokerId === packet.brokerId) {
        if (e.brokerCounter === packet.brokerCounter) {
          e.messageId = packet.messageId;
          return;
        }
      } else if (e.messageId === packet.messageId) {
        this.bytes += size(packet) - size(e);
        q[i] = packet;
        return;
      }
    }
    // Not queued: dropped at a bound (or superseded) on its way to a connected client. The memory
    // store throws here, and aedes would close the client for it; it is sent anyway instead, and
    // its acknowledgement finds nothing to clear.
  }

  private clear(clientId: string, packet: QueuedPacket): QueuedPacket | undefined {
    const q = this.queues.get(clientId);
    if (!q) return undefined;
    const i = q.findIndex((e) => e.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [p] = q.splice(i, 1);
    this.count--;
    this.bytes -= size(p!);
    if (q.length === 0) this.queues.delete(clientId);
    return p;
  }
}

/** Who holds a client id: the account (device id; null for anonymous), and whether it is away. */
interface Holder {
  account: string | null;
  clean: boolean;
  /** the connected aedes client, null while a persistent session waits for it */
  client: object | null;
  /** epoch ms its client went away (persistent sessions only) */
  awaySince: number | null;
}

/**
 * Client ids in use: connected clients, and persistent sessions until they expire. A client id a
 * device's namespace does not cover (`sim-…`, a tool's random id) belongs to the account holding
 * it, so no other account can take over its connection or its session.
 */
export class ClientIds {
  private readonly held = new Map<string, Holder>();

  /** the account holding `clientId` (null: anonymous), undefined when nobody holds it */
  accountOf(clientId: string): string | null | undefined {
    return this.held.get(clientId)?.account;
  }

  /** a client registered (aedes 'client' event) */
  connected(clientId: string, account: string | null, clean: boolean, client: object): void {
    this.held.set(clientId, { account, clean, client, awaySince: null });
  }

  /** a client went away (aedes 'clientDisconnect'): a clean session ends, a persistent one waits */
  disconnected(clientId: string, client: object, now: number): void {
    const h = this.held.get(clientId);
    // a newer connection with this id has taken over: it holds the id now
    if (!h || h.client !== client) return;
    if (h.clean) this.held.delete(clientId);
    else {
      h.client = null;
      h.awaySince = now;
    }
  }

  /** Remove and return the persistent sessions whose client has been away longer than `maxAwayMs`. */
  expire(now: number, maxAwayMs: number): string[] {
    const out: string[] = [];
    for (const [id, h] of this.held) {
      if (h.awaySince !== null && now - h.awaySince > maxAwayMs) {
        this.held.delete(id);
        out.push(id);
      }
    }
    return out;
  }

  get size(): number {
    return this.held.size;
  }
}

/** The parts of aedes' persistence that keep a persistent session's subscriptions (aedes-persistence 11). */
export interface SubscriptionStore {
  addSubscriptions(client: { id: string }, subs: { topic: string }[]): Promise<unknown>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
}

/** topics whose answer is remembered at most; device topics are few, anything beyond starts over */
const MATCH_CACHE_MAX = 10_000;

/**
 * Every topic filter someone holds: live subscriptions (each one aedes makes, counted) and those
 * kept for persistent sessions, whose client may be away. The broker asks `anyMatch` for each
 * device message: when nobody's filter matches, there is nobody to deliver it to, live or later,
 * and routing it through aedes (its queues for away sessions, its emitter) is work for nothing.
 * Errs on routing: a filter counts from the moment it is asked for until it is gone.
 */
export class SubscriptionIndex {
  /** filter → live subscriptions holding it */
  private readonly live = new Map<string, number>();
  /** client id → filters its persistent session keeps */
  private readonly kept = new Map<string, Set<string>>();
  /** topic → whether any filter matches, until the filters change */
  private readonly matches = new Map<string, boolean>();

  liveAdded(filter: string): void {
    this.live.set(filter, (this.live.get(filter) ?? 0) + 1);
    this.matches.clear();
  }

  liveRemoved(filter: string): void {
    const n = (this.live.get(filter) ?? 0) - 1;
    if (n > 0) this.live.set(filter, n);
    else this.live.delete(filter);
    this.matches.clear();
  }

  /** Watch a persistence's session subscriptions (its documented add/remove/clean methods). */
  install(p: SubscriptionStore): void {
    const add = p.addSubscriptions.bind(p);
    const remove = p.removeSubscriptions.bind(p);
    const clean = p.cleanSubscriptions.bind(p);
    p.addSubscriptions = (client, subs) => {
      let set = this.kept.get(client.id);
      if (!set) this.kept.set(client.id, (set = new Set()));
      for (const s of subs) set.add(s.topic);
      this.matches.clear();
      return add(client, subs);
    };
    // forgotten only once the store has removed them, so a message in between is still routed
    p.removeSubscriptions = (client, topics) =>
      remove(client, topics).finally(() => {
        const set = this.kept.get(client.id);
        for (const t of topics) set?.delete(t);
        if (set?.size === 0) this.kept.delete(client.id);
        this.matches.clear();
      });
    p.cleanSubscriptions = (client) =>
      clean(client).finally(() => {
        this.kept.delete(client.id);
        this.matches.clear();
      });
  }

  /** Does any live or kept filter match this topic? */
  anyMatch(topic: string): boolean {
    const known = this.matches.get(topic);
    if (known !== undefined) return known;
    const found =
      [...this.live.keys()].some((f) => topicMatches(f, topic)) || [...this.kept.values()].some((set) => [...set].some((f) => topicMatches(f, topic)));
    if (this.matches.size >= MATCH_CACHE_MAX) this.matches.clear();
    this.matches.set(topic, found);
    return found;
  }

  /** distinct filters held (live or kept) */
  get filters(): number {
    const all = new Set(this.live.keys());
    for (const set of this.kept.values()) for (const f of set) all.add(f);
    return all.size;
  }
}
