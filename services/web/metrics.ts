// Prometheus metrics (GET /metrics) through prom-client. One registry per village so several
// villages can run in one process (tests, federation bench). Values are read when scraped, so
// the hot path only bumps plain counters. A figure tend does not know (no power sensor, a tank
// never heard from) is absent, never 0: a 0 would read as an empty tank or a flat battery.
import { Counter, Gauge, Registry } from 'prom-client';
import type { LinkStatus, ReserveStatus, SensorHealth } from '../../core/types.ts';

export interface MetricSources {
  village: string;
  accepted(): [device: string, count: number][];
  rejected(): [device: string, reason: string, count: number][];
  clockReplaced(): number;
  faults?(): [device: string, code: string, count: number][];
  status(): ReserveStatus;
  /** every configured sensor's latest value and freshness, for the per-sensor gauges */
  sensors?(): SensorHealth[];
  /** the village clock (epoch ms), for the last-seen ages; Date.now without it */
  now?(): number;
  links(): LinkStatus[];
  brokerClients(): number;
  /** the embedded broker's refusals and persistent-session queues (BrokerStats in services/broker/start.ts) */
  broker?(): {
    refused: [reason: string, count: number][];
    /** the refusals per device and action; without it they are counted per reason only */
    refusedByDevice?: [device: string, action: string, reason: string, count: number][];
    dropped: [reason: string, count: number][];
    queued: number;
  };
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
  /**
   * A village figure that may be unknown. prom-client shows a gauge without labels as 0 until it
   * is set, so these carry the village label themselves and are left out while unknown.
   */
  const figure = (name: string, help: string, read: (s: ReserveStatus) => number | null | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['village'],
      registers: [registry],
      collect() {
        this.reset();
        const v = read(src.status());
        if (v !== null && v !== undefined && Number.isFinite(v)) this.set({ village: src.village }, v);
      },
    });
  /** A per-sensor gauge: one series per sensor whose figure is known, none for the others. */
  const perSensor = (name: string, help: string, read: () => [sensor: string, value: number | null | undefined][]) =>
    new Gauge({
      name,
      help,
      labelNames: ['sensor'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [sensor, v] of read()) if (v !== null && v !== undefined && Number.isFinite(v)) this.set({ sensor }, v);
      },
    });
  const sensorsOf = (...kinds: SensorHealth['kind'][]) => (src.sensors?.() ?? []).filter((s) => kinds.includes(s.kind));
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
  figure('tend_water_liters', 'Water in the village tanks (litres); absent while unknown', (s) => s.water.liters);
  figure('tend_water_percent', 'Water in the village tanks, percent of their capacity; absent while unknown', (s) => s.water.percent);
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
  figure('tend_power_hours_left', 'Hours of usable battery energy at the current load, ignoring solar; absent while unknown', (s) => s.power.hours_left);
  figure('tend_power_soc_percent', 'Battery state of charge (%); absent without a battery reading', (s) => s.power.soc_percent);
  perSensor('tend_tank_liters', 'Water in one tank (litres), per tank sensor', () => src.status().water.tanks.map((t) => [t.id, t.liters]));
  perSensor('tend_tank_percent', 'Water in one tank, percent of its capacity', () => src.status().water.tanks.map((t) => [t.id, t.percent]));
  perSensor('tend_tank_capacity_liters', 'What one tank holds when full (litres)', () => src.status().water.tanks.map((t) => [t.id, t.capacity_liters]));
  perSensor('tend_battery_percent', 'Battery state of charge (%), per battery sensor', () => sensorsOf('battery_soc').map((s) => [s.id, s.value]));
  perSensor('tend_cold_temperature_celsius', 'Temperature in a cold store (°C), per sensor', () => sensorsOf('cold_temp').map((s) => [s.id, s.value]));
  perSensor('tend_sensor_last_seen_age_seconds', 'Seconds since the last accepted reading of each sensor; absent if never heard from', () => {
    const now = src.now?.() ?? Date.now();
    return (src.sensors?.() ?? []).map((s) => [s.id, s.last_seen === null ? null : Math.max(0, (now - Date.parse(s.last_seen)) / 1000)]);
  });
  perSensor('tend_sensor_stale', '1 when a sensor is stale (too long unheard, or its device offline), 0 when current', () =>
    (src.sensors?.() ?? []).map((s) => [s.id, s.stale || s.device_online === false ? 1 : 0]),
  );
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
    help: 'Logins, subscribes and publishes the embedded broker refused (or a QoS 2 retransmission it took once), per device, action and reason; device "(unknown)" is a username no account has',
    labelNames: ['device', 'action', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      const b = src.broker?.();
      if (b?.refusedByDevice) for (const [device, action, reason, n] of b.refusedByDevice) this.inc({ device, action, reason }, n);
      else for (const [reason, n] of b?.refused ?? []) this.inc({ reason }, n);
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
    help: 'Alerts pending or firing; exercise="true" for those an exercise (drill) raised',
    labelNames: ['exercise'],
    registers: [registry],
    collect() {
      const alerts = src.status().alerts;
      const drill = alerts.filter((a) => a.exercise === true).length;
      this.set({ exercise: 'false' }, alerts.length - drill);
      this.set({ exercise: 'true' }, drill);
    },
  });
  new Gauge({
    name: 'tend_alert',
    help: 'One series per alert pending or firing (value 1), by rule, subject, severity and state; exercise="true" when an exercise raised it',
    labelNames: ['rule', 'subject', 'severity', 'state', 'exercise'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of src.status().alerts) {
        this.inc({ rule: a.rule, subject: a.subject, severity: a.severity, state: a.state, exercise: a.exercise === true ? 'true' : 'false' }, 1);
      }
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
