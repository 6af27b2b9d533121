// The federation's MQTT connection: one client of the broker the villages share, its link state
// for the page and /metrics, and publishing with the broker's refusals counted.
//
// A stable client id and a persistent session (clean start false, a session expiry,
// [MQTT-3.1.2-4], MQTT 5 §3.1.2.11.2) keep QoS 1 messages across short cuts. The will says
// "offline" for us when the connection drops ([MQTT-3.1.2-8]). Reconnects back off from
// reconnectMinMs, doubling, to reconnectMaxMs; a bad password or a broker still starting is
// retried the same way, never given up.
import type { IClientOptions, MqttClient } from 'mqtt';
import type { FederationConfig } from '../../config/schema.ts';
import type { Clock, LinkStatus } from '../../core/types.ts';
import { Backoff } from '../../core/backoff.ts';
import type { Logger } from '../../core/log.ts';
import { FED_SUBSCRIPTIONS, fedTopic, type FedKind } from './topics.ts';

// mqtt.js is loaded with this module, which the village imports only when federation is configured
const { default: mqtt } = await import('mqtt');

/** What the link tells the federation; each is called on the link's own events. */
export interface LinkHandlers {
  /** (re)connected and subscribed: republish our latest news */
  connected(): void;
  /** the connection was lost (not on a clean stop) */
  down(): void;
  /** a message on one of the federation topics; `retained` is the flag as delivered ([MQTT-3.3.1-9]) */
  message(topic: string, payload: Buffer, retained: boolean): void;
}

export interface LinkOptions {
  village: string;
  fed: FederationConfig;
  clock: Clock;
  log: Logger;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connect?: typeof mqtt.connect;
  /** publishes the broker confirmed, and those it refused (MQTT 5 PUBACK reason ≥ 0x80); counted here */
  counts: { published: number; refused: number };
}

export class FederationLink {
  private client: MqttClient | null = null;
  private stopping = false;
  private up = false;
  private downAt: number | null = null;
  private state: LinkStatus;
  private readonly backoff: Backoff;

  constructor(
    private readonly opts: LinkOptions,
    private readonly on: LinkHandlers,
  ) {
    this.backoff = new Backoff({ first_ms: opts.reconnectMinMs, max_ms: opts.reconnectMaxMs });
    this.state = { name: 'federation', kind: 'federation', state: 'disconnected', last_error: null, since: this.iso() };
  }

  get connected(): boolean {
    return this.up;
  }

  /** epoch ms our link last went down, null if it never did (neighbours' news from before is stale) */
  get linkDownAt(): number | null {
    return this.downAt;
  }

  status(): LinkStatus {
    return { ...this.state };
  }

  start(): void {
    const { fed, village, log } = this.opts;
    this.stopping = false;
    const username = fed.username ?? village;
    if (username !== village) {
      log.warn(`username "${username}" is not the village id "${village}"; an ACL of fed/%u/# will refuse our news`);
    }
    const options: IClientOptions = {
      // not tend-<village>: that is the device connection's default, and a broker that sees one id twice drops the older
      clientId: fed.client_id ?? `tend-${village}-federation`,
      username,
      password: fed.password,
      protocolVersion: 5,
      // persistent session: the broker keeps our subscriptions and queued QoS 1 news across cuts
      clean: false,
      properties: { sessionExpiryInterval: fed.session_expiry_s ?? 86_400 },
      reconnectPeriod: this.opts.reconnectMinMs,
      connectTimeout: 10_000,
      // we subscribe ourselves on every connect (see onConnect)
      resubscribe: false,
      reconnectOnConnackError: true,
      will: { topic: fedTopic(village, 'link'), payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })), qos: 1, retain: true },
    };
    this.setState('connecting', null);
    const client = (this.opts.connect ?? mqtt.connect)(fed.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose(client));
    client.on('reconnect', () => {
      if (!this.stopping) this.setState('reconnecting', this.state.last_error);
    });
    client.on('error', (err) => {
      this.state.last_error = err.message;
      log.limited('link-error', () => err.message);
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.on.message(topic, payload, packet.retain === true);
      } catch (err) {
        // a neighbour's message must never take the village down
        log.limited('message', () => `could not take ${topic}: ${(err as Error).message}`, 'error');
      }
    });
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client || this.stopping) return;
    this.up = true;
    this.backoff.reset();
    client.options.reconnectPeriod = this.opts.reconnectMinMs;
    this.setState('connected', null);
    this.opts.log.info(`connected to ${this.opts.fed.url} as ${client.options.clientId}`);
    // subscribing again replays the retained news even when the session was resumed, so a
    // village converges on the neighbours' latest after any cut. No-local (MQTT 5 §3.8.3.1):
    // our own news need not come back.
    client.subscribe([...FED_SUBSCRIPTIONS], { qos: 1, nl: true }, (err) => {
      if (err) this.opts.log.limited('subscribe', () => `subscribe failed: ${err.message}`, 'error');
    });
    this.publish('link', { v: 1, state: 'online', at: this.iso() });
    this.on.connected();
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    const was = this.up;
    this.up = false;
    if (was) {
      this.downAt = this.opts.clock.now();
      this.opts.log.warn('link down; neighbours shown as last heard');
    }
    if (this.stopping) {
      this.setState('disconnected', null);
      return;
    }
    this.setState('reconnecting', this.state.last_error);
    // growing, capped delay; mqtt.js reads options.reconnectPeriod when it schedules a reconnect
    client.options.reconnectPeriod = this.backoff.next();
    if (was) this.on.down();
  }

  /** Publish retained at QoS 1; nothing while the link is down (the latest goes out on connect). */
  publish(kind: FedKind, body: object): void {
    const client = this.client;
    if (!client || !this.up) return;
    const topic = fedTopic(this.opts.village, kind);
    const log = this.opts.log;
    client.publish(topic, JSON.stringify(body), { qos: 1, retain: true }, (err) => {
      if (!err) {
        this.opts.counts.published++;
        return;
      }
      const code = (err as { code?: number }).code;
      if (typeof code === 'number' && code >= 0x80) {
        this.opts.counts.refused++;
        log.limited(
          `refused:${kind}`,
          () => `the broker refused ${topic}: ${err.message} (check that the login name is the village id and the ACL allows fed/%u/#)`,
          'error',
        );
      } else {
        // a cut while in flight: mqtt.js resends QoS 1 from its store, and we republish on connect
        log.limited(`publish:${kind}`, () => `publish ${topic} not confirmed: ${err.message}`);
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (this.up) {
      // a clean goodbye: neighbours see we left rather than guessing from silence
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(fedTopic(this.opts.village, 'link'), JSON.stringify({ v: 1, state: 'offline', at: this.iso() }), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.up = false;
    await Promise.race([client.endAsync(!client.connected), new Promise((r) => setTimeout(r, 3000))]);
    if (!client.disconnected) client.end(true);
    this.setState('disconnected', null);
  }

  private setState(state: LinkStatus['state'], lastError: string | null): void {
    if (this.state.state !== state) this.state.since = this.iso();
    this.state.state = state;
    this.state.last_error = lastError;
  }

  private iso(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }
}
