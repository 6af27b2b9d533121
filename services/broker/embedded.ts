// The embedded MQTT broker (aedes) that `tend demo` and small villages run in-process.
// It authenticates devices, enforces their topic prefixes, and hands device messages to the
// MQTT adapter. A QoS 1 reading's PUBACK goes out only after the reading is durable in SQLite.
// Hardened beyond aedes' defaults: a client id belongs to one account, failed logins back off,
// a publish to a topic the client may not use is dropped (the connection stays, as with
// Mosquitto), a QoS 2 retransmission is taken once, and persistent sessions are bounded and
// expire (sessions.ts). What is refused or dropped is counted per reason and logged rate-limited.
// A device message that no subscription matches ends once ingest has taken it: aedes does not
// route it to nobody (routeOnlyWhenSubscribed, SubscriptionIndex in sessions.ts).
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { createServer as createTcpServer, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import { type Clock, type LinkStatus, systemClock } from '../../core/types.ts';
import { type DeviceAuth, MAX_CLIENT_ID_LENGTH, topicViolation } from './auth.ts';
import { ClientIds, type AedesPersistence, type DropReason, type QueueLimits, SessionQueues, SubscriptionIndex, type SubscriptionStore } from './sessions.ts';
import { type DeviceRefusal, type RefuseAction, Refusals } from './refusals.ts';
import { hostPort, listen } from '../../core/listen.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}
export type Publish = (topic: string, payload: string | Buffer, opts?: PublishOptions) => void;

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  auth: DeviceAuth;
  tls?: { cert_file: string; key_file: string };
  /**
   * a device message arrived; return false if the topic is not a device topic. Always live here
   * (`retained` false): a device's own publish, even with RETAIN 1, is what it measures now; only
   * a copy a broker replays from its retained store is old, and tend never subscribes here.
   */
  onDeviceMessage: (topic: string, payload: Buffer, retained?: boolean) => boolean;
  /** called for QoS ≥ 1 device messages: `done` when the reading is durable (gates the PUBACK) */
  whenDurable: (done: () => void) => void;
  log?: LogSink;
  clock?: Clock;
  /** a persistent session whose client stays away this long is removed (default a day) */
  sessionExpiryMs?: number;
  /** topics where a queued older copy is dropped for a newer one: the village's retained outputs */
  latestOnlyTopics?: string[];
  /** bounds of the persistent sessions' queues (default BROKER_QUEUE_LIMITS) */
  queueLimits?: QueueLimits;
  /** the village id, to say why a publish under another village was refused */
  village?: string;
}

type TendClient = Client & { tendDevice?: string | null; tendRawClientId?: string };

/** a device message ingest has taken that no subscription matches: aedes need not route it */
const TAKEN = Symbol('tend.taken');
type TakenPacket = PublishPacket & { [TAKEN]?: true };
type PublishDone = (error?: Error) => void;

/**
 * aedes with its subscriptions counted (SubscriptionIndex) and a short way for a device message
 * nobody subscribes to. aedes publishes every accepted PUBLISH (lib/handlers/publish.js: after the
 * PUBACK, `broker.publish(packet, client, done)`): a packet, its queueing for away sessions, the
 * emitter's match, a 'publish' event. A reading that ingest has taken in authorizePublish and no
 * filter matches has nowhere to go, so it ends here. `publish`, `subscribe` and `unsubscribe` are
 * aedes' documented methods, wrapped on this one instance; the village's own outputs (client null)
 * always take the full path.
 */
function routeOnlyWhenSubscribed(aedes: Aedes, index: SubscriptionIndex): void {
  const publish = aedes.publish.bind(aedes) as (p: PublishPacket, c: unknown, d?: PublishDone) => void;
  const subscribe = aedes.subscribe.bind(aedes);
  const unsubscribe = aedes.unsubscribe.bind(aedes);
  (aedes as unknown as { publish: (p: PublishPacket, c: unknown, d?: PublishDone) => void }).publish = (packet, clientOrDone, done) => {
    if (typeof clientOrDone !== 'function' && clientOrDone !== null && (packet as TakenPacket)[TAKEN] === true) {
      done?.();
      return;
    }
    publish(packet, clientOrDone, done);
  };
  aedes.subscribe = (topic, deliver, done) => {
    index.liveAdded(topic);
    subscribe(topic, deliver, done);
  };
  aedes.unsubscribe = (topic, deliver, done) => {
    index.liveRemoved(topic);
    unsubscribe(topic, deliver, done);
  };
}

/** Why the broker refused a login or a publish (tend_broker_refused_total{reason}). */
export type RefuseReason =
  | 'client_id_too_long'
  | 'client_id_empty_persistent'
  | 'client_id_not_own'
  | 'bad_login'
  | 'login_backoff'
  | 'publish_not_allowed'
  | 'publish_violation'
  | 'subscribe_not_allowed'
  | 'qos2_duplicate';

/** Who was refused and at what, for the log line, the per-device count and the device's last refusal. */
interface Refused {
  action: RefuseAction;
  username: string | null | undefined;
  clientId: string;
  topic?: string;
  /** in words: why it was refused */
  why: string;
}

export const DEFAULT_SESSION_EXPIRY_MS = 24 * 3600_000;
/** how often persistent sessions are checked for expiry */
const EXPIRY_SWEEP_MS = 60_000;
/**
 * Where a refused publish is sent instead, so aedes acknowledges it as usual (PUBACK, or PUBREC
 * and PUBCOMP) and keeps the connection: nobody can subscribe to `$` topics here
 * (DeviceAuth.maySubscribe), and it is never retained.
 */
const REFUSED_TOPIC = '$tend/refused';

/**
 * Largest MQTT packet a client may send (fixed header included). A device reading is at most
 * MAX_PAYLOAD_BYTES (4 KiB); aedes itself has no limit and would buffer a packet announcing
 * 256 MB (the MQTT 3.1.1 maximum remaining length) until it is complete.
 */
export const MAX_PACKET_BYTES = 256 * 1024;

/**
 * A subscriber whose unsent backlog passes this is dropped (a signboard on a dead link); it gets
 * the retained status again when it reconnects. Generous, so a fast reader that lags for a moment
 * (a bench's plain subscriber) is not dropped.
 */
export const MAX_SUBSCRIBER_BACKLOG_BYTES = 8 * 1024 * 1024;

type Deliver = (packet: unknown, cb: () => void) => void;
/** aedes' per-client delivery functions (lib/client.js), read by subscriptions at SUBSCRIBE time */
interface Deliverers {
  deliver0: Deliver;
  deliverQoS: Deliver;
}

/** the part of aedes' per-connection mqtt-packet parser the size guard reads */
interface PacketParser {
  parse(buf: Buffer): number;
  packet: { length: number };
  _list?: { length: number };
}

/**
 * The aedes internals the broker's protections patch (aedes 1.2, lib/client.js: per-client fields
 * set in the Client constructor), each with the protection that is off when aedes no longer has it.
 * The patches skip what is missing rather than crash, so a changed aedes must be said out loud.
 */
const AEDES_INTERNALS: { path: string[]; type: 'function' | 'number'; protection: string; needs?: string }[] = [
  {
    path: ['_parser', 'parse'],
    type: 'function',
    protection: `the ${MAX_PACKET_BYTES / 1024} KiB packet limit is off (aedes buffers a packet of any announced size, up to 256 MB)`,
  },
  {
    path: ['_parser', 'packet', 'length'],
    type: 'number',
    needs: '_parser.parse',
    protection: `the ${MAX_PACKET_BYTES / 1024} KiB packet limit no longer sees a packet's announced size, only the bytes already buffered`,
  },
  {
    path: ['_parser', '_list', 'length'],
    type: 'number',
    needs: '_parser.parse',
    protection: `the ${MAX_PACKET_BYTES / 1024} KiB packet limit no longer sees the bytes already buffered, only a packet's announced size`,
  },
  {
    path: ['deliver0'],
    type: 'function',
    protection: 'the slow-subscriber protection is off (one subscriber that stops reading holds every publisher, and ingest, until drainTimeout)',
  },
  {
    path: ['deliverQoS'],
    type: 'function',
    protection: 'the slow-subscriber protection is off (one subscriber that stops reading holds every publisher, and ingest, until drainTimeout)',
  },
];

/**
 * Check an aedes client (what `aedes.handle()` returns) for every internal the broker patches.
 * Returns one warning per missing internal, naming the protection that is off; [] when all are there.
 */
export function checkAedesInternals(client: unknown): string[] {
  const missing: string[] = [];
  const off = new Set<string>();
  for (const { path, type, protection, needs } of AEDES_INTERNALS) {
    // a part read through an internal already reported missing is not reported again
    if (needs && off.has(needs)) continue;
    let v: unknown = client;
    for (const key of path) v = v !== null && (typeof v === 'object' || typeof v === 'function') ? (v as Record<string, unknown>)[key] : undefined;
    if (typeof v === type) continue;
    const name = path.join('.');
    off.add(name);
    const what = v === undefined ? 'is missing' : `is a ${v === null ? 'null' : typeof v}, not a ${type}`;
    missing.push(`aedes internal client.${name} ${what} (aedes changed?): ${protection}`);
  }
  return missing;
}

/**
 * checkAedesInternals on a throwaway client of `aedes`, over a stream that never carries a byte
 * (closed again at once), so a changed aedes is reported when the broker starts, not at the first
 * connection.
 */
export function probeAedesInternals(aedes: Aedes): string[] {
  const conn = new PassThrough();
  let client: Client | null = null;
  try {
    client = aedes.handle(conn);
    return checkAedesInternals(client);
  } catch (err) {
    return [`could not check aedes internals (aedes changed?): ${(err as Error).message}; the packet limit and the slow-subscriber protection may be off`];
  } finally {
    try {
      client?.close();
    } catch {
      /* the probe never connected; nothing to clean up beyond the stream */
    }
    conn.destroy();
  }
}

export class EmbeddedBroker {
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private since = new Date().toISOString();
  private lastError: string | null = null;
  private readonly log: Logger;
  private readonly clock: Clock;
  private sweep: NodeJS.Timeout | null = null;
  /** the persistent sessions' queues and the inbound QoS 2 ids taken (sessions.ts) */
  readonly sessions: SessionQueues;
  /** who holds each client id in use */
  readonly clientIds = new ClientIds();
  /** the topic filters anyone holds, live or kept for an away session */
  readonly subscriptions = new SubscriptionIndex();
  /** false until the persistence's subscriptions are watched: until then every message is routed */
  private shortcut = false;
  /** device messages taken that no subscription matched, so aedes did not route them */
  unrouted = 0;
  /** logins and publishes refused, per reason */
  readonly refused = new Map<RefuseReason, number>();
  /** the same refusals per device and action, and each device's last (refusals.ts) */
  readonly refusals: Refusals;
  address = '';
  port = 0;
  clientErrors = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = moduleLog(opts.log, 'broker', { clock: this.clock });
    this.sessions = new SessionQueues(new Set(opts.latestOnlyTopics ?? []), opts.queueLimits);
    this.refusals = new Refusals((username) => opts.auth.ownerOfClientId(username) === username);
  }

  /**
   * Count and log one refusal: per reason, and per device and action (refusals.ts). The line
   * names the username, client id, topic and reason, so an installer can find the node.
   */
  private refuse(reason: RefuseReason, r: Refused, line: () => string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    this.refusals.add(this.clock.now(), r.username, r.action, reason, r);
    // an attacker (or 500 devices with a stale secret) must not flood the log: one line per
    // reason every 10 s, with a count of the ones left out
    this.log.limited(
      `refused ${reason}`,
      () => `${line()}${r.topic !== undefined ? ` topic "${r.topic.slice(0, 128)}"` : ''}: ${r.why} (${reason}, ${this.refused.get(reason)} so far)`,
    );
  }

  async start(): Promise<void> {
    const { auth } = this.opts;
    const log = this.log;
    const who = (c: Client, username?: string) =>
      `user "${(username ?? (c as TendClient).tendDevice ?? '').slice(0, 64)}" client id "${(c.id ?? '').slice(0, 64)}" from ${remoteAddress(c)}`;
    const options: AedesOptions = {
      // a frozen subscriber (signboard on a bad link) is dropped after this, instead of stalling others
      drainTimeout: 10_000,
      queueLimit: 200,
      maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
      connectTimeout: 10_000,
      preConnect: (client, packet, done) => {
        // aedes replaces an empty client id with a generated one before authenticate; keep what was sent
        (client as TendClient).tendRawClientId = packet.clientId;
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const c = client as TendClient;
        const deny = (reason: RefuseReason, returnCode: 2 | 3 | 4 | 5, message: string) => {
          this.refuse(reason, { action: 'login', username, clientId: client.id ?? '', why: message }, () => `refused login of ${who(client, username)}`);
          done(Object.assign(new Error(message), { returnCode }) as never, false);
        };
        // aedes applies maxClientsIdLength to MQTT 3.1 only; refuse overlong ids on 3.1.1 too
        // (CONNACK 2, identifier rejected: MQTT 3.1.1 §3.2.2.3)
        if ((client.id ?? '').length > MAX_CLIENT_ID_LENGTH) return deny('client_id_too_long', 2, 'client id too long');
        // a zero-byte client id is only for a clean session: the server cannot keep a session for
        // a client it cannot recognise [MQTT-3.1.3-8]
        if (c.tendRawClientId === '' && !client.clean) return deny('client_id_empty_persistent', 2, 'empty client id with CleanSession 0 [MQTT-3.1.3-8]');
        const accept = (account: string | null) => {
          const notOwn = this.clientIdNotOwn(account, c.tendRawClientId ?? client.id, client.id);
          if (notOwn) return deny('client_id_not_own', 2, notOwn);
          c.tendDevice = account;
          done(null, true);
        };
        if (!username && !password && auth.anonymousAllowed) return accept(null);
        auth.login(username, password, remoteAddress(client)).then(
          (r) => {
            if (r.ok) return accept(username ?? null);
            if (r.reason === 'login_backoff') return deny('login_backoff', 5, `too many failed logins, retry in ${Math.ceil(r.waitMs / 1000)} s`);
            deny('bad_login', 4, 'bad username or password');
          },
          (e) => done(Object.assign(e as Error, { returnCode: 3 as const }) as never, false),
        );
      },
      authorizePublish: (client, packet, done) => {
        // client is null for the broker's own publishes (the village outputs)
        if (client === null) return done(null);
        const c = client as TendClient;
        const device = c.tendDevice ?? null;
        // a protocol violation closes the connection
        const violation = topicViolation(packet.topic);
        if (violation) {
          this.refuse(
            'publish_violation',
            { action: 'publish', username: device, clientId: client.id, topic: packet.topic, why: violation },
            () => `closed ${who(client)}`,
          );
          return done(new Error(violation));
        }
        if (!auth.mayPublish(device, packet.topic, packet.retain)) {
          // a will on a topic not allowed is not published; there is no connection left to keep
          if (client.closed) return done(new Error(`will to ${packet.topic} not allowed for ${device ?? 'anonymous'}`));
          // Dropped, and the connection kept, as Mosquitto does: MQTT 3.1.1 has no refusal code
          // for a PUBLISH, and an ESPHome node publishes its retained discovery message on every
          // connect, which would otherwise cut it off before its first reading, forever.
          const why = this.publishNotAllowed(device, packet.topic, packet.retain);
          this.refuse(
            'publish_not_allowed',
            { action: 'publish', username: device, clientId: client.id, topic: packet.topic, why },
            () => `dropped a publish of ${who(client)}`,
          );
          packet.topic = REFUSED_TOPIC;
          packet.payload = Buffer.alloc(0);
          packet.retain = false;
          return done(null);
        }
        // A QoS 2 retransmission (DUP, same packet id before PUBREL) is taken once [MQTT-4.3.3-2]:
        // aedes' own duplicate check comes after this hook, and two copies in one read even pass it.
        if (packet.qos === 2 && !this.sessions.firstQoS2(client.id, packet.messageId ?? -1)) {
          this.refuse(
            'qos2_duplicate',
            { action: 'publish', username: device, clientId: client.id, topic: packet.topic, why: `QoS 2 packet ${packet.messageId} again, taken once` },
            () => `took a retransmission of ${who(client)} once`,
          );
          // its PUBREC still waits until what the first copy carried is durable
          return this.opts.whenDurable(() => done(null));
        }
        // Device messages are taken here, not in `published`: aedes 1.2 writes a QoS 1 PUBACK
        // before it publishes (lib/handlers/publish.js), so only this hook can hold the PUBACK
        // until the reading is durable; and it runs before delivery to subscribers, so a slow
        // subscriber can never hold up ingest. Wills pass through here too.
        const isDevice = this.opts.onDeviceMessage(packet.topic, packet.payload as Buffer, false);
        // nobody to deliver it to, now or later (no live or kept filter matches; a retained
        // message is kept for subscribers to come): aedes need not route it (routeOnlyWhenSubscribed)
        if (isDevice && this.shortcut && !packet.retain && !this.subscriptions.anyMatch(packet.topic)) {
          (packet as TakenPacket)[TAKEN] = true;
          this.unrouted++;
        }
        if (isDevice && packet.qos > 0) this.opts.whenDurable(() => done(null));
        else done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const device = (client as TendClient).tendDevice ?? null;
        if (!auth.maySubscribe(device, sub.topic)) {
          this.refuse(
            'subscribe_not_allowed',
            { action: 'subscribe', username: device, clientId: client.id, topic: sub.topic, why: 'not allowed to read this topic' },
            () => `refused a subscribe of ${who(client)}`,
          );
          return done(null, null); // SUBACK 0x80 (MQTT-3.9.3)
        }
        done(null, sub);
      },
      // a reader's `tend/<v>/#` matches device topics too: those are never sent to a reader
      authorizeForward: (client, packet) => (auth.mayForward((client as TendClient).tendDevice ?? null, packet.topic) ? packet : null),
      // device messages were already taken in authorizePublish
      published: (_packet, _client, done) => done(),
    };
    // mqtt-packet writes packet ids from 65,536 two-byte Buffers it makes at the first packet:
    // ~6 MB of heap a gateway with a few dozen devices never needs; an id made as it is written
    // costs a 2-byte allocation (docs/benchmarks.md, memory)
    mqttPacket.writeToStream.cacheNumbers = false;
    const aedes = await Aedes.createBroker(options);
    routeOnlyWhenSubscribed(aedes, this.subscriptions);
    this.aedes = aedes;
    // bounded queues for persistent sessions in place of aedes' unbounded ones (sessions.ts)
    const persistence = persistenceOf(this.aedes);
    if (persistence) this.sessions.install(persistence);
    // an away session's subscriptions live in the persistence: without them seen, route everything
    const store = persistence as unknown as Partial<SubscriptionStore> | null;
    if (
      store &&
      typeof store.addSubscriptions === 'function' &&
      typeof store.removeSubscriptions === 'function' &&
      typeof store.cleanSubscriptions === 'function'
    ) {
      this.subscriptions.install(store as SubscriptionStore);
      this.shortcut = true;
    }
    if (!persistence) {
      log.warn('aedes has no persistence object (aedes changed?): persistent sessions are not bounded, QoS 2 retransmissions are not told apart');
    }
    // the protections below patch aedes internals; a newer aedes without them is said out loud once
    for (const warning of probeAedesInternals(this.aedes)) log.warn(warning);
    this.aedes.on('client', (client) => this.clientIds.connected(client.id, (client as TendClient).tendDevice ?? null, client.clean, client));
    this.aedes.on('clientDisconnect', (client) => this.clientIds.disconnected(client.id, client, this.clock.now()));
    this.aedes.on('clientError', (_client, err) => {
      this.clientErrors++;
      log.limited('client error', () => `client error: ${err.message}`);
    });
    this.aedes.on('connectionError', (_client, err) => {
      this.clientErrors++;
      log.limited('connection error', () => `connection error: ${err.message}`);
    });
    this.sweep = setInterval(() => {
      this.expireSessions().catch((err: Error) => log.limited('session expiry', () => `session expiry failed: ${err.message}`, 'error'));
    }, EXPIRY_SWEEP_MS);
    this.sweep.unref();
    const handle = (conn: import('node:stream').Duplex) => {
      const client = aedes.handle(conn as never) as unknown as { _parser?: PacketParser };
      guardPacketSize(client._parser, conn, MAX_PACKET_BYTES, (size) => {
        this.clientErrors++;
        log.limited('oversized packet', () => `oversized packet: closed a connection sending a ${size}-byte packet (limit ${MAX_PACKET_BYTES})`);
      });
      neverWaitForSubscriber(client as unknown as Deliverers, conn, MAX_SUBSCRIBER_BACKLOG_BYTES, (bytes) => {
        this.clientErrors++;
        log.limited('slow subscriber', () => `slow subscriber: dropped a subscriber that stopped reading (${bytes} bytes unsent)`);
      });
    };
    // TLS is loaded only by a village that configures it: most brokers here are plain TCP on the LAN.
    // noDelay: MQTT packets are small and each is one someone waits for (a PUBACK, an alert to a
    // signboard); under Nagle's algorithm a packet written while the one before is not yet
    // acknowledged waits for the peer's delayed ACK, up to 40 ms on Linux.
    this.server = this.opts.tls
      ? (await import('node:tls')).createServer(
          { cert: readFileSync(this.opts.tls.cert_file), key: readFileSync(this.opts.tls.key_file), noDelay: true },
          handle,
        )
      : createTcpServer({ noDelay: true }, handle);
    await listen(this.server, this.opts.port, this.opts.host);
    this.server.on('error', (err) => {
      this.lastError = err.message;
      log.limited('server error', () => `server error: ${err.message}`, 'error');
    });
    const addr = this.server.address() as { port: number; address: string };
    this.port = addr.port;
    this.address = `${this.opts.tls ? 'mqtts' : 'mqtt'}://${hostPort(this.opts.host, addr.port)}`;
    this.since = new Date().toISOString();
  }

  /**
   * Remove the persistent sessions whose client has been away longer than the expiry: their
   * subscriptions, queued messages and inbound QoS 2 state. Runs every minute; returns the ids.
   */
  async expireSessions(): Promise<string[]> {
    const aedes = this.aedes;
    if (!aedes) return [];
    const ids = this.clientIds.expire(this.clock.now(), this.opts.sessionExpiryMs ?? DEFAULT_SESSION_EXPIRY_MS);
    const persistence = persistenceOf(aedes);
    let messages = 0;
    for (const id of ids) {
      messages += this.sessions.dropSession(id);
      await persistence?.cleanSubscriptions({ id });
      await persistence?.cleanIncoming?.({ id });
    }
    if (ids.length) {
      this.log.info(`removed ${ids.length} persistent session(s) whose client stayed away too long, with ${messages} queued message(s)`);
    }
    return ids;
  }

  /** messages queued for persistent sessions */
  queuedMessages(): number {
    return this.sessions.queued();
  }

  /** messages queued for one session, read back through aedes' persistence as aedes reads them */
  async queuedFor(clientId: string): Promise<number> {
    const p = this.aedes ? persistenceOf(this.aedes) : null;
    if (!p) return 0;
    let n = 0;
    for await (const _ of p.outgoingStream({ id: clientId })) n++;
    return n;
  }

  refusedCounts(): [RefuseReason, number][] {
    return [...this.refused];
  }

  /** refusals per device, action and reason: [device, action, reason, count] */
  refusedByDevice(): [device: string, action: RefuseAction, reason: string, count: number][] {
    return this.refusals.counted();
  }

  /** each configured device's last refusal */
  lastRefusals(): ReadonlyMap<string, DeviceRefusal> {
    return this.refusals.lastByDevice();
  }

  /**
   * Why `account` may not use this client id, or null when it may. A client id belongs to its
   * account: the username itself or `<username>-…` (of devices `tank` and `tank-north`,
   * `tank-north-1` is tank-north's: the longest device id wins). Taking another's id would
   * disconnect it [MQTT-3.1.4-2] (its will fires, its sensors go offline) or take over its session.
   * An empty id on a clean session gets one aedes makes up, which nobody else can name. Anonymous
   * clients (allow_anonymous) may use an id outside every device's that no other account holds.
   */
  private clientIdNotOwn(account: string | null, raw: string, clientId: string): string | null {
    if (raw === '') return null;
    const owner = this.opts.auth.ownerOfClientId(clientId);
    if (account === null) {
      if (owner !== undefined) return `client id belongs to device ${owner}`;
      const holder = this.clientIds.accountOf(clientId);
      return holder !== undefined && holder !== null ? 'client id belongs to another account' : null;
    }
    if (owner !== undefined && owner !== account) return `client id belongs to device ${owner}`;
    if (clientId !== account && !clientId.startsWith(`${account}-`)) return `client id must be "${account}" or start with "${account}-"`;
    return null;
  }

  /** In words, why `device` may not publish to `topic`: the installer's usual mistakes first. */
  private publishNotAllowed(device: string | null, topic: string, retain: boolean): string {
    const m = /^tend\/([^/]+)\/dev\/([^/]+)\/([^/]+)$/.exec(topic);
    const village = this.opts.village;
    if (this.opts.auth.isReader(device)) return 'a reader account publishes nothing';
    if (!m) return 'not a topic this client may publish to';
    if (village !== undefined && m[1] !== village) return `topic is under village "${m[1]?.slice(0, 64)}", this village is "${village}"`;
    if (device !== null && m[2] !== device) return `topic is under device "${m[2]?.slice(0, 64)}", not this login's "${device}"`;
    if (m[3] === 'reading' && retain) return 'a reading may not be retained';
    return 'not a topic this client may publish to';
  }

  droppedCounts(): [DropReason, number][] {
    return [...this.sessions.dropped];
  }

  publish: Publish = (topic, payload, opts = {}) => {
    this.aedes?.publish(
      {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos: opts.qos ?? 0,
        retain: opts.retain ?? false,
        dup: false,
      },
      (err) => {
        if (err) this.log.error(`publish to ${topic} failed: ${err.message}`);
      },
    );
  };

  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  link(): LinkStatus {
    return {
      name: 'embedded broker',
      kind: 'broker',
      state: this.server?.listening ? 'listening' : 'disconnected',
      last_error: this.lastError,
      since: this.since,
    };
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = null;
    this.aedes = null;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    // aedes first: it closes the client sockets, which lets the server's close complete
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** aedes' persistence (its documented `persistence` option, by default the memory store); not in its types */
function persistenceOf(aedes: Aedes): AedesPersistence | null {
  const p = (aedes as unknown as { persistence?: AedesPersistence }).persistence;
  return p && typeof p.outgoingEnqueueCombi === 'function' && typeof p.incomingDelPacket === 'function' ? p : null;
}

/** the client's remote address, as the backoff and the log lines key it */
function remoteAddress(client: Client): string {
  return (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? '(unknown)';
}

/**
 * Close a connection as soon as its next packet announces (or buffers) more than `max` bytes,
 * instead of letting aedes' parser collect it. Wraps the per-connection parser's parse(); after
 * each chunk the parser knows the remaining length of the packet it is waiting for.
 */
function guardPacketSize(parser: PacketParser | undefined, conn: import('node:stream').Duplex, max: number, refused: (size: number) => void): void {
  // missing in a changed aedes: start() has said so (probeAedesInternals)
  if (!parser || typeof parser.parse !== 'function') return;
  const parse = parser.parse.bind(parser);
  parser.parse = (buf: Buffer) => {
    const left = parse(buf);
    const announced = parser.packet?.length ?? -1;
    const buffered = parser._list?.length ?? 0;
    if (announced > max || buffered > max + 8) {
      refused(Math.max(announced, buffered));
      conn.destroy();
      return 0;
    }
    return left;
  };
}

/**
 * aedes completes a delivery only when the subscriber's socket drains, and a publish completes
 * only when every delivery has: one frozen subscriber would hold every publisher (and ingest)
 * until drainTimeout. Here each delivery is written as before but completes at once; the
 * subscriber's own socket buffer holds its backlog, bounded by `max` (then it is dropped), and
 * aedes' drainTimeout still drops a subscriber that never drains. Like Mosquitto, a slow
 * subscriber queues for itself instead of slowing the publishers.
 */
function neverWaitForSubscriber(client: Deliverers, conn: import('node:stream').Duplex, max: number, dropped: (bytes: number) => void): void {
  // missing in a changed aedes: start() has said so (probeAedesInternals)
  if (typeof client.deliver0 !== 'function' || typeof client.deliverQoS !== 'function') return;
  const noop = () => {};
  for (const key of ['deliver0', 'deliverQoS'] as const) {
    const deliver = client[key];
    client[key] = function (this: unknown, packet, cb) {
      if (conn.writableLength > max && !conn.destroyed) {
        dropped(conn.writableLength);
        conn.destroy();
      }
      // aedes' own bookkeeping still runs (a QoS 1 message for a persistent session is kept
      // for the subscriber's return even when its connection is gone)
      deliver.call(this, packet, noop);
      setImmediate(cb);
    };
  }
}
