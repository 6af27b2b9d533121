// tend as a client of an external broker (Mosquitto, EMQX, VerneMQ): it subscribes to the
// device topics and publishes the village outputs. A stable client id and a persistent session
// (clean: false) make the broker keep QoS 1 readings for us while we reconnect (MQTT 3.1.2.4).
import type { MqttClient } from 'mqtt';
import type { LinkStatus } from '../../core/types.ts';
import type { Publish } from './embedded.ts';
import { Backoff } from '../../core/backoff.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';

export interface ExternalBrokerOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  subscriptions: string[];
  /** `retained`: the broker replayed it from its retained store (RETAIN 1 to a subscriber, [MQTT-3.3.1-8]) */
  onDeviceMessage: (topic: string, payload: Buffer, retained: boolean) => boolean;
  whenDurable: (done: () => void) => void;
  log?: LogSink;
  /** tend's own status topic: `online` (retained) on every connect, `offline` as the will and on stop */
  statusTopic?: string;
}

export class ExternalBroker {
  private client: MqttClient | null = null;
  private state: LinkStatus['state'] = 'connecting';
  private lastError: string | null = null;
  private since = new Date().toISOString();
  readonly address: string;
  private readonly log: Logger;
  /** the link's own errors read "broker mqtt://host:1883: …", so a village with two brokers tells them apart */
  private readonly linkLog: Logger;

  constructor(private readonly opts: ExternalBrokerOptions) {
    this.address = opts.url;
    this.log = moduleLog(opts.log, 'broker');
    this.linkLog = moduleLog(opts.log, `broker ${opts.url}`);
  }

  /** Resolves once connected the first time; later drops reconnect in the background (1 s → 30 s). */
  async start(): Promise<void> {
    const { opts } = this;
    // mqtt.js is loaded only by a village on an external broker (the embedded one needs none of it)
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(opts.url, {
      clientId: opts.clientId,
      clean: false,
      username: opts.username,
      password: opts.password,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // readers (Home Assistant's availability) learn from the broker that tend is gone
      will: opts.statusTopic ? { topic: opts.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true } : undefined,
    });
    // mqtt.js acks a QoS 1 message when handleMessage calls back; hold it until durable.
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      // RETAIN 1 reaches a subscriber only for a copy from the retained store, sent because a
      // subscription was made (ours, at every connect); a live message arrives with RETAIN 0
      // however it was published [MQTT-3.3.1-9]. Such a copy is the last value kept, not a live one.
      const isDevice = opts.onDeviceMessage(packet.topic, payload, packet.retain === true);
      if (isDevice && packet.qos > 0) opts.whenDurable(() => callback());
      else callback();
    };
    // 1 s, 2 s, 4 s … 30 s between attempts, the same growth as a serial device's
    const backoff = new Backoff();
    client.on('connect', () => {
      backoff.reset();
      client.options.reconnectPeriod = backoff.next();
      this.set('connected', null);
      if (opts.statusTopic) client.publish(opts.statusTopic, 'online', { qos: 1, retain: true });
      // a persistent session keeps subscriptions, but subscribing again is harmless and covers
      // a broker that lost its session store
      const subs = Object.fromEntries(opts.subscriptions.map((t) => [t, { qos: 1 as const }]));
      client.subscribe(subs, (err) => {
        if (err) this.set('error', `subscribe failed: ${err.message}`);
      });
    });
    client.on('reconnect', () => {
      client.options.reconnectPeriod = backoff.next();
      this.set('reconnecting', this.lastError);
    });
    client.on('error', (err) => {
      this.set('error', err.message);
      // once per attempt at most, and the attempts back off to one in 30 s
      this.linkLog.warn(err.message);
    });
    client.on('offline', () => this.set('reconnecting', this.lastError));
    this.client = client;
    await new Promise<void>((resolve) => {
      if (client.connected) return resolve();
      client.once('connect', () => resolve());
      // do not block start-up forever: monitoring goes on and the link shows as reconnecting
      setTimeout(resolve, 5000).unref();
    });
  }

  publish: Publish = (topic, payload, o = {}) => {
    this.client?.publish(topic, payload, { retain: o.retain ?? false, qos: o.qos ?? 0 }, (err) => {
      if (err) this.log.error(`publish to ${topic} failed: ${err.message}`);
    });
  };

  connectedClients(): number {
    return this.client?.connected ? 1 : 0;
  }

  private set(state: LinkStatus['state'], err: string | null): void {
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
    this.lastError = err;
  }

  link(): LinkStatus {
    return { name: `broker ${this.opts.url}`, kind: 'mqtt', state: this.state, last_error: this.lastError, since: this.since };
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c && this.opts.statusTopic && c.connected) {
      // a stop says so at once; a broker that does not answer in 2 s hears the will instead
      const said = c.publishAsync(this.opts.statusTopic, 'offline', { qos: 1, retain: true }).catch(() => {});
      await Promise.race([said, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    if (c) await c.endAsync();
  }
}
