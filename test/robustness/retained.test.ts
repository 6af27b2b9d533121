// Retained is not current. A reading tend receives from a broker's retained store (RETAIN 1 on
// its own subscription, [MQTT-3.3.1-8]) is the last value the broker kept, maybe from before a
// storm: it is never shown as current. With a device time it counts at that time; without one it
// is shown as last known, stale, until a live reading arrives; a copy replayed after a live
// reading adds nothing (mqtt.js subscribes again only when the broker lost the session, or tend
// restarted) and is refused, counted. On the embedded broker a device publishing with
// RETAIN 1 (ESPHome's default for its state topics) is live: tend takes it as it is published.
// External broker: a real Mosquitto holding retained readings from before tend started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { nodeId, secretOf } from './helpers.ts';
import { DeviceMessages } from '../../firmware-bridge/mqtt/device-messages.ts';
import { Ingest, metricOf } from '../../services/ingest/ingest.ts';
import { VillageEventHub } from '../../services/events.ts';
import type { Reading } from '../../core/types.ts';

const V = 'tend/stormvale';
const GARDEN_TOPIC = 'esp-garden/sensor/level/state';
const TEND_PASSWORD = 'tend-broker-pass-42';
/** tend's clock, fixed: staleness is judged against it */
const T0 = Date.now();
const clock = { now: () => T0 };

function config(broker: Record<string, unknown>): Config {
  const tank = { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000, sensor_height_mm: 2100 };
  return parseConfig({
    version: 1,
    village: { id: 'stormvale', name: 'Stormvale', population: 100 },
    broker,
    storage: { dir: './unused' },
    devices: [
      { id: nodeId(0), secret: secretOf(nodeId(0)), interval_s: 60 },
      { id: nodeId(1), secret: secretOf(nodeId(1)), interval_s: 60 },
      { id: 'garden', secret: secretOf('garden'), interval_s: 60 },
    ],
    sensors: [
      { id: 'tank-0000', device: nodeId(0), metric: 'distance_mm', kind: 'tank_distance', tank },
      { id: 'tank-0001', device: nodeId(1), metric: 'distance_mm', kind: 'tank_distance', tank },
      // ESPHome as it is: a bare number on its own state topic, retained by default
      {
        id: 'garden-tank',
        device: 'garden',
        kind: 'tank_level',
        tank: { shape: 'vertical_cylinder', diameter_mm: 1000, height_mm: 2000 },
        source: { topic: GARDEN_TOPIC },
      },
    ],
  });
}

type Tank = { id: string; level_mm: number | null; stale: boolean; last_seen: string | null };
const tankOf = (v: { refresh(): { water: { tanks: Tank[] } } }, id: string) => v.refresh().water.tanks.find((t) => t.id === id)!;

describe('retained readings from an external broker (Mosquitto)', () => {
  let mosquitto: Mosquitto;
  let village: Awaited<ReturnType<typeof startTestVillage>>;
  beforeAll(async () => {
    mosquitto = await startMosquitto({
      users: { tend: TEND_PASSWORD, setter: 'setter-pass-1', [nodeId(0)]: secretOf(nodeId(0)), [nodeId(1)]: secretOf(nodeId(1)), garden: secretOf('garden') },
      acl: [
        'user tend',
        'topic readwrite tend/#',
        'topic read esp-garden/#',
        'user setter',
        'topic write #',
        'user garden',
        'topic write esp-garden/#',
        'pattern write tend/stormvale/dev/%u/#',
        '',
      ].join('\n'),
    });
    // what the broker holds from before tend starts: the last values devices published, retained
    const setter = await mqtt.connectAsync(mosquitto.url, { username: 'setter', password: 'setter-pass-1', reconnectPeriod: 0 });
    await setter.publishAsync(`${V}/dev/${nodeId(0)}/reading`, '{"distance_mm": 800}', { qos: 1, retain: true });
    await setter.publishAsync(`${V}/dev/${nodeId(1)}/reading`, JSON.stringify({ distance_mm: 900, ts: T0 - 5 * 60_000 }), { qos: 1, retain: true });
    await setter.publishAsync(GARDEN_TOPIC, '1200', { qos: 1, retain: true });
    await setter.endAsync();
    village = await startTestVillage({ config: config({ url: mosquitto.url, username: 'tend', password: TEND_PASSWORD, client_id: 'tend-stormvale' }), clock });
  }, 60_000);
  afterAll(async () => {
    await village?.cleanup();
    await mosquitto?.close();
  });

  it('shows a retained reading without a time as last known and stale, one with a time as of that time', async () => {
    await waitFor(
      () =>
        tankOf(village, 'tank-0000').level_mm === 1300 && tankOf(village, 'garden-tank').level_mm === 1200 && tankOf(village, 'tank-0001').level_mm === 1200,
      15_000,
      'the retained values',
    );
    // visible, never current: no time, so arrived "at the epoch", stale until a live reading
    for (const id of ['tank-0000', 'garden-tank']) {
      expect(tankOf(village, id), id).toMatchObject({ stale: true, last_seen: new Date(0).toISOString() });
    }
    // with a device time: as old as it says (5 min, past its 3 min staleness)
    expect(tankOf(village, 'tank-0001')).toMatchObject({ stale: true, last_seen: new Date(T0 - 5 * 60_000).toISOString() });
    expect(village.refresh().sensors.stale.sort()).toEqual(['garden-tank', 'tank-0000', 'tank-0001']);
  });

  it('a live reading makes it current, also one published retained while tend is subscribed (RETAIN 0 to tend)', async () => {
    const n0 = await mqtt.connectAsync(mosquitto.url, {
      username: nodeId(0),
      password: secretOf(nodeId(0)),
      clientId: `${nodeId(0)}-live`,
      reconnectPeriod: 0,
    });
    const garden = await mqtt.connectAsync(mosquitto.url, { username: 'garden', password: secretOf('garden'), clientId: 'garden-live', reconnectPeriod: 0 });
    // a live reading, and a live retained one (ESPHome): the broker sends both with RETAIN 0 to a
    // subscriber that is already there [MQTT-3.3.1-9]
    await n0.publishAsync(`${V}/dev/${nodeId(0)}/reading`, '{"distance_mm": 700}', { qos: 1 });
    await garden.publishAsync(GARDEN_TOPIC, '1300', { qos: 1, retain: true });
    await waitFor(() => tankOf(village, 'tank-0000').level_mm === 1400 && tankOf(village, 'garden-tank').level_mm === 1300, 15_000, 'the live values');
    for (const id of ['tank-0000', 'garden-tank']) expect(tankOf(village, id), id).toMatchObject({ stale: false, last_seen: new Date(T0).toISOString() });
    expect(village.refresh().sensors.stale).toEqual(['tank-0001']);
    for (const c of [n0, garden]) await c.endAsync();
  });
});

describe('a retained copy after a live reading (replayed when tend subscribes again)', () => {
  it('is refused and counted, undated or older; the live value stays current', async () => {
    const cfg = config({ embedded: { host: '127.0.0.1', port: 0 } });
    const recorded: Reading[] = [];
    const store = { record: (r: Reading) => recorded.push(r), setDeviceOnline: () => {}, knows: (id: string) => recorded.some((r) => r.sensor === id) };
    const ingest = new Ingest({ config: cfg, clock, events: new VillageEventHub(), store });
    const messages = new DeviceMessages({ config: cfg, clock, sink: ingest, metricOf });
    const reading = (device: string, body: object, retained: boolean) =>
      messages.handle(`${V}/dev/${device}/reading`, Buffer.from(JSON.stringify(body)), retained);
    // before any live reading: an undated copy is last known, age unknown; a dated one as of its time
    reading(nodeId(0), { distance_mm: 800 }, true);
    messages.handle(GARDEN_TOPIC, Buffer.from('1200'), true);
    reading(nodeId(1), { distance_mm: 900, ts: T0 - 60_000 }, true);
    expect(recorded.map((r) => [r.sensor, r.received, r.retained])).toEqual([
      ['tank-0000', 0, true],
      ['garden-tank', 0, true],
      ['tank-0001', T0 - 60_000, true],
    ]);
    // live readings, then the broker replays what it retained
    reading(nodeId(0), { distance_mm: 700 }, false);
    messages.handle(GARDEN_TOPIC, Buffer.from('1300'), false);
    reading(nodeId(1), { distance_mm: 850, ts: T0 - 1000 }, false);
    recorded.length = 0;
    reading(nodeId(0), { distance_mm: 800 }, true);
    messages.handle(GARDEN_TOPIC, Buffer.from('1200'), true);
    reading(nodeId(1), { distance_mm: 900, ts: T0 - 60_000 }, true);
    expect(recorded).toEqual([]);
    expect(ingest.rejectCounts().sort()).toEqual([
      ['garden', 'retained_without_time', 1],
      [nodeId(0), 'retained_without_time', 1],
      [nodeId(1), 'retained_older', 1],
    ]);
    // a dated copy newer than the live reading (missed while the link was down) is taken, as of its time
    reading(nodeId(1), { distance_mm: 880, ts: T0 - 500 }, true);
    expect(recorded.map((r) => [r.sensor, r.raw, r.ts, r.received])).toEqual([['tank-0001', 880, T0 - 500, T0 - 500]]);
  });
});

describe('an undated retained copy after a restart', () => {
  it('is refused when a dated value was restored from storage: the known time of the last reading stays', () => {
    const cfg = config({ embedded: { host: '127.0.0.1', port: 0 } });
    const recorded: Reading[] = [];
    // the reserve restored tank-0000's latest value (with its time) from SQLite before the broker replayed
    const store = { record: (r: Reading) => recorded.push(r), setDeviceOnline: () => {}, knows: (id: string) => id === 'tank-0000' };
    const ingest = new Ingest({ config: cfg, clock, events: new VillageEventHub(), store });
    const messages = new DeviceMessages({ config: cfg, clock, sink: ingest, metricOf });
    messages.handle(`${V}/dev/${nodeId(0)}/reading`, Buffer.from(JSON.stringify({ distance_mm: 800 })), true);
    messages.handle(`${V}/dev/${nodeId(1)}/reading`, Buffer.from(JSON.stringify({ distance_mm: 900 })), true);
    expect(recorded.map((r) => r.sensor)).toEqual(['tank-0001']);
    expect(ingest.rejectCounts()).toEqual([[nodeId(0), 'retained_without_time', 1]]);
  });
});

describe('retained publishes on the embedded broker', () => {
  let village: Awaited<ReturnType<typeof startTestVillage>>;
  beforeAll(async () => {
    village = await startTestVillage({ config: config({ embedded: { host: '127.0.0.1', port: 0 } }), clock });
  });
  afterAll(async () => {
    await village?.cleanup();
  });

  it("are live: an ESPHome node's retained state is current when it is published", async () => {
    const garden = await mqtt.connectAsync(village.brokerUrl, {
      username: 'garden',
      password: secretOf('garden'),
      clientId: 'garden-esp32',
      reconnectPeriod: 0,
    });
    await garden.publishAsync(GARDEN_TOPIC, '1250', { qos: 1, retain: true });
    await waitFor(() => tankOf(village, 'garden-tank').level_mm === 1250, 10_000, 'the garden level');
    expect(tankOf(village, 'garden-tank')).toMatchObject({ stale: false, last_seen: new Date(T0).toISOString() });
    await garden.endAsync();
  });
});
