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
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { DeviceMessages } from '../firmware-bridge/mqtt/device-messages.ts';
import { topics } from '../firmware-bridge/protocol/topics.ts';
import type { TransportHandle } from '../core/transport.ts';
import type { Publish } from './broker/embedded.ts';
import { startVillageBroker } from './broker/start.ts';
import { VillageEventHub } from './events.ts';
import { startOnPort } from '../core/listen.ts';

// the CLI tells a taken port apart from other start-up failures
export { PortInUseError } from '../core/listen.ts';
import { Ingest, metricOf } from './ingest/ingest.ts';
import { ManualReadings } from './ingest/manual.ts';
import { strappingSource } from './strapping.ts';
import { Reserve } from './reserve/reserve.ts';
import { AlertBook } from './alerts/book.ts';
import { Assembly } from './assembly/assembly.ts';
import { StatusLoop } from './status-loop.ts';
import { PlanFollower } from './reserve/plan.ts';
import { startWebhooks } from './assembly/webhooks.ts';
import { History } from './history/index.ts';
import type { Federation } from './federation/federation.ts';
import { Storage } from './storage.ts';
import { systemClock, type Clock, type LinkStatus, type ReserveStatus, type SensorHealth } from '../core/types.ts';
import { createMetrics } from './web/metrics.ts';
import { stderrSink, type LogSink } from '../core/log.ts';
import { WebServer } from './web/server.ts';
import { loadToken } from './web/token.ts';
import { BackupSchedule, backupLink } from './backup.ts';
import { startHomeAssistant } from './homeassistant.ts';

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
  /** where log lines go (default: stderr with time and level) */
  log?: LogSink;
  /** how the federation link connects (default mqtt.connect); `tend simulate storm` hands in its in-process broker's */
  federationConnect?: import('./federation/federation.ts').FederationOptions['connect'];
}

export interface Village {
  config: Config;
  clock: Clock;
  events: VillageEventHub;
  storage: Storage;
  ingest: Ingest;
  reserve: Reserve;
  alerts: AlertBook;
  assembly: Assembly;
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

export async function startVillage(opts: StartOptions): Promise<Village> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? stderrSink();
  const storageDir = resolve(opts.storageDir ?? config.storage.dir);
  // a damaged file is moved aside and a read-only dir runs in memory: storage never stops a start
  const storage = new Storage(storageDir, { log, clock });
  const storageSince = new Date(clock.now()).toISOString();
  const events = new VillageEventHub(log);
  // every accepted reading is counted as held in memory until a commit puts it on disk
  events.on('reading', () => storage.readingAccepted(), 'storage');
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
    // readings people enter (a dipstick, a meter) take ingest's path with source 'manual'
    const manual = new ManualReadings({ config, clock, events, ingest, storage, log });
    manual.start();
    stoppers.push(() => manual.stop());
    const deviceMessages = new DeviceMessages({ config, clock, sink: ingest, metricOf });
    // history: every accepted reading also goes into the outbox, in the same group commit
    // link states are known only once the transports exist below; until then there are none
    let currentLinks: () => LinkStatus[] = () => [];
    const history = new History({ config, clock, storage, events, log, links: () => currentLinks() });
    history.start();
    stoppers.push(() => history.stop());
    // each writer (reserve, history outbox, alerting) asks for the group commit when it queues rows.
    // A QoS 1 PUBACK waits for that commit. When the commit fails (disk full, read-only) the PUBACK
    // still goes out: the reading is then held in memory, counted in storage.heldReadings (on
    // /healthz, /metrics and the page) and written when the disk takes writes again. Holding PUBACKs
    // back instead would fill each device's in-flight window and stop its readings, and with them
    // the monitoring, for as long as the disk is full.
    const whenDurable = (done: () => void) => storage.commitSoon(() => done());

    // the broker devices talk to (embedded aedes, or an external broker by URL)
    const broker = await startVillageBroker({ config, deviceMessages, whenDurable, log, clock, port: opts.brokerPort, portFallback: opts.portFallback });
    stoppers.push(() => broker.stop());
    const publish = broker.publish;
    // Home Assistant discovery configs, retained (off unless homeassistant.discovery)
    startHomeAssistant({ config, publish, log });

    // serial and firmata devices (firmware-bridge/serial, firmware-bridge/firmata); what a village
    // does not use is not loaded (imported here, not at the top: memory on a small board)
    for (const device of config.devices) {
      if (device.transport === 'serial') {
        const { startSerialDevice } = await import('../firmware-bridge/serial/serial-device.ts');
        transports.push(startSerialDevice({ device, sink: ingest, clock, log }));
      }
      if (device.transport === 'firmata') {
        const { startFirmataBoard } = await import('../firmware-bridge/firmata/firmata-board.ts');
        const sensors = config.sensors.filter((s) => s.device === device.id);
        transports.push(startFirmataBoard({ device, sensors, sink: ingest, clock, log }));
      }
    }

    // federation: neighbours over a shared broker (off unless configured)
    const federation = config.federation
      ? new (await import('./federation/federation.ts')).Federation({ config, clock, events, storage, log, connect: opts.federationConnect })
      : null;
    if (federation) {
      federation.start();
      stoppers.push(() => federation.stop());
    }

    // alerts → incidents → assembly prompts
    const alerts = new AlertBook({ config, clock, storage, events, log });
    alerts.start();
    stoppers.push(() => alerts.stop());
    const assembly = new Assembly({ config, clock, storage, events, alerts, log, neighbours: federation ? () => federation.offers() : undefined });
    assembly.start();
    stoppers.push(() => assembly.stop());
    const webhooks = startWebhooks({ config, events, log });
    stoppers.push(() => webhooks.stop());
    if (config.alerts.speech) {
      const { startSpeech } = await import('./assembly/speech.ts');
      const speech = startSpeech({ config, events, storageDir, log });
      stoppers.push(() => speech.stop());
    }

    const plans = new PlanFollower();
    // the loop that runs the village: status shortly after a change and every second, judged, followed, published
    const loop = new StatusLoop({
      events,
      reserve,
      alerts,
      assembly,
      publish,
      rejectedTotal: () => ingest.rejectedTotal,
      topics: { reserve: topics.reserve(v), alerts: topics.alerts(v), assembly: topics.assembly(v) },
      throttleMs: opts.statusThrottleMs,
      auto: opts.autoStatus,
      tick: opts.tick,
      // a reading across a threshold of its rule is judged at once, not after the throttle
      urgent: (r) => alerts.crosses(r),
      // the assembly's plan, followed with figures and never enforced
      plan: (s) => plans.follow(assembly.planInForce(), s, clock.now()),
    });
    loop.start();
    stoppers.push(() => loop.stop());
    const current = () => loop.status();

    // backups of the state: on a schedule when configured; the page says when the last was taken
    const b = config.storage.backup;
    const backups =
      b && storage.path !== ':memory:' ? new BackupSchedule({ source: storage.path, dir: resolve(b.dir), every_h: b.every_h, keep: b.keep, clock, log }) : null;
    if (backups) {
      backups.start();
      stoppers.push(() => backups.stop());
    }

    // every link as the page and /metrics show it; each module says what its own link is
    const links = (): LinkStatus[] => [
      broker.link(),
      ...transports.map((t) => t.link()),
      ...(federation ? [federation.link()] : []),
      ...history.links(storageSince),
      storage.link(storageSince),
      backups?.link() ?? backupLink(storageDir, clock.now(), null),
    ];

    currentLinks = links;

    // the web page and API
    const { token, file: tokenFile } = loadToken(config, storageDir, log);
    const metrics = createMetrics({
      village: v,
      accepted: () => [...ingest.accepted],
      rejected: () => ingest.rejectCounts(),
      clockReplaced: () => ingest.clockReplacedTotal,
      faults: () => ingest.faultCounts(),
      status: current,
      sensors: () => reserve.sensors(),
      now: () => clock.now(),
      links,
      brokerClients: () => broker.connectedClients(),
      broker: () => broker.stats(),
      storageError: () => storage.problem(),
      listenerFailures: () => [...events.failures],
      extra: [...history.gauges(), ...storage.gauges(), ...manual.gauges()],
    });
    let web: WebServer | null = null;
    if (opts.web !== false) {
      const sensorIds = new Set(config.sensors.map((s) => s.id));
      const make = (port: number) =>
        new WebServer(
          {
            events,
            token,
            metrics,
            log,
            status: current,
            sensors: () => manual.annotate(reserve.sensors()),
            lastRefusals: () => broker.stats().lastRefusals ?? new Map(),
            links,
            history: (id, hours, stepMs) => (sensorIds.has(id) ? reserve.history(id, clock.now() - hours * 3600_000, stepMs) : null),
            now: () => clock.now(),
            health: () => ({ ...storage.health(), village: v, broker: broker.link().state }),
            alerts,
            assembly,
            federation: federation ?? undefined,
            manual,
            strapping: strappingSource(config),
          },
          { host: config.web.host, port, tls: config.web.tls, sse: { clients: config.web.sse_max_clients, perAddress: config.web.sse_max_per_address } },
        );
      const w = await startOnPort('web', config.web.host, opts.webPort ?? config.web.port, make, opts.portFallback, log);
      web = w;
      stoppers.push(() => w.stop());
    }

    let stopped = false;
    return {
      config,
      clock,
      events,
      storage,
      ingest,
      reserve,
      alerts,
      assembly,
      history,
      federation,
      brokerUrl: broker.address,
      brokerPort: broker.port,
      publish,
      token,
      tokenFile,
      webUrl: web?.url ?? '',
      webPort: web?.port ?? 0,
      status: current,
      sensors: () => reserve.sensors(),
      links,
      refresh: () => loop.refresh(),
      async stop() {
        if (stopped) return;
        stopped = true;
        // judge nothing more: devices dropping as tend goes down (serial ports closing, wills
        // when the broker stops) are not news
        loop.stop();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
