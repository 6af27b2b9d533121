// The embedded MQTT broker (aedes) that `tend demo` and small villages run in-process.
// It authenticates devices, enforces their topic prefixes, and hands device messages to the
// MQTT adapter. A QoS 1 reading's PUBACK goes out only after the reading is durable in SQLite.
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { LinkStatus } from '../../core/types.ts';
import { DeviceAuth, MAX_CLIENT_ID_LENGTH } from './auth.ts';
import { hostPort, listen } from '../../core/listen.ts';
import { rateLimitedLog } from '../../core/log.ts';

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
  log?: (msg: string) => void;
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
interface Deliverers { deliver0: Deliver; deliverQoS: Deliver }

/** the part of aedes' per-connection mqtt-packet parser the size guard reads */
interface PacketParser {
  parse(buf: Buffer): number;
  packet: { length: number };
  _list?: { length: number };
}

export class EmbeddedBroker {
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private since = new Date().toISOString();
  private lastError: string | null = null;
  address = '';
  port = 0;
  clientErrors = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  async start(): Promise<void> {
    const { auth } = this.opts;
    // an attacker (or 500 devices losing power at once) must not flood the log: one line per
    // kind every 10 s, with a count of the ones left out
    const limited = rateLimitedLog(this.opts.log, { now: () => Date.now() });
    const log = (msg: string) => limited(msg.split(':', 2).join(':').slice(0, 40), () => msg);
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
        auth.check(username, password).then((ok) => {
          if (ok) {
            c.tendDevice = username ?? null;
            return done(null, true);
          }
          const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
          done(err as never, false);
        }, (e) => done(Object.assign(e as Error, { returnCode: 3 as const }) as never, false));
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
    this.aedes.on('clientError', (_client, err) => {
      this.clientErrors++;
      log(`broker: client error: ${err.message}`);
    });
    this.aedes.on('connectionError', (_client, err) => {
      this.clientErrors++;
      log(`broker: connection error: ${err.message}`);
    });
    const aedes = this.aedes;
    const handle = (conn: import('node:stream').Duplex) => {
      const client = aedes.handle(conn as never) as unknown as { _parser?: PacketParser };
      guardPacketSize(client._parser, conn, MAX_PACKET_BYTES, (size) => {
        this.clientErrors++;
        log(`broker: oversized packet: closed a connection sending a ${size}-byte packet (limit ${MAX_PACKET_BYTES})`);
      });
      neverWaitForSubscriber(client as unknown as Deliverers, conn, MAX_SUBSCRIBER_BACKLOG_BYTES, (bytes) => {
        this.clientErrors++;
        log(`broker: slow subscriber: dropped a subscriber that stopped reading (${bytes} bytes unsent)`);
      });
    };
    this.server = this.opts.tls
      ? createTlsServer({ cert: readFileSync(this.opts.tls.cert_file), key: readFileSync(this.opts.tls.key_file) }, handle)
      : createTcpServer(handle);
    await listen(this.server, this.opts.port, this.opts.host);
    this.server.on('error', (err) => {
      this.lastError = err.message;
      log(`broker: server error: ${err.message}`);
    });
    const addr = this.server.address() as { port: number; address: string };
    this.port = addr.port;
    this.address = `${this.opts.tls ? 'mqtts' : 'mqtt'}://${hostPort(this.opts.host, addr.port)}`;
    this.since = new Date().toISOString();
  }

  publish: Publish = (topic, payload, opts = {}) => {
    this.aedes?.publish({
      cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false,
    }, (err) => {
      if (err) this.opts.log?.(`broker: publish to ${topic} failed: ${err.message}`);
    });
  };

  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  link(): LinkStatus {
    return { name: 'embedded broker', kind: 'broker', state: this.server?.listening ? 'listening' : 'disconnected', last_error: this.lastError, since: this.since };
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
