// The embedded MQTT broker (aedes) that `tend demo` and small villages run in-process.
// It authenticates devices, enforces their topic prefixes, and hands device messages to the
// MQTT adapter. A QoS 1 reading's PUBACK goes out only after the reading is durable in SQLite.
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import type { LinkStatus } from '../../core/types.ts';
import { type DeviceAuth, MAX_CLIENT_ID_LENGTH } from './auth.ts';
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
  /** a device message arrived; return false if the topic is not a device topic */
  onDeviceMessage: (topic: string, payload: Buffer) => boolean;
  /** called for QoS ≥ 1 device messages: `done` when the reading is durable (gates the PUBACK) */
  whenDurable: (done: () => void) => void;
  log?: LogSink;
}

type TendClient = Client & { tendDevice?: string | null };

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
  address = '';
  port = 0;
  clientErrors = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.log = moduleLog(opts.log, 'broker');
  }

  async start(): Promise<void> {
    const { auth } = this.opts;
    // an attacker (or 500 devices losing power at once) must not flood the log: one line per
    // kind every 10 s, with a count of the ones left out
    const log = this.log;
    const options: AedesOptions = {
      // a frozen subscriber (signboard on a bad link) is dropped after this, instead of stalling others
      drainTimeout: 10_000,
      queueLimit: 200,
      maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
      connectTimeout: 10_000,
      authenticate: (client, username, password, done) => {
        const c = client as TendClient;
        // aedes applies maxClientsIdLength to MQTT 3.1 only; refuse overlong ids on 3.1.1 too
        // (CONNACK 2, identifier rejected: MQTT 3.1.1 §3.2.2.3)
        if ((client.id ?? '').length > MAX_CLIENT_ID_LENGTH) {
          return done(Object.assign(new Error('client id too long'), { returnCode: 2 as const }) as never, false);
        }
        if (!username && !password && auth.anonymousAllowed) {
          c.tendDevice = null;
          return done(null, true);
        }
        auth.check(username, password).then(
          (ok) => {
            if (ok) {
              c.tendDevice = username ?? null;
              return done(null, true);
            }
            const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
            done(err as never, false);
          },
          (e) => done(Object.assign(e as Error, { returnCode: 3 as const }) as never, false),
        );
      },
      authorizePublish: (client, packet, done) => {
        // client is null for the broker's own publishes (the village outputs)
        if (client === null) return done(null);
        const device = (client as TendClient).tendDevice ?? null;
        if (!auth.mayPublish(device, packet.topic, packet.retain)) {
          return done(new Error(`publish to ${packet.topic} not allowed for ${device ?? 'anonymous'}`));
        }
        // Device messages are taken here, not in `published`: aedes 1.2 writes a QoS 1 PUBACK
        // before it publishes (lib/handlers/publish.js), so only this hook can hold the PUBACK
        // until the reading is durable; and it runs before delivery to subscribers, so a slow
        // subscriber can never hold up ingest. Wills pass through here too.
        const isDevice = this.opts.onDeviceMessage(packet.topic, packet.payload as Buffer);
        if (isDevice && packet.qos > 0) this.opts.whenDurable(() => done(null));
        else done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const device = (client as TendClient).tendDevice ?? null;
        if (!auth.maySubscribe(device, sub.topic)) return done(null, null); // SUBACK 0x80 (MQTT-3.9.3)
        done(null, sub);
      },
      // device messages were already taken in authorizePublish
      published: (_packet, _client, done) => done(),
    };
    this.aedes = await Aedes.createBroker(options);
    // the protections below patch aedes internals; a newer aedes without them is said out loud once
    for (const warning of probeAedesInternals(this.aedes)) log.warn(warning);
    this.aedes.on('clientError', (_client, err) => {
      this.clientErrors++;
      log.limited('client error', () => `client error: ${err.message}`);
    });
    this.aedes.on('connectionError', (_client, err) => {
      this.clientErrors++;
      log.limited('connection error', () => `connection error: ${err.message}`);
    });
    const aedes = this.aedes;
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
    this.server = this.opts.tls
      ? createTlsServer({ cert: readFileSync(this.opts.tls.cert_file), key: readFileSync(this.opts.tls.key_file) }, handle)
      : createTcpServer(handle);
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
    // aedes first: it closes the client sockets, which lets the server's close complete
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
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
