// The broker devices talk to, as the village uses it: the embedded aedes on a host and port, or
// an external broker by URL (Mosquitto, EMQX). Either way tend gets one handle: where devices
// connect, how to publish the retained outputs, and the link state.
import type { Config } from '../../config/schema.ts';
import { startOnPort } from '../../core/listen.ts';
import type { LogSink } from '../../core/log.ts';
import type { Clock, DeviceRefusal, LinkStatus } from '../../core/types.ts';
import type { DeviceMessages } from '../../firmware-bridge/mqtt/device-messages.ts';
import { topics } from '../../firmware-bridge/protocol/topics.ts';
import { DeviceAuth } from './auth.ts';
import { EmbeddedBroker, type Publish } from './embedded.ts';
import { ExternalBroker } from './external.ts';

export interface VillageBroker {
  /** mqtt://host:port devices connect to */
  address: string;
  /** the embedded broker's port (0 for an external broker) */
  port: number;
  publish: Publish;
  link(): LinkStatus;
  connectedClients(): number;
  /** the embedded broker's counts for /metrics; all zero for an external broker (it counts its own) */
  stats(): BrokerStats;
  stop(): Promise<void>;
}

export interface BrokerStats {
  /** logins and publishes refused, per reason */
  refused: [reason: string, count: number][];
  /** the same per device and action (the embedded broker only) */
  refusedByDevice?: [device: string, action: string, reason: string, count: number][];
  /** each device's last refusal (the embedded broker only) */
  lastRefusals?: ReadonlyMap<string, DeviceRefusal>;
  /** messages dropped from persistent sessions' queues, per reason */
  dropped: [reason: string, count: number][];
  /** messages queued for persistent sessions now */
  queued: number;
}

export interface BrokerStartOptions {
  config: Config;
  deviceMessages: DeviceMessages;
  /** called with `done` once what a device published is durable (the QoS 1 PUBACK waits for it) */
  whenDurable: (done: () => void) => void;
  log?: LogSink;
  /** override the embedded port (0 = any free port) */
  port?: number;
  /** the demo: when the port is taken, take a free one instead of failing */
  portFallback?: boolean;
  /** the village clock (login backoff, session expiry) */
  clock?: Clock;
}

export async function startVillageBroker(o: BrokerStartOptions): Promise<VillageBroker> {
  const { config, deviceMessages, whenDurable, log } = o;
  const onDeviceMessage = (topic: string, payload: Buffer, retained?: boolean) => deviceMessages.handle(topic, payload, retained);
  if ('embedded' in config.broker) {
    const e = config.broker.embedded;
    const { clock } = o;
    const auth = new DeviceAuth(config, (d) => deviceMessages.sourceTopicsOf(d), clock);
    const v = config.village.id;
    const make = (port: number) =>
      new EmbeddedBroker({
        host: e.host,
        port,
        auth,
        tls: e.tls,
        log,
        clock,
        whenDurable,
        onDeviceMessage,
        village: v,
        sessionExpiryMs: e.session_expiry_s === undefined ? undefined : e.session_expiry_s * 1000,
        // only the latest of each retained output matters to a session that is away
        latestOnlyTopics: [topics.reserve(v), topics.alerts(v), topics.assembly(v)],
      });
    const broker = await startOnPort('MQTT broker', e.host, o.port ?? e.port, make, o.portFallback, log ?? (() => {}));
    // tend's own status for readers (Home Assistant's availability); the broker ends with tend
    broker.publish(topics.tendStatus(v), 'online', { retain: true, qos: 1 });
    return {
      address: broker.address,
      port: broker.port,
      publish: broker.publish,
      link: () => broker.link(),
      connectedClients: () => broker.connectedClients(),
      stats: () => ({
        refused: broker.refusedCounts(),
        refusedByDevice: broker.refusedByDevice(),
        lastRefusals: broker.lastRefusals(),
        dropped: broker.droppedCounts(),
        queued: broker.queuedMessages(),
      }),
      stop: () => broker.stop(),
    };
  }
  const b = config.broker;
  const broker = new ExternalBroker({
    url: b.url,
    username: b.username,
    password: b.password,
    clientId: b.client_id ?? `tend-${config.village.id}`,
    subscriptions: deviceMessages.subscriptions(),
    log,
    whenDurable,
    onDeviceMessage,
    statusTopic: topics.tendStatus(config.village.id),
  });
  await broker.start();
  return {
    address: broker.address,
    port: 0,
    publish: broker.publish,
    link: () => broker.link(),
    connectedClients: () => broker.connectedClients(),
    stats: () => ({ refused: [], dropped: [], queued: 0 }),
    stop: () => broker.stop(),
  };
}
