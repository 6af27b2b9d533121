// Prometheus metrics (GET /metrics) through prom-client. One registry per village so several
// villages can run in one process (tests, federation bench). Values are read when scraped, so
// the hot path only bumps plain counters.
import { Counter, Gauge, Registry } from 'prom-client';
import type { LinkStatus, ReserveStatus } from '../../core/types.ts';

export interface MetricSources {
  village: string;
  accepted(): [device: string, count: number][];
  rejected(): [device: string, reason: string, count: number][];
  clockReplaced(): number;
  faults?(): [device: string, code: string, count: number][];
  status(): ReserveStatus;
  links(): LinkStatus[];
  brokerClients(): number;
  /** the embedded broker's refusals and persistent-session queues (BrokerStats in services/broker/start.ts) */
  broker?(): { refused: [reason: string, count: number][]; dropped: [reason: string, count: number][]; queued: number };
  storageError(): string | null;
  /** event listeners that threw, per module */
  listenerFailures?(): [module: string, count: number][];
  /** extra gauges from optional modules: [name, help, value read at scrape time] */
  extra?: [name: string, help: string, value: () => number][];
}

const LINK_STATES: LinkStatus['state'][] = ['connected', 'listening', 'connecting', 'reconnecting', 'error', 'disconnected'];

export function createMetrics(src: MetricSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ village: src.village });
  new Counter({
    name: 'tend_readings_accepted_total',
    help: 'Readings accepted by ingest, per device',
    labelNames: ['device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [device, n] of src.accepted()) this.inc({ device }, n);
    },
  });
  new Counter({
    name: 'tend_readings_rejected_total',
    help: 'Readings refused by ingest, per device and reason',
    labelNames: ['device', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [device, reason, n] of src.rejected()) this.inc({ device, reason }, n);
    },
  });
  new Counter({
    name: 'tend_device_clock_replaced_total',
    help: 'Readings whose device time was >10 min off and was replaced by receive time',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.clockReplaced());
    },
  });
  new Counter({
    name: 'tend_device_faults_total',
    help: 'Sensor faults devices reported themselves (fault=1 no echo/low signal, fault=2 out of range)',
    labelNames: ['device', 'code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [device, code, n] of src.faults?.() ?? []) this.inc({ device, code }, n);
    },
  });
  new Gauge({
    name: 'tend_sensors',
    help: 'Configured sensors by freshness',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = src.status().sensors;
      this.set({ state: 'online' }, s.online);
      this.set({ state: 'stale' }, s.stale.length);
      this.set({ state: 'total' }, s.total);
    },
  });
  new Gauge({
    name: 'tend_water_liters',
    help: 'Water in the village tanks (litres)',
    registers: [registry],
    collect() {
      const l = src.status().water.liters;
      if (l !== null) this.set(l);
    },
  });
  new Gauge({
    name: 'tend_water_days_left',
    help: 'Days of water left',
    labelNames: ['use'],
    registers: [registry],
    collect() {
      // a figure that became unknown is dropped, not left at its last value
      this.reset();
      const w = src.status().water;
      if (w.days_left_current !== null) this.set({ use: 'current' }, w.days_left_current);
      if (w.days_left_current_range) {
        this.set({ use: 'current_low' }, w.days_left_current_range[0]);
        this.set({ use: 'current_high' }, w.days_left_current_range[1]);
      }
      if (w.days_left_minimum !== null) this.set({ use: 'minimum' }, w.days_left_minimum);
    },
  });
  new Gauge({
    name: 'tend_water_stale_tanks',
    help: 'Tanks not heard from lately; their last litres still count in the water totals',
    registers: [registry],
    collect() {
      this.set(src.status().water.stale_tanks ?? 0);
    },
  });
  new Gauge({
    name: 'tend_power_hours_left',
    help: 'Hours of usable battery energy at the current load, ignoring solar',
    registers: [registry],
    collect() {
      const h = src.status().power.hours_left;
      if (h !== null) this.set(h);
    },
  });
  new Gauge({
    name: 'tend_link_up',
    help: 'Connection state of each transport (1 for the current state)',
    labelNames: ['link', 'kind', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of src.links()) for (const st of LINK_STATES) this.set({ link: l.name, kind: l.kind, state: st }, l.state === st ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tend_broker_clients',
    help: 'MQTT clients connected to the embedded broker',
    registers: [registry],
    collect() {
      this.set(src.brokerClients());
    },
  });
  new Counter({
    name: 'tend_broker_refused_total',
    help: 'Logins and publishes the embedded broker refused (or a QoS 2 retransmission it took once), per reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of src.broker?.().refused ?? []) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'tend_broker_queue_dropped_total',
    help: 'Messages dropped from persistent sessions of the embedded broker, per reason (superseded, session_limit, total_limit, session_expired)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of src.broker?.().dropped ?? []) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'tend_broker_queued_messages',
    help: 'Messages the embedded broker holds for persistent sessions (clean: false): waiting for their client, or sent and not yet acknowledged',
    registers: [registry],
    collect() {
      this.set(src.broker?.().queued ?? 0);
    },
  });
  new Gauge({
    name: 'tend_storage_ok',
    help: '1 when the SQLite storage accepts writes, 0 when it fails (disk full, read-only)',
    registers: [registry],
    collect() {
      this.set(src.storageError() ? 0 : 1);
    },
  });
  new Gauge({
    name: 'tend_alerts_active',
    help: 'Alerts pending or firing',
    registers: [registry],
    collect() {
      this.set(src.status().alerts.length);
    },
  });
  new Gauge({
    name: 'tend_assembly_open',
    help: 'Open assembly prompts',
    registers: [registry],
    collect() {
      this.set(src.status().assembly.length);
    },
  });
  new Counter({
    name: 'tend_listener_failures_total',
    help: 'Event listeners that threw and were skipped, per module (the others still ran)',
    labelNames: ['module'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [module, n] of src.listenerFailures?.() ?? []) this.inc({ module }, n);
    },
  });
  for (const [name, help, value] of src.extra ?? []) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  }
  return registry;
}
