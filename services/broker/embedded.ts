// The embedded MQTT broker (aedes) that `tend demo` and small villages run in-process.
// It authenticates devices, enforces their topic prefixes, and hands device messages to the
// MQTT adapter. A QoS 1 reading's PUBACK goes out only after the reading is durable in SQLite.
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { LinkStatus } from '../types.ts';
import { DeviceAuth, MAX_CLIENT_ID_LENGTH } from './auth.ts';

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
    const { auth, log } = this.opts;
    const options: AedesOptions = {
      // a frozen subscriber (signboard on a bad link) is dropped after this, instead of stalling others
      drainTimeout: 10_000,
      queueLimit: 200,
      maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
      connectTimeout: 10_000,
      authenticate: (client, username, password, done) => {
        const c = client as TendClient;
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
        done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const device = (client as TendClient).tendDevice ?? null;
        if (!auth.maySubscribe(device, sub.topic)) return done(null, null); // SUBACK 0x80 (MQTT-3.9.3)
        done(null, sub);
      },
      published: (packet, client, done) => {
        if (!client) return done();
        const isDevice = this.opts.onDeviceMessage(packet.topic, packet.payload as Buffer);
        if (isDevice && packet.qos > 0) this.opts.whenDurable(() => done());
        else done();
      },
    };
    this.aedes = await Aedes.createBroker(options);
    this.aedes.on('clientError', (_client, err) => {
      this.clientErrors++;
      log?.(`broker: client error: ${err.message}`);
    });
    this.aedes.on('connectionError', (_client, err) => {
      this.clientErrors++;
      log?.(`broker: connection error: ${err.message}`);
    });
    const handle = this.aedes.handle.bind(this.aedes);
    this.server = this.opts.tls
      ? createTlsServer({ cert: readFileSync(this.opts.tls.cert_file), key: readFileSync(this.opts.tls.key_file) }, handle)
      : createTcpServer(handle);
    await new Promise<void>((resolve, reject) => {
      const s = this.server!;
      s.once('error', reject);
      s.listen(this.opts.port, this.opts.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    this.server.on('error', (err) => {
      this.lastError = err.message;
      log?.(`broker: server error: ${err.message}`);
    });
    const addr = this.server.address() as { port: number; address: string };
    this.port = addr.port;
    this.address = `${this.opts.tls ? 'mqtts' : 'mqtt'}://${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${addr.port}`;
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
