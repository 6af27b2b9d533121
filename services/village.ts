// The composition root: builds every stage of one village and wires them in one direction.
//
//   devices ─► transports (firmware-bridge: MQTT via broker, serial, firmata)
//           ─► Ingest (validate, map to sensor, calibrate)          services/ingest/
//           ─► Reserve (latest values, windows, status)            services/reserve/
//           ─► Alerting (rules → alerts → incidents → prompts)      services/alerts/, services/assembly/
//           ─► outputs: retained MQTT topics, web page/SSE, webhooks, history outbox, federation
//
// Hardware and network endpoints come in through the config and options, so each stage can be
// tested with a real counterpart on loopback.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { DeviceMessages } from '../firmware-bridge/mqtt/device-messages.ts';
import { topics } from '../firmware-bridge/protocol/topics.ts';
import type { TransportHandle } from '../core/transport.ts';
import { DeviceAuth } from './broker/auth.ts';
import { EmbeddedBroker, type Publish } from './broker/embedded.ts';
import { ExternalBroker } from './broker/external.ts';
import { VillageEventHub } from './events.ts';
import { Ingest, metricOf } from './ingest/ingest.ts';
import { Reserve } from './reserve/reserve.ts';
import { Alerting } from './alerts/alerting.ts';
import { startWebhooks } from './assembly/webhooks.ts';
import { startSpeech } from './assembly/speech.ts';
import { History } from './history/index.ts';
import { Federation } from './federation/federation.ts';
import { startSerialDevice } from '../firmware-bridge/serial/serial-device.ts';
import { startFirmataBoard } from '../firmware-bridge/firmata/firmata-board.ts';
import { Storage } from './storage.ts';
import { systemClock, type Clock, type LinkStatus, type ReserveStatus, type SensorHealth } from '../core/types.ts';
import { createMetrics } from './web/metrics.ts';
import { WebServer } from './web/server.ts';

export interface StartOptions {
  config: Config;
  clock?: Clock;
  /** overrides config.storage.dir */
  storageDir?: string;
  /** override ports (0 = any free port) */
  webPort?: number;
  brokerPort?: number;
  /** demo: when a configured port is taken, take a free one instead of failing */
  portFallback?: boolean;
  /** run without the web server (simulate, benches) */
  web?: boolean;
  /** recompute the status at most this often after a change (ms) */
  statusThrottleMs?: number;
  /** false: never recompute the status by itself; the caller calls refresh() (simulate) */
  autoStatus?: boolean;
  /** 1 s tick for staleness and time-weighted rules; off when a simulation drives the clock */
  tick?: boolean;
  log?: (msg: string) => void;
}

export interface Village {
  config: Config;
  clock: Clock;
  events: VillageEventHub;
  storage: Storage;
  ingest: Ingest;
  reserve: Reserve;
  alerting: Alerting;
  history: History;
  federation: Federation | null;
  /** mqtt://host:port of the broker devices talk to */
  brokerUrl: string;
  brokerPort: number;
  /** http://host:port of the page and API ('' without web) */
  webUrl: string;
  webPort: number;
  token: string;
  tokenFile: string;
  publish: Publish;
  status(): ReserveStatus;
  sensors(): SensorHealth[];
  links(): LinkStatus[];
  /** recompute the status now (and run the rules); returns it */
  refresh(): ReserveStatus;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly what: string, readonly host: string, readonly port: number) {
    super(`${what} port ${port} on ${host} is already in use; free it or choose another port in the config`);
    this.name = 'PortInUseError';
  }
}

export async function startVillage(opts: StartOptions): Promise<Village> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`));
  const storageDir = resolve(opts.storageDir ?? config.storage.dir);
  const storage = new Storage(storageDir);
  const storageSince = new Date(clock.now()).toISOString();
  const events = new VillageEventHub();
  const v = config.village.id;
  const stoppers: (() => Promise<void> | void)[] = [];
  const transports: TransportHandle[] = [];
  const reserve = new Reserve({ config, clock, storage });
  // a start that fails half way (a taken port) stops what it had started, and closes the file
  const stopAll = async () => {
    for (const t of transports) await t.stop();
    for (const stop of stoppers.reverse()) await stop();
    reserve.stop();
    storage.close();
  };
  try {
    // state
    reserve.start();

    // where readings enter
    const ingest = new Ingest({ config, clock, events, store: reserve, log });
    const deviceMessages = new DeviceMessages({ config, clock, sink: ingest, metricOf });
    // history: every accepted reading also goes into the outbox, in the same group commit
    // link states are known only once the transports exist below; until then there are none
    let currentLinks: () => LinkStatus[] = () => [];
    const history = new History({ config, clock, storage, events, log, links: () => currentLinks() });
    history.start();
    stoppers.push(() => history.stop());
    // each writer (reserve, history outbox, alerting) asks for the group commit when it queues rows
    const whenDurable = (done: () => void) => storage.commitSoon(() => done());

    // the broker devices talk to
    let brokerUrl: string;
    let brokerPort = 0;
    let publish: Publish;
    let brokerLink: () => LinkStatus;
    let brokerClients: () => number;
    if ('embedded' in config.broker) {
      const e = config.broker.embedded;
      const auth = new DeviceAuth(config, (d) => deviceMessages.sourceTopicsOf(d));
      const make = (port: number) => new EmbeddedBroker({
        host: e.host, port, auth, tls: e.tls, log, whenDurable,
        onDeviceMessage: (topic, payload) => deviceMessages.handle(topic, payload),
      });
      const broker = await startOnPort('MQTT broker', e.host, opts.brokerPort ?? e.port, make, opts.portFallback, log);
      brokerUrl = broker.address;
      brokerPort = broker.port;
      publish = broker.publish;
      brokerLink = () => broker.link();
      brokerClients = () => broker.connectedClients();
      stoppers.push(() => broker.stop());
    } else {
      const b = config.broker;
      const broker = new ExternalBroker({
        url: b.url, username: b.username, password: b.password, clientId: b.client_id ?? `tend-${v}`,
        subscriptions: deviceMessages.subscriptions(), log, whenDurable,
        onDeviceMessage: (topic, payload) => deviceMessages.handle(topic, payload),
      });
      await broker.start();
      brokerUrl = broker.address;
      publish = broker.publish;
      brokerLink = () => broker.link();
      brokerClients = () => broker.connectedClients();
      stoppers.push(() => broker.stop());
    }

    // serial and firmata devices (firmware-bridge/serial, firmware-bridge/firmata)
    for (const device of config.devices) {
      if (device.transport === 'serial') transports.push(startSerialDevice({ device, sink: ingest, clock, log }));
      if (device.transport === 'firmata') {
        const sensors = config.sensors.filter((s) => s.device === device.id);
        transports.push(startFirmataBoard({ device, sensors, sink: ingest, clock, log }));
      }
    }

    // federation: neighbours over a shared broker (off unless configured)
    const federation = config.federation ? new Federation({ config, clock, events, storage, log }) : null;
    if (federation) {
      federation.start();
      stoppers.push(() => federation.stop());
    }

    // alerts → incidents → assembly prompts, and their outputs
    // offers heard long ago or before our link went down stay in the prompt, marked as old news
    const neighbourOffers = federation
      ? () => federation.offers().map((o) => (o.stale ? { ...o, offer: `${o.offer} (heard ${o.heard_at.slice(0, 16).replace('T', ' ')} UTC; may be out of date)` } : o))
      : undefined;
    const alerting = new Alerting({ config, clock, storage, events, log, neighbours: neighbourOffers });
    alerting.start();
    stoppers.push(() => alerting.stop());
    // One evaluation can change several alerts; subscribers (signboards, sirens) get each change
    // of the retained lists once, not once per event.
    let lastAlerts = '';
    let lastAssembly = '';
    let outputsQueued = false;
    const publishOutputs = () => {
      outputsQueued = false;
      const a = JSON.stringify(alerting.alerts());
      if (a !== lastAlerts) publish(topics.alerts(v), (lastAlerts = a), { retain: true, qos: 1 });
      const p = JSON.stringify(alerting.prompts());
      if (p !== lastAssembly) publish(topics.assembly(v), (lastAssembly = p), { retain: true, qos: 1 });
    };
    const queueOutputs = () => {
      if (outputsQueued) return;
      outputsQueued = true;
      queueMicrotask(publishOutputs);
    };
    events.on('alert', queueOutputs);
    events.on('assembly', queueOutputs);
    publishOutputs();
    const webhooks = startWebhooks({ config, events, log });
    stoppers.push(() => webhooks.stop());
    if (config.alerts.speech) {
      const speech = startSpeech({ config, events, storageDir, log });
      stoppers.push(() => speech.stop());
    }

    // status: recomputed shortly after a change, and every second for staleness
    let current: ReserveStatus = { ...reserve.status({ rejected_total: 0 }), alerts: alerting.alerts(), assembly: alerting.prompts() };
    let lastPublished = '';
    const refresh = (): ReserveStatus => {
      const base = reserve.status({ rejected_total: ingest.rejectedTotal });
      // the rules see the status, then the status carries what they concluded
      alerting.evaluate({ ...base, alerts: current.alerts, assembly: current.assembly }, reserve.sensors());
      current = { ...base, alerts: alerting.alerts(), assembly: alerting.prompts() };
      events.emit('status', current);
      // republish only when something besides the time `at` changed
      const text = JSON.stringify(current);
      const content = text.replace(/"at":"[^"]*",/, '');
      if (content !== lastPublished) {
        lastPublished = content;
        publish(topics.reserve(v), text, { retain: true, qos: 1 });
      }
      return current;
    };
    // Leading edge: a reading after a quiet spell is computed at once (alert latency); under a
    // flood, at most one compute per throttle period (throughput).
    const throttle = opts.statusThrottleMs ?? 25;
    let pending: NodeJS.Timeout | null = null;
    let lastRefreshAt = -Infinity;
    // a simulation on its own clock computes the status itself (refresh()), never on its own
    const manual = opts.autoStatus === false || throttle >= 2 ** 31 - 1;
    const schedule = () => {
      if (pending || manual) return;
      const wait = Math.max(0, lastRefreshAt + throttle - performance.now());
      pending = setTimeout(() => {
        pending = null;
        lastRefreshAt = performance.now();
        refresh();
      }, wait);
    };
    events.on('reading', schedule);
    events.on('device', schedule);
    refresh();
    if (opts.tick !== false) {
      const tick = setInterval(refresh, 1000);
      stoppers.push(() => clearInterval(tick));
    }
    stoppers.push(() => { if (pending) clearTimeout(pending); });

    const links = (): LinkStatus[] => {
      const out = [brokerLink(), ...transports.map((t) => t.link())];
      if (federation) out.push(federation.link());
      const influx = history.link();
      if (influx) {
        out.push(influx);
        // the outbox says on the page how much history waits for InfluxDB, and whether any was dropped
        const h = history.stats();
        out.push({
          name: `history outbox: ${h.outbox_rows.toLocaleString('en')} points waiting`, kind: 'storage',
          state: h.dropped_total > 0 ? 'error' : 'connected',
          last_error: h.dropped_total > 0 ? `outbox full: ${h.dropped_total.toLocaleString('en')} oldest raw readings dropped (reserve totals and alerts kept)` : null,
          since: storageSince,
        });
      }
      out.push({ name: 'storage', kind: 'storage', state: storage.lastError ? 'error' : 'connected', last_error: storage.lastError, since: storageSince });
      return out;
    };

    currentLinks = links;

    // the web page and API
    const { token, file: tokenFile } = loadToken(config, storageDir);
    const metrics = createMetrics({
      village: v,
      accepted: () => [...ingest.accepted],
      rejected: () => ingest.rejectCounts(),
      clockReplaced: () => ingest.clockReplacedTotal,
      faults: () => ingest.faultCounts(),
      status: () => current,
      links,
      brokerClients,
      storageError: () => storage.lastError,
      extra: [
        ['tend_history_outbox_rows', 'Points waiting in the history outbox', () => history.stats().outbox_rows],
        ['tend_history_outbox_bytes', 'Bytes in the history outbox', () => history.stats().outbox_bytes],
        ['tend_history_dropped_total', 'Outbox points dropped because the outbox was full (oldest raw readings first)', () => history.stats().dropped_total],
        ['tend_history_written_total', 'Points written to InfluxDB', () => history.stats().written_total],
        ['tend_history_rejected_total', 'Points InfluxDB refused (4xx), set aside', () => history.stats().rejected_total],
        ['tend_alerts_active', 'Alerts pending or firing', () => current.alerts.length],
        ['tend_assembly_open', 'Open assembly prompts', () => current.assembly.length],
      ],
    });
    let web: WebServer | null = null;
    if (opts.web !== false) {
      const sensorIds = new Set(config.sensors.map((s) => s.id));
    const make = (port: number) => new WebServer({
        events, token, metrics, log,
        status: () => current,
        sensors: () => reserve.sensors(),
        links,
        history: (id, hours) => (sensorIds.has(id) ? reserve.history(id, clock.now() - hours * 3600_000) : null),
        health: () => ({ ok: true, village: v, storage: storage.lastError ?? 'ok', broker: brokerLink().state }),
        alerting,
        federation: federation ?? undefined,
      }, { host: config.web.host, port, tls: config.web.tls });
      const w = await startOnPort('web', config.web.host, opts.webPort ?? config.web.port, make, opts.portFallback, log);
      web = w;
      stoppers.push(() => w.stop());
    }

    let stopped = false;
    return {
      config, clock, events, storage, ingest, reserve, alerting, history, federation, brokerUrl, brokerPort, publish, token, tokenFile,
      webUrl: web?.url ?? '',
      webPort: web?.port ?? 0,
      status: () => current,
      sensors: () => reserve.sensors(),
      links,
      refresh,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Start a listener on its configured port. When the port is taken: with `fallback` (the demo) take
 * any free port and say so; otherwise fail with PortInUseError naming the port.
 */
async function startOnPort<T extends { start(): Promise<void>; stop(): Promise<void> }>(
  what: string, host: string, port: number, make: (port: number) => T, fallback: boolean | undefined, log: (m: string) => void,
): Promise<T> {
  const first = make(port);
  try {
    await first.start();
    return first;
  } catch (err) {
    await first.stop();
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (!fallback) throw new PortInUseError(what, host, port);
  }
  log(`${what}: port ${port} is taken, using a free port instead`);
  const other = make(0);
  await other.start();
  return other;
}

/** The write token: from web.token_file, created with a random token (mode 600) if missing. */
function loadToken(config: Config, storageDir: string): { token: string; file: string } {
  const file = resolve(config.web.token_file ?? join(storageDir, 'web-token'));
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file };
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}
