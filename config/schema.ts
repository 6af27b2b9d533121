// The config schema: the only source of config types. Strict objects, so an unknown
// key is an error with its path, not silently ignored. See config/village.example.yaml.
import { z } from 'zod';
import { SENSOR_KINDS } from '../core/types.ts';
import { SSE_LIMITS } from '../core/limits.ts';
import { RULE_DEFAULTS } from './rules.ts';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lowercase letters, digits, - and _ (at most 63)');
const port = z.number().int().min(0).max(65535);
const positive = z.number().positive();

const tls = z.strictObject({ cert_file: z.string(), key_file: z.string() });

const broker = z.union([
  z.strictObject({
    embedded: z.strictObject({
      host: z.string().default('127.0.0.1'),
      port: port.default(1883),
      /** allow devices with no username/password; off by default */
      allow_anonymous: z.boolean().default(false),
      tls: tls.optional(),
      /** a persistent session (clean: false) whose client stays away this long is removed, with what it queued; default 86400 (a day) */
      session_expiry_s: z.number().positive().optional(),
    }),
  }),
  z.strictObject({
    url: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL'),
    username: z.string().optional(),
    password: z.string().optional(),
    client_id: z.string().optional(),
  }),
]);

const web = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  /** file holding the token that write endpoints require; created with a random token if missing */
  token_file: z.string().optional(),
  tls: tls.optional(),
  /** live page streams (GET /api/stream) open at once, in all and from one client address */
  sse_max_clients: z.number().int().min(1).default(SSE_LIMITS.clients),
  sse_max_per_address: z.number().int().min(1).default(SSE_LIMITS.perAddress),
});

const levelMm = z.number().nonnegative();

const tankBase = { sensor_height_mm: positive.optional() };
const tank = z.discriminatedUnion('shape', [
  z.strictObject({ shape: z.literal('vertical_cylinder'), diameter_mm: positive, height_mm: positive, ...tankBase }),
  z.strictObject({ shape: z.literal('horizontal_cylinder'), diameter_mm: positive, length_mm: positive, ...tankBase }),
  z.strictObject({ shape: z.literal('box'), length_mm: positive, width_mm: positive, height_mm: positive, ...tankBase }),
  z
    .strictObject({
      shape: z.literal('table'),
      points: z.array(z.tuple([levelMm, z.number().nonnegative()])).min(2, 'a table needs at least two points'),
      ...tankBase,
    })
    .superRefine((t, ctx) => {
      for (let i = 1; i < t.points.length; i++) {
        const [l0, v0] = t.points[i - 1]!;
        const [l1, v1] = t.points[i]!;
        if (!(l1 > l0) || !(v1 > v0)) {
          ctx.addIssue({ code: 'custom', path: ['points', i], message: `table is not strictly increasing (${l0} mm/${v0} L then ${l1} mm/${v1} L)` });
        }
      }
    }),
]);

const device = z.strictObject({
  id,
  name: z.string().optional(),
  transport: z.enum(['mqtt', 'serial', 'firmata']).default('mqtt'),
  /** plain secret for MQTT login; or secret_hash (scrypt) instead */
  secret: z.string().min(8, 'at least 8 characters').optional(),
  secret_hash: z
    .string()
    .regex(/^scrypt\$/, 'scrypt$<salt-hex>$<hash-hex>')
    .optional(),
  /** baud when not given: 115200 for transport serial (tank-node), 57600 for firmata (StandardFirmata's rate) */
  serial: z.strictObject({ path: z.string(), baud: z.number().int().positive().optional() }).optional(),
  interval_s: positive.default(30),
});

/** the device a `manual: true` sensor without one is filed under: not an id, so no device can be it */
export const MANUAL_DEVICE = '(manual)';

/** a broker account that may read the village outputs and homeassistant/# and publish nothing (signboards, Home Assistant) */
const reader = z.strictObject({
  id,
  secret: z.string().min(8, 'at least 8 characters').optional(),
  secret_hash: z
    .string()
    .regex(/^scrypt\$/, 'scrypt$<salt-hex>$<hash-hex>')
    .optional(),
});

const sensor = z.strictObject({
  id,
  name: z.string().optional(),
  /** optional only for a manual sensor (read by people, POST /api/readings) */
  device: id.optional(),
  /** read by people (a dipstick, a meter): readings come in through POST /api/readings */
  manual: z.boolean().optional(),
  /** how often a reading is expected, when not the device's: a daily dipstick is 86400 */
  interval_s: positive.optional(),
  metric: z.string().min(1).max(64).optional(),
  kind: z.enum(SENSOR_KINDS),
  tank: tank.optional(),
  battery: z.strictObject({ capacity_kwh: positive, usable_fraction: z.number().gt(0).max(1).default(0.8) }).optional(),
  cold: z.strictObject({ safe_max_c: z.number().min(-40).max(20) }).optional(),
  /** read foreign firmware as it publishes (ESPHome, Tasmota) */
  source: z.strictObject({ topic: z.string().min(1), json_path: z.string().optional() }).optional(),
  firmata: z
    .strictObject({
      pin: z.union([z.string().regex(/^A?\d{1,2}$/, 'a pin like "A0" or "7"'), z.number().int().nonnegative()]),
      /** [in_lo, in_hi, out_lo, out_hi]: analog pins in volts (0…vref), digital pins as logic level 0/1 */
      scale: z
        .tuple([z.number(), z.number(), z.number(), z.number()])
        .optional()
        .refine((sc) => !sc || sc[0] !== sc[1], 'scale needs in_lo ≠ in_hi'),
      /** the board's ADC reference in volts: 5 for Uno/Nano (default), 3.3 for 3.3 V boards */
      vref: positive.optional(),
    })
    .optional(),
  /** for door_open: the cold_temp sensor id of the unit this door belongs to */
  unit: id.optional(),
  /** plausible raw range; readings outside are rejected as out_of_range */
  range: z.tuple([z.number(), z.number()]).optional(),
});
// every later stage keys sensors by device: a manual sensor without one gets MANUAL_DEVICE
const sensorWithDevice = sensor.transform((s) => ({ ...s, device: s.device ?? MANUAL_DEVICE }));

/** what the assembly's options are computed for (services/assembly/options.ts; docs/assembly.md) */
const assembly = z
  .strictObject({
    /** litres a person a day the water options are shown at, beside the current use and the minimum */
    water_levels_lpd: z.array(positive).max(8).default([50, 30, 20, 15]),
    /** loads the village knows by name, for "hours of stored power with the pump off" */
    loads: z
      .array(z.strictObject({ name: z.string().min(1).max(60), watts: positive }))
      .max(12)
      .default([]),
    /** spare room in litres per cold unit (its sensor id), for food from a failing unit; unknown when absent */
    cold_spare_l: z.record(id, z.number().nonnegative()).default({}),
  })
  .prefault({});

const alerts = z
  .strictObject({
    /** per-rule overrides: rule name → { key: number }; see ./rules.ts for keys */
    rules: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean()]))).default({}),
    /** alerts that start within this window group into one incident */
    group_window_s: positive.default(1800),
    /** an incident closes (all clear) once all its alerts have been resolved this long */
    incident_close_s: z.number().nonnegative().default(3600),
    /** an open prompt is re-issued with fresh reserve figures at most this often when nothing else changes */
    prompt_refresh_s: positive.default(21600),
    webhooks: z.array(z.strictObject({ url: z.string().url(), secret: z.string().optional() })).default([]),
    speech: z.union([z.boolean(), z.strictObject({ dir: z.string().optional(), voice: z.string().optional() })]).default(false),
  })
  .prefault({});

const influx = z.strictObject({
  url: z.string().url(),
  database: z.string().min(1),
  username: z.string().optional(),
  password: z.string().optional(),
  batch_points: z.number().int().positive().max(5000).default(5000),
  batch_ms: z.number().int().positive().max(1000).default(1000),
});

const federation = z.strictObject({
  url: z.string().regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL'),
  /** login on the federation broker; the village id by default (the ACL pattern fed/%u/# needs it so) */
  username: z.string().optional(),
  password: z.string().optional(),
  /** stable client id for the persistent session; tend-<village> by default */
  client_id: z.string().optional(),
  /** a fixed offer text instead of the computed one (the page can still edit or withdraw it) */
  offer: z.string().max(500).optional(),
  /** neighbours' news older than this is shown as stale (default 600) */
  stale_after_s: positive.optional(),
  /** days of water the village keeps for itself before the computed offer shares any (default 7) */
  offer_margin_days: positive.optional(),
  /** how long the broker keeps the session and queued QoS 1 messages across a cut (default 86400) */
  session_expiry_s: z.number().int().positive().max(4294967295).optional(),
});

/** The machine's own zone; UTC where the system names none. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .strictObject({
    version: z.literal(1, 'this tend understands config version 1'),
    village: z.strictObject({
      id,
      name: z.string().min(1),
      population: z.number().int().positive(),
      /** litres per person per day at minimum use: Sphere humanitarian minimum is 15 */
      minimum_water_lpd: positive.default(15),
      /** IANA time zone every time a person reads is shown in (alerts, prompts, page); the system's by default */
      timezone: z.string().default(systemTimeZone()).refine(isTimeZone, 'not an IANA time zone name (for example Europe/Madrid or America/Lima)'),
      /** BCP 47 tag the page, alert titles, prompts, CAP text and speech use (language/<tag>.json; en is built in) */
      language: z
        .string()
        .default('en')
        .refine((tag) => /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag), 'not a BCP 47 language tag (for example en, es, fr or pt-BR)'),
    }),
    // prefault: an absent section is parsed as written here, so each default is stated once
    broker: broker.prefault({ embedded: {} }),
    web: web.prefault({}),
    storage: z
      .strictObject({
        dir: z.string().default('./data'),
        /** outbox bound in bytes (history to InfluxDB) */
        outbox_max_bytes: z
          .number()
          .int()
          .positive()
          .default(1024 ** 3),
        /** backups of the state on a schedule, e.g. to a USB stick: one at start when due, then every every_h */
        backup: z
          .strictObject({
            dir: z.string().min(1),
            every_h: positive.default(24),
            keep: z.number().int().positive().default(7),
          })
          .optional(),
      })
      .prefault({}),
    influx: influx.optional(),
    federation: federation.optional(),
    alerts,
    assembly,
    devices: z.array(device).default([]),
    sensors: z.array(sensorWithDevice).default([]),
    readers: z.array(reader).default([]),
    /** discovery: publish Home Assistant MQTT discovery configs for the village figures (retained) */
    homeassistant: z.strictObject({ discovery: z.boolean().default(false) }).prefault({}),
  })
  .superRefine((c, ctx) => crossCheck(c, (path, message) => ctx.addIssue({ code: 'custom', path, message })));

/**
 * Checks across sections (a sensor naming a missing device, a tank on a non-tank kind…).
 * Defensive about types, because it also runs on a config that failed the schema, so that
 * `tend config check` reports every problem at once.
 */
// biome-ignore lint/suspicious/noExplicitAny: it also runs on a config that failed the schema, so it probes every field defensively
export function crossCheck(c: any, add: (path: (string | number)[], message: string) => void): void {
  if (typeof c !== 'object' || c === null) return;
  const devicesIn = Array.isArray(c.devices) ? c.devices : [];
  const sensorsIn = Array.isArray(c.sensors) ? c.sensors : [];
  const anonymous = c.broker && typeof c.broker === 'object' && 'embedded' in c.broker && c.broker.embedded?.allow_anonymous === true;
  const devices = new Map<string, number>();
  // biome-ignore lint/suspicious/noExplicitAny: an unvalidated device entry, probed field by field
  devicesIn.forEach((d: any, i: number) => {
    if (devices.has(d.id)) add(['devices', i, 'id'], `duplicate device id "${d.id}"`);
    devices.set(d.id, i);
    if (d.transport === 'serial' && !d.serial) add(['devices', i, 'serial'], 'a serial device needs serial: { path, baud }');
    if (d.transport === 'firmata' && !d.serial) add(['devices', i, 'serial'], 'a firmata board needs serial: { path } for its port');
    if (d.transport === 'mqtt' && !d.secret && !d.secret_hash && !anonymous) {
      add(['devices', i, 'secret'], 'an MQTT device needs a secret (or secret_hash) to log in');
    }
  });
  const readersIn = Array.isArray(c.readers) ? c.readers : [];
  const readers = new Set<string>();
  // biome-ignore lint/suspicious/noExplicitAny: an unvalidated reader entry, probed field by field
  readersIn.forEach((r: any, i: number) => {
    // one login name, one account: a reader named like a device would share its password check
    if (devices.has(r.id) || readers.has(r.id)) add(['readers', i, 'id'], `"${r.id}" is already a device or reader id`);
    readers.add(r.id);
    if (!r.secret && !r.secret_hash) add(['readers', i, 'secret'], 'a reader needs a secret (or secret_hash) to log in');
  });
  const sensors = new Set<string>();
  const metrics = new Set<string>();
  // biome-ignore lint/suspicious/noExplicitAny: an unvalidated sensor entry, probed field by field
  sensorsIn.forEach((s: any, i: number) => {
    if (sensors.has(s.id)) add(['sensors', i, 'id'], `duplicate sensor id "${s.id}"`);
    sensors.add(s.id);
    const manualOnly = s.manual === true && (s.device === undefined || s.device === MANUAL_DEVICE);
    const di = devices.get(s.device);
    const noDevice = s.device === undefined ? 'name its device (or set manual: true for a sensor people read)' : `no device "${s.device}" in devices`;
    if (di === undefined && !manualOnly) add(['sensors', i, 'device'], noDevice);
    const d = di === undefined ? undefined : devicesIn[di];
    if (manualOnly) {
      // read by people: no metric, topic or pin to name
    } else if (d?.transport === 'firmata') {
      if (!s.firmata) add(['sensors', i, 'firmata'], 'a sensor on a firmata board needs firmata: { pin }');
    } else if (!s.metric && !s.source) {
      add(['sensors', i, 'metric'], 'name the metric the device sends (or a source topic)');
    }
    const key = manualOnly ? `manual/${s.id}` : `${s.device}/${s.metric ?? s.source?.topic ?? s.firmata?.pin}`;
    if (metrics.has(key)) add(['sensors', i, 'metric'], `another sensor already reads ${key}`);
    metrics.add(key);
    const isTank = typeof s.kind === 'string' && s.kind.startsWith('tank_');
    if (isTank && !s.tank) add(['sensors', i, 'tank'], `a ${s.kind} sensor needs tank: { shape, … }`);
    if (!isTank && s.tank) add(['sensors', i, 'tank'], `tank: only goes with tank_* kinds, not ${s.kind}`);
    if (s.kind === 'tank_distance' && s.tank && s.tank.sensor_height_mm === undefined) {
      add(['sensors', i, 'tank', 'sensor_height_mm'], 'a tank_distance sensor needs sensor_height_mm (sensor face to tank bottom, mm)');
    }
    if (s.kind === 'battery_soc' && !s.battery) add(['sensors', i, 'battery'], 'a battery_soc sensor needs battery: { capacity_kwh, usable_fraction }');
    if (s.kind === 'cold_temp' && !s.cold) add(['sensors', i, 'cold'], 'a cold_temp sensor needs cold: { safe_max_c }');
  });
  // alert rule overrides: only known rules and keys, of the default's type (./rules.ts)
  const rules = c.alerts?.rules;
  for (const [rule, keys] of Object.entries(typeof rules === 'object' && rules !== null ? rules : {})) {
    const base = (RULE_DEFAULTS as Record<string, Record<string, number | boolean>>)[rule];
    if (!base) {
      add(['alerts', 'rules', rule], `unknown rule (known: ${Object.keys(RULE_DEFAULTS).join(', ')})`);
      continue;
    }
    for (const [k, v] of Object.entries(typeof keys === 'object' && keys !== null ? keys : {})) {
      if (!(k in base)) add(['alerts', 'rules', rule, k], `unknown key (known: ${Object.keys(base).join(', ')})`);
      else if (typeof v !== typeof base[k]) add(['alerts', 'rules', rule, k], `expected a ${typeof base[k]}`);
      else if (typeof v === 'number' && v < 0) add(['alerts', 'rules', rule, k], 'expected a number ≥ 0');
      else if (k.endsWith('_hour') && !(Number.isInteger(v) && (v as number) <= 23)) add(['alerts', 'rules', rule, k], 'expected an hour of the day, 0–23');
    }
  }
}

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type DeviceConfig = Config['devices'][number];
export type SensorConfig = Config['sensors'][number];
export type TankConfig = NonNullable<SensorConfig['tank']>;
export type AlertsConfig = Config['alerts'];
export type InfluxConfig = NonNullable<Config['influx']>;
export type FederationConfig = NonNullable<Config['federation']>;
