// Home Assistant MQTT discovery: the configs tend publishes, read back the way Home Assistant
// reads them. A reader account subscribes to homeassistant/#, parses each config, follows its
// state_topic and evaluates its value_template on the retained reserve JSON; the figure must be
// the one /api/status shows. Once on the embedded broker, once through a real Mosquitto.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { configSchema, type Config } from '../../config/schema.ts';
import { sayIn } from '../../core/i18n.ts';
import { checkText } from '../../services/assembly/language.ts';
import { discoveryConfigs } from '../../services/homeassistant.ts';
import { getJson, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

const READER = { id: 'homeassistant', secret: 'reader-secret-hollin' };
const DEVICES = { 'tank-a': 'tank-a-secret-1', shed: 'shed-secret-1', 'cold-store': 'cold-secret-1' };

function hollin(extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    version: 1,
    village: { id: 'hollin', name: 'Hollin', population: 200, timezone: 'UTC' },
    homeassistant: { discovery: true },
    readers: [READER],
    devices: Object.entries(DEVICES).map(([id, secret]) => ({ id, secret })),
    sensors: [
      {
        id: 'north',
        name: 'North tank',
        device: 'tank-a',
        metric: 'level_mm',
        kind: 'tank_level',
        tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000 },
      },
      { id: 'battery', name: 'Battery bank', device: 'shed', metric: 'soc', kind: 'battery_soc', battery: { capacity_kwh: 40 } },
      { id: 'load', name: 'Village load', device: 'shed', metric: 'load_w', kind: 'load_power' },
      { id: 'fridge', name: 'Clinic fridge', device: 'cold-store', metric: 't1', kind: 'cold_temp', cold: { safe_max_c: 8 } },
      { id: 'freezer', name: 'Freezer', device: 'cold-store', metric: 't2', kind: 'cold_temp', cold: { safe_max_c: -15 } },
    ],
    ...extra,
  });
}

// ---- the part of Home Assistant's Jinja the configs use, evaluated as Home Assistant would

// biome-ignore lint/suspicious/noExplicitAny: the reserve JSON, walked by a template path
type Json = any;

function path(root: Json, p: string): Json {
  let v = root;
  for (const key of p.split('.')) v = v === null || v === undefined ? undefined : v[key];
  return v;
}

/** one filter chain: `value_json.a.b | selectattr('k') | selectattr('k', 'eq'|'ne', 'v') | first | list | count` */
function chain(root: Json, expr: string): Json {
  const [head, ...filters] = expr.split('|').map((s) => s.trim());
  const m = /^value_json((?:\.\w+)*)$/.exec(head!);
  if (!m) throw new Error(`template path not understood: ${head}`);
  let v = m[1] ? path(root, m[1].slice(1)) : root;
  for (const f of filters) {
    const sel = /^selectattr\('(\w+)'(?:, '(eq|ne)', '([^']*)')?\)$/.exec(f);
    if (sel) {
      const [, key, op, want] = sel;
      v = (v as Json[]).filter((x) => (op === 'eq' ? x[key!] === want : op === 'ne' ? x[key!] !== want : Boolean(x[key!])));
    } else if (f === 'first') v = (v as Json[])[0];
    else if (f === 'list') v = [...(v as Json[])];
    else if (f === 'count') v = (v as Json[]).length;
    else throw new Error(`filter not understood: ${f}`);
  }
  return v;
}

/** How Jinja prints a value: None for null (Home Assistant then shows the sensor as unknown). */
const printed = (v: Json) => (v === null || v === undefined ? 'None' : String(v));

/** Evaluate a value_template on a payload, as far as the configs tend writes need. */
function render(template: string, payload: string): string {
  const json = JSON.parse(payload);
  const body = /^\{\{ (.*) \}\}$/.exec(template)?.[1];
  if (!body) throw new Error(`not a {{ }} template: ${template}`);
  const cond = /^'(\w+)' if (.*) > 0 else '(\w+)'$/.exec(body);
  if (cond) return chain(json, cond[2]!) > 0 ? cond[1]! : cond[3]!;
  const member = /^\((.*)\)\.(\w+)$/.exec(body);
  if (member) return printed(chain(json, member[1]!)?.[member[2]!]);
  return printed(chain(json, body));
}

/** The figure /api/status holds for each entity, found independently of the templates. */
function expected(status: Json, figure: string): string {
  const incidentOpen = status.alerts.some((a: Json) => a.incident_id && a.state !== 'resolved');
  const fixed: Record<string, Json> = {
    water_liters: status.water.liters,
    water_days_left: status.water.days_left_current,
    battery_percent: status.power.soc_percent,
    power_hours_left: status.power.hours_left,
    incident_open: incidentOpen ? 'ON' : 'OFF',
  };
  if (figure in fixed) return printed(fixed[figure]);
  const unit = /^cold_(.+)_temp$/.exec(figure)?.[1];
  return printed(status.cold.units.find((u: Json) => u.id === unit)?.temp_c);
}

// ---- a reader, as Home Assistant connects

interface Reader {
  client: MqttClient;
  /** the latest payload per topic */
  got: Map<string, string>;
}

async function connectReader(url: string, clientId: string): Promise<Reader> {
  const client = mqtt.connect(url, { username: READER.id, password: READER.secret, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const got = new Map<string, string>();
  client.on('message', (topic, payload) => got.set(topic, payload.toString()));
  return { client, got };
}

function configsOf(r: Reader): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [topic, payload] of r.got) if (topic.startsWith('homeassistant/') && payload) out.set(topic, JSON.parse(payload));
  return out;
}

const FIGURES = ['water_liters', 'water_days_left', 'battery_percent', 'power_hours_left', 'cold_fridge_temp', 'cold_freezer_temp', 'incident_open'];

/** Every config present and well formed; each state_topic followed and its template checked against /api/status. */
async function checkAgainstStatus(r: Reader, webUrl: string): Promise<void> {
  const configs = await waitFor(
    () => {
      const c = configsOf(r);
      return c.size >= FIGURES.length ? c : null;
    },
    10_000,
    'all discovery configs',
  );
  expect([...configs.keys()].sort()).toEqual(
    FIGURES.map((f) => `homeassistant/${f === 'incident_open' ? 'binary_sensor' : 'sensor'}/tend_hollin_${f}/config`).sort(),
  );
  for (const [topic, c] of configs) {
    const figure = /tend_hollin_(.+)\/config$/.exec(topic)![1]!;
    const component = topic.split('/')[1];
    expect(c).toMatchObject({
      unique_id: `tend_hollin_${figure}`,
      default_entity_id: `${component}.tend_hollin_${figure}`,
      state_topic: 'tend/hollin/reserve',
      device: { identifiers: ['tend_hollin'], name: 'Hollin' },
    });
    expect(c).not.toHaveProperty('object_id');
    expect(c.availability).toEqual([{ topic: 'tend/hollin/status', payload_available: 'online', payload_not_available: 'offline' }]);
    if (figure !== 'incident_open') expect(c).toHaveProperty('unit_of_measurement');
    r.client.subscribe(c.state_topic);
    for (const a of c.availability) r.client.subscribe(a.topic);
  }
  // tend says it is there, as Home Assistant's availability reads it
  await waitFor(() => r.got.get('tend/hollin/status') === 'online', 5000, 'tend online on its status topic');
  // the reserve topic is republished when a figure moves: compare until both agree, with a bound
  let last = '';
  await waitFor(
    async () => {
      const status = await getJson(`${webUrl}/api/status`);
      const reserve = r.got.get('tend/hollin/reserve');
      if (!reserve) return false;
      const rows = [...configs].map(([topic, c]) => {
        const figure = /tend_hollin_(.+)\/config$/.exec(topic)![1]!;
        return [figure, render(c.value_template, reserve), expected(status, figure)];
      });
      last = JSON.stringify(rows);
      return rows.every(([, got, want]) => got === want);
    },
    10_000,
    'every template to read the figure /api/status shows',
  ).catch((err) => {
    throw new Error(`${(err as Error).message}: [figure, template, /api/status] ${last}`);
  });
  // and the figures are real numbers, not all unknown
  const reserve = r.got.get('tend/hollin/reserve')!;
  const byFigure = Object.fromEntries([...configs].map(([t, c]) => [/tend_hollin_(.+)\/config$/.exec(t)![1]!, render(c.value_template, reserve)]));
  expect(Number(byFigure.water_liters)).toBeCloseTo(Math.PI * 1000 * 1000 * 1200 * 1e-6, 0);
  expect(byFigure).toMatchObject({ battery_percent: '64', cold_fridge_temp: '4.5', cold_freezer_temp: '-18', incident_open: 'OFF' });
}

async function sendReadings(url: string): Promise<void> {
  const values: Record<string, Record<string, number>> = { 'tank-a': { level_mm: 1200 }, shed: { soc: 64, load_w: 900 }, 'cold-store': { t1: 4.5, t2: -18 } };
  for (const [id, secret] of Object.entries(DEVICES)) {
    const c = mqtt.connect(url, { username: id, password: secret, clientId: `${id}-1`, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    await c.publishAsync(`tend/hollin/dev/${id}/reading`, JSON.stringify(values[id]), { qos: 1 });
    await c.endAsync();
  }
}

describe('Home Assistant discovery configs (pure)', () => {
  it('names every figure the village has, in words that inform, and none it has not', () => {
    const configs = discoveryConfigs(hollin());
    expect(configs.map((c) => c.topic)).toHaveLength(FIGURES.length);
    for (const c of configs) {
      const p = c.payload as Json;
      expect(checkText(c.topic, p.name)).toEqual([]);
      expect(p.device.model).toBeTruthy();
    }
    const water = configs.find((c) => c.topic.includes('water_liters'))!.payload;
    expect(water).toMatchObject({
      unit_of_measurement: 'L',
      device_class: 'volume_storage',
      state_class: 'measurement',
      json_attributes_topic: 'tend/hollin/reserve',
    });
    const fridge = configs.find((c) => c.topic.includes('cold_fridge_temp'))!.payload;
    expect(fridge).toMatchObject({ name: 'Clinic fridge temperature', unit_of_measurement: '°C', device_class: 'temperature' });
    expect(configs.find((c) => c.topic.includes('incident_open'))!.payload).toMatchObject({ device_class: 'problem' });
    // a village without a battery or cold store announces no such entities
    const small = hollin({
      sensors: [
        { id: 'north', device: 'tank-a', metric: 'level_mm', kind: 'tank_level', tank: { shape: 'box', length_mm: 1000, width_mm: 1000, height_mm: 1000 } },
      ],
    });
    expect(discoveryConfigs(small).map((c) => c.topic.split('/')[2])).toEqual([
      'tend_hollin_water_liters',
      'tend_hollin_water_days_left',
      'tend_hollin_incident_open',
    ]);
  });

  it('reads incident open from the alerts: ON while an alert of an incident is active', () => {
    const t = (discoveryConfigs(hollin()).find((c) => c.topic.includes('incident_open'))!.payload as Json).value_template;
    const reserve = (alerts: object[]) => JSON.stringify({ alerts });
    expect(render(t, reserve([]))).toBe('OFF');
    expect(render(t, reserve([{ state: 'pending', incident_id: null }]))).toBe('OFF');
    expect(render(t, reserve([{ state: 'firing', incident_id: 'inc-1' }]))).toBe('ON');
    expect(render(t, reserve([{ state: 'resolved', incident_id: 'inc-1' }]))).toBe('OFF');
    // a figure tend does not know is None to Home Assistant (unknown), never 0
    const liters = (discoveryConfigs(hollin())[0]!.payload as Json).value_template;
    expect(render(liters, JSON.stringify({ water: { liters: null } }))).toBe('None');
  });

  it('follows the village language for names', () => {
    const say = sayIn('en');
    const spoken = discoveryConfigs(hollin(), (key, english, slots) => `[${key}] ${say(key, english, slots)}`);
    expect((spoken[0]!.payload as Json).name).toBe('[homeassistant.water_liters] Water stored');
  });

  it('is off by default: nothing is published', async () => {
    const config = hollin({ homeassistant: {} });
    expect(config.homeassistant.discovery).toBe(false);
    const village = await startTestVillage({ config });
    try {
      const r = await connectReader(village.brokerUrl, 'homeassistant-off');
      await r.client.subscribeAsync(['homeassistant/#', 'tend/hollin/status']);
      await waitFor(() => r.got.get('tend/hollin/status') === 'online', 5000, 'tend status');
      expect(configsOf(r).size).toBe(0);
      await r.client.endAsync();
    } finally {
      await village.cleanup();
    }
  });
});

describe('Home Assistant discovery on the embedded broker', () => {
  let village: Awaited<ReturnType<typeof startTestVillage>>;
  beforeAll(async () => {
    village = await startTestVillage({ config: hollin() });
  });
  afterAll(async () => {
    await village?.cleanup();
  });

  it('a reader subscribed to homeassistant/# reads every figure as /api/status shows it', async () => {
    await sendReadings(village.brokerUrl);
    await waitFor(async () => (await getJson(`${village.webUrl}/api/status`)).cold.units.every((u: Json) => u.temp_c !== null), 5000, 'readings in');
    const r = await connectReader(village.brokerUrl, 'homeassistant-1');
    const granted = await r.client.subscribeAsync('homeassistant/#');
    expect(granted[0]!.qos).not.toBe(128);
    await checkAgainstStatus(r, village.webUrl);
    await r.client.endAsync();
  });
});

describe('Home Assistant discovery through an external Mosquitto', () => {
  let mosquitto: Mosquitto;
  let village: Awaited<ReturnType<typeof startTestVillage>>;
  const TEND = 'tend-hollin-broker-pass';
  // the ACL docs/home-assistant.md gives: tend writes the outputs and the configs, devices their
  // own prefix, the reader reads outputs and configs and writes nothing
  const ACL = [
    'pattern readwrite tend/hollin/dev/%u/#',
    'user tend',
    'topic readwrite tend/hollin/#',
    'topic write homeassistant/#',
    `user ${READER.id}`,
    'topic read tend/hollin/reserve',
    'topic read tend/hollin/alerts',
    'topic read tend/hollin/assembly',
    'topic read tend/hollin/status',
    'topic read homeassistant/#',
    '',
  ].join('\n');

  beforeAll(async () => {
    mosquitto = await startMosquitto({ users: { tend: TEND, [READER.id]: READER.secret, ...DEVICES }, acl: ACL });
    village = await startTestVillage({ config: hollin({ broker: { url: mosquitto.url, username: 'tend', password: TEND, client_id: 'tend-hollin' } }) });
  }, 60_000);
  afterAll(async () => {
    await village?.cleanup();
    await mosquitto?.close();
  });

  it('the configs are retained on Mosquitto and read the figures /api/status shows', async () => {
    await waitFor(() => village.links()[0]!.state === 'connected', 15_000, 'tend connected to Mosquitto');
    await sendReadings(mosquitto.url);
    await waitFor(async () => (await getJson(`${village.webUrl}/api/status`)).cold.units.every((u: Json) => u.temp_c !== null), 10_000, 'readings in');
    // Home Assistant connecting after tend: everything it needs is retained
    const r = await connectReader(mosquitto.url, 'homeassistant-mosq');
    await r.client.subscribeAsync('homeassistant/#');
    await checkAgainstStatus(r, village.webUrl);

    // tend stopping says so on its status topic: Home Assistant marks the entities unavailable
    await village.stop();
    await waitFor(() => r.got.get('tend/hollin/status') === 'offline', 10_000, 'tend offline on its status topic');
    await r.client.endAsync();
  }, 60_000);
});
