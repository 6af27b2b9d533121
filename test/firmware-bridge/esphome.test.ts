// The ESPHome examples: valid YAML, and the tend config in each header validates and names the
// topics the node actually publishes on. Then an MQTT client that behaves on the wire as an
// ESPHome node does (with ESPHome's defaults, and as the example configures it) against a real
// village: it stays connected and its readings land in /api/status.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { configSchema } from '../../config/schema.ts';
import { getJson, startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { ROOT } from './helpers/firmware.ts';

const dir = join(ROOT, 'firmware-bridge/esphome');
const secret = { tag: '!secret', resolve: (s: string) => `secret:${s}` };

// biome-ignore lint/suspicious/noExplicitAny: the parsed ESPHome YAML, whatever its shape: the tests walk it and assert on what they find
function load(file: string): { node: any; tendConfig: Record<string, unknown>; text: string } {
  const text = readFileSync(join(dir, file), 'utf8');
  const node = parse(text, { customTags: [secret] });
  // the commented block after "tend config for this node" is YAML too
  const lines = text.split('\n');
  const startAt = lines.findIndex((l) => /tend config for this node/.test(l));
  const block: string[] = [];
  for (let i = startAt + 1; i < lines.length && lines[i]!.startsWith('#'); i++) {
    const l = lines[i]!.replace(/^# ?/, '');
    if (/^\s*devices:|^\s*sensors:/.test(l) || block.length) {
      if (!l.startsWith('  ') && block.length && !/^(devices|sensors):/.test(l.trim())) break;
      block.push(l.replace(/^ {2}/, ''));
    }
  }
  const tendConfig = parse(block.join('\n'));
  return { node, tendConfig, text };
}

const subst = (s: string, vars: Record<string, string>) => s.replace(/\$\{(\w+)\}/g, (_m, k: string) => vars[k] ?? `<${k}>`);

describe('ESPHome examples', () => {
  it('tank-tend-mqtt.yaml publishes readings and status under the device prefix the config allows', () => {
    const { node, tendConfig } = load('tank-tend-mqtt.yaml');
    const vars = node.substitutions as Record<string, string>;
    const cfg = configSchema.parse({ version: 1, village: { id: vars.village, name: 'A', population: 180 }, ...tendConfig });
    const dev = cfg.devices.find((d) => d.id === vars.device)!;
    expect(dev.transport).toBe('mqtt');
    const prefix = `tend/${vars.village}/dev/${vars.device}/`;
    expect(subst(node.mqtt.birth_message.topic, vars)).toBe(`${prefix}status`);
    expect(subst(node.mqtt.will_message.topic, vars)).toBe(`${prefix}status`);
    expect(node.mqtt.will_message.payload).toBe('offline');
    expect(subst(node.mqtt.topic_prefix, vars).startsWith(prefix)).toBe(true);
    expect(subst(node.mqtt.username, vars)).toBe(vars.device);
    const sensor = node.sensor[0];
    const publishes = JSON.stringify(sensor.on_value);
    expect(subst(publishes, vars)).toContain(`${prefix}reading`);
    expect(publishes).toContain('root[\\"distance_mm\\"]');
    expect(publishes).toContain('root[\\"seq\\"]');
    expect(cfg.sensors[0]).toMatchObject({ device: vars.device, metric: 'distance_mm', kind: 'tank_distance' });
  });

  it('tank-esphome-default.yaml is read through source.topic on the topic ESPHome uses by default', () => {
    const { node, tendConfig } = load('tank-esphome-default.yaml');
    const vars = node.substitutions as Record<string, string>;
    const cfg = configSchema.parse({ version: 1, village: { id: 'ashgrove', name: 'A', population: 180 }, ...tendConfig });
    const sensor = node.sensor[0];
    // ESPHome: <name>/sensor/<object id>/state, object id = name lower-cased, spaces to _
    const objectId = String(sensor.name)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_');
    const topic = `${subst(node.esphome.name, vars)}/sensor/${objectId}/state`;
    expect(cfg.sensors[0]!.source?.topic).toBe(topic);
    expect(node.mqtt.topic_prefix).toBeUndefined(); // default prefix: the node name
    // online/offline on tend's status topic, the only other place the broker lets it publish
    expect(subst(node.mqtt.will_message.topic, vars)).toBe(`tend/${vars.village}/dev/${vars.device}/status`);
    expect(node.mqtt.log_topic).toBeNull();
    expect(sensor.filters.some((f: { multiply?: number }) => f.multiply === 1000)).toBe(true); // metres → mm
  });
});

// ---- an ESPHome node on the wire
//
// What ESPHome's MQTT client (esphome/components/mqtt) does with its defaults, in order, on every
// connect: client id `<name>-<mac>`, clean_session false, keepalive 15 s, will `offline` retained
// on `<topic_prefix>/status`; subscribes to `esphome/discover` and `esphome/ping/<name>` at QoS 2
// (discover_ip) and to `homeassistant/status` (discovery); publishes its IP as JSON, retained,
// QoS 2, to `esphome/discover/<name>`; each sensor's Home Assistant config (retained) and state
// (retained, QoS 0); then the birth `online` (retained) and log lines on `<topic_prefix>/debug`.

interface NodeSettings {
  name: string;
  password: string;
  /** ESPHome defaults: true */
  discoverIp: boolean;
  discovery: boolean;
  /** birth and will topic: `<name>/status` by default */
  statusTopic: string;
  /** null: log_topic off */
  logTopic: string | null;
}

const MAC = 'a4cf12b3c4d5';

/** the SUBACK's return codes as sent (mqtt.js turns any 0x80 into an error for the whole call) */
function subscribeCodes(c: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (p: { cmd: string; granted?: unknown }) => {
      if (p.cmd !== 'suback') return;
      c.off('packetreceive', onPacket);
      resolve(p.granted as number[]);
    };
    c.on('packetreceive', onPacket);
    c.subscribe(filters, () => {});
  });
}

async function esphomeNode(url: string, n: NodeSettings): Promise<{ client: MqttClient; subAcks: number[]; closed: () => boolean }> {
  const client = mqtt.connect(url, {
    clientId: `${n.name}-${MAC}`,
    username: n.name,
    password: n.password,
    clean: false,
    keepalive: 15,
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { topic: n.statusTopic, payload: Buffer.from('offline'), qos: 0, retain: true },
  });
  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const subAcks: number[] = [];
  if (n.discoverIp) {
    subAcks.push(...(await subscribeCodes(client, { 'esphome/discover': { qos: 2 }, [`esphome/ping/${n.name}`]: { qos: 2 } })));
    const info = { ip: '192.168.1.50', name: n.name, version: '2025.10.0', mac: MAC, platform: 'ESP32', board: 'esp32dev', network: 'wifi' };
    await client.publishAsync(`esphome/discover/${n.name}`, JSON.stringify(info), { qos: 2, retain: true });
  }
  if (n.discovery) {
    subAcks.push(...(await subscribeCodes(client, { 'homeassistant/status': { qos: 0 } })));
    const cfg = {
      name: 'Tank distance',
      stat_t: `${n.name}/sensor/tank_distance/state`,
      avty_t: `${n.name}/status`,
      unit_of_meas: 'mm',
      uniq_id: `ESPsensortank_distance`,
    };
    await client.publishAsync(`homeassistant/sensor/${n.name}/tank_distance/config`, JSON.stringify(cfg), { qos: 0, retain: true });
  }
  return { client, subAcks, closed: () => closed };
}

/** one state of the node's ultrasonic, as ESPHome publishes it: a plain number, retained */
async function sendState(node: MqttClient, n: NodeSettings, distanceMm: number): Promise<void> {
  await node.publishAsync(`${n.name}/sensor/tank_distance/state`, String(distanceMm), { qos: 0, retain: true });
  if (n.logTopic) await node.publishAsync(n.logTopic, `[D][sensor:094]: 'Tank distance': Sending state ${distanceMm} mm`, { qos: 0, retain: true });
}

describe('an ESPHome node on the wire against a real village', () => {
  const { node, tendConfig } = load('tank-esphome-default.yaml');
  const vars = node.substitutions as Record<string, string>;
  const config = configSchema.parse({ version: 1, village: { id: vars.village, name: 'Ashgrove', population: 180, timezone: 'UTC' }, ...tendConfig });
  const device = config.devices[0]!;
  const tank = config.sensors[0]!;
  const levelAt = (distanceMm: number) => tank.tank!.sensor_height_mm! - distanceMm;
  let village: Awaited<ReturnType<typeof startTestVillage>>;

  beforeAll(async () => {
    village = await startTestVillage({ config });
  });
  afterAll(async () => {
    await village?.cleanup();
  });

  const tankStatus = async () => (await getJson(`${village.webUrl}/api/status`)).water.tanks.find((t: { id: string }) => t.id === tank.id);
  /** publishes refused, summed over /metrics' labels */
  const refused = async () => {
    const text = await (await fetch(`${village.webUrl}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('tend_broker_refused_total{') && l.includes('reason="publish_not_allowed"'));
    return lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
  const online = async () =>
    (await getJson(`${village.webUrl}/api/sensors`)).sensors.find((s: { id: string }) => s.id === tank.id).device_online as boolean | null;

  it('with ESPHome defaults (discover_ip, discovery, birth/will on <node>/status, retained state) it stays connected and its readings land', async () => {
    const n: NodeSettings = {
      name: device.id,
      password: device.secret!,
      discoverIp: true,
      discovery: true,
      statusTopic: `${device.id}/status`,
      logTopic: `${device.id}/debug`,
    };
    const before = await refused();
    const esp = await esphomeNode(village.brokerUrl, n);
    // the subscriptions outside its prefix are refused (SUBACK 0x80), not the connection
    expect(esp.subAcks).toEqual([128, 128, 128]);
    await sendState(esp.client, n, 812);
    await esp.client.publishAsync(n.statusTopic, 'online', { qos: 0, retain: true }); // the birth message
    await waitFor(async () => (await tankStatus()).level_mm === levelAt(812), 5000, 'the first state in /api/status');
    await sendState(esp.client, n, 900);
    await waitFor(async () => (await tankStatus()).level_mm === levelAt(900), 5000, 'the next state in /api/status');
    expect(esp.closed()).toBe(false);
    expect(esp.client.connected).toBe(true);
    // dropped and counted: the IP announcement, the HA config, two log lines, the birth
    expect(await refused()).toBe(before + 5);
    expect((await tankStatus()).stale).toBe(false);
    // the will goes to <node>/status, which tend does not read: offline shows only as silence
    esp.client.stream.destroy();
    await waitFor(() => esp.closed(), 5000, 'the node gone');
  });

  it('as the example configures it (discover_ip: false, birth/will on the status topic) tend also sees it go offline', async () => {
    expect(node.mqtt.discover_ip).toBe(false);
    expect(node.mqtt.discovery).toBe(false);
    const status = `tend/${vars.village}/dev/${device.id}/status`;
    const n: NodeSettings = { name: device.id, password: device.secret!, discoverIp: false, discovery: false, statusTopic: status, logTopic: null };
    const before = await refused();
    const esp = await esphomeNode(village.brokerUrl, n);
    await esp.client.publishAsync(status, 'online', { qos: 0, retain: true });
    await sendState(esp.client, n, 700);
    await waitFor(async () => (await tankStatus()).level_mm === levelAt(700), 5000, 'the state in /api/status');
    await waitFor(async () => (await online()) === true, 5000, 'the node online');
    expect(await refused()).toBe(before);
    // power cut: no DISCONNECT, the broker publishes the will
    esp.client.stream.destroy();
    await waitFor(async () => (await online()) === false, 5000, 'the node offline by its will');
  });
});
