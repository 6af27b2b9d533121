// The embedded broker after the outside attack round: client ids belong to their account, an
// empty client id needs a clean session, a QoS 2 retransmission is one reading, a publish to a
// forbidden topic is dropped with the connection kept, and failed logins back off. Checked on a
// started village (real aedes) with real clients and raw packets, by what is delivered and taken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { parseConfig } from '../../../config/load.ts';
import { DeviceAuth, FailureTable, hashSecret } from '../../../services/broker/auth.ts';
import { LOGIN_BACKOFF } from '../../../core/limits.ts';
import { demoConfig, startTestVillage, DEMO_SECRETS } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';
import { metricValue, scrape } from '../../robustness/helpers.ts';
import { connackCode, connectPacket, persistentConnectBytes, rawMqtt } from './raw-mqtt.ts';

const V = 'tend/ashgrove';
const SECRET = DEMO_SECRETS;

let village: Awaited<ReturnType<typeof startTestVillage>>;
const opened: MqttClient[] = [];
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  for (const c of opened) c.end(true);
  await village?.cleanup();
});

async function client(device: string, o: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(village.brokerUrl, {
    username: device,
    password: SECRET[device],
    clientId: `${device}-t-${Math.random().toString(16).slice(2)}`,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...o,
  });
  opened.push(c);
  return c;
}

function tryConnect(o: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect(village.brokerUrl, {
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      clientId: `${o.username ?? 'anon'}-t-${Math.random().toString(16).slice(2)}`,
      ...o,
    });
    c.once('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.once('error', (err) => {
      c.end(true);
      resolve((err as { code?: number }).code ?? -1);
    });
  });
}

const refused = async (reason: string) => metricValue(await scrape(village), 'tend_broker_refused_total', { reason }) ?? 0;

describe('a client id belongs to its account', () => {
  it("refuses a device logging in with another device's client id (CONNACK 2): the holder stays connected, its will does not fire", async () => {
    // tank-north online with its own id and the will the device protocol asks for
    const north = await client('tank-north', {
      clientId: 'tank-north',
      will: { topic: `${V}/dev/tank-north/status`, payload: Buffer.from('offline'), retain: true, qos: 1 },
    });
    // and with a second id in its own namespace, as the demo simulator uses
    const northSim = await client('tank-north', { clientId: 'tank-north-sim' });
    const watch = await client('tank-north', { clientId: 'tank-north-watch' });
    const statuses: string[] = [];
    watch.on('message', (_t, p) => statuses.push(p.toString()));
    await watch.subscribeAsync(`${V}/dev/tank-north/status`, { qos: 1 });
    await north.publishAsync(`${V}/dev/tank-north/reading`, '{"distance_mm": 900}', { qos: 1 });
    const before = await refused('client_id_not_own');

    // tank-school logs in with its own, correct secret but tank-north's client ids
    for (const clientId of ['tank-north', 'tank-north-watch', 'tank-north-2', 'tank-north-sim']) {
      expect(await tryConnect({ username: 'tank-school', password: SECRET['tank-school'], clientId }), clientId).toBe(2);
    }
    expect(await refused('client_id_not_own')).toBe(before + 4);

    // nothing happened to tank-north: still connected, no will, not offline, its reading current
    const sentinel = await client('tank-north', { clientId: 'tank-north-sentinel' });
    await sentinel.publishAsync(`${V}/dev/tank-north/status`, 'online', { qos: 1, retain: true });
    await waitFor(() => statuses.includes('online'), 10_000, 'the sentinel status');
    expect(statuses.filter((s) => s === 'offline')).toEqual([]);
    expect(north.connected && northSim.connected && watch.connected).toBe(true);
    expect(village.refresh().sensors.stale).not.toContain('north');
    // the log names who tried what, from where
    expect(
      village.logs.some(
        (l) => l.includes('client_id_not_own') && l.includes('user "tank-school"') && l.includes('client id "tank-north') && l.includes('127.0.0.1'),
      ),
    ).toBe(true);

    // the own account may take over its own id (a device reconnecting before the old link timed out)
    expect(await tryConnect({ username: 'tank-north', password: SECRET['tank-north'], clientId: 'tank-north-sim' })).toBe(0);
    // an id outside the account's own namespace is refused even when nobody holds it
    expect(await tryConnect({ username: 'tank-school', password: SECRET['tank-school'], clientId: 'signboard-7' })).toBe(2);
    expect(await tryConnect({ username: 'tank-school', password: SECRET['tank-school'], clientId: 'tank-school-7' })).toBe(0);
  });

  it('gives a client id of two nested device ids to the longer one', () => {
    const config = parseConfig({
      version: 1,
      village: { id: 'v', name: 'V', population: 10 },
      broker: { embedded: {} },
      storage: { dir: ':memory:' },
      devices: [
        { id: 'tank', secret: 'tank-secret-1' },
        { id: 'tank-north', secret: 'north-secret-1' },
      ],
    });
    const auth = new DeviceAuth(config, () => []);
    expect(auth.ownerOfClientId('tank')).toBe('tank');
    expect(auth.ownerOfClientId('tank-1')).toBe('tank');
    expect(auth.ownerOfClientId('tank-north')).toBe('tank-north');
    expect(auth.ownerOfClientId('tank-north-esp32-a1b2')).toBe('tank-north');
    expect(auth.ownerOfClientId('tanks')).toBeUndefined();
    expect(auth.ownerOfClientId('sim-tank')).toBeUndefined();
    expect(auth.ownerOfClientId('')).toBeUndefined();
  });

  it('refuses an empty client id with CleanSession 0 (CONNACK 2) [MQTT-3.1.3-8], takes it with CleanSession 1', async () => {
    const login = { username: 'tank-hill', password: Buffer.from(SECRET['tank-hill']!), clientId: '' };
    const before = await refused('client_id_empty_persistent');
    const persistent = await rawMqtt(village.brokerPort);
    persistent.sendBytes(persistentConnectBytes(login));
    expect((await persistent.next<mqttPacket.IConnackPacket>('connack')).returnCode).toBe(2);
    persistent.close();
    // the same with a client id is a persistent session as usual
    const named = await rawMqtt(village.brokerPort);
    named.sendBytes(persistentConnectBytes({ ...login, clientId: 'tank-hill-p' }));
    expect((await named.next<mqttPacket.IConnackPacket>('connack')).returnCode).toBe(0);
    named.close();
    const clean = await connackCode(village.brokerPort, { ...login, clean: true });
    expect(clean.code).toBe(0);
    clean.conn.close();
    expect(await refused('client_id_empty_persistent')).toBe(before + 1);
  });
});

describe('a QoS 2 reading resent with DUP', () => {
  it('is one reading, also when both copies arrive in one TCP segment; the packet id is free again after PUBREL', async () => {
    const conn = await rawMqtt(village.brokerPort);
    conn.send(connectPacket({ clientId: 'tank-school-q2', username: 'tank-school', password: Buffer.from(SECRET['tank-school']!) }));
    expect((await conn.next<mqttPacket.IConnackPacket>('connack')).returnCode).toBe(0);
    const accepted = () => village.ingest.accepted.get('tank-school') ?? 0;
    const start = accepted();
    const publish = (messageId: number, kpa: number, dup: boolean): mqttPacket.IPublishPacket => ({
      cmd: 'publish',
      topic: `${V}/dev/tank-school/reading`,
      payload: Buffer.from(JSON.stringify({ pressure_kpa: kpa })),
      qos: 2,
      dup,
      retain: false,
      messageId,
    });
    // the first copy and a retransmission in one write, then another retransmission after PUBREC
    conn.send(publish(7, 9.1, false), publish(7, 9.1, true));
    await conn.next('pubrec');
    conn.send(publish(7, 9.1, true));
    await conn.next('pubrec');
    await conn.next('pubrec');
    conn.send({ cmd: 'pubrel', messageId: 7 });
    await conn.next('pubcomp');
    // a QoS 1 sentinel after it: once it is in, anything the copies did is in too
    conn.send({
      cmd: 'publish',
      topic: `${V}/dev/tank-school/reading`,
      payload: Buffer.from('{"pressure_kpa": 9.2}'),
      qos: 1,
      dup: false,
      retain: false,
      messageId: 8,
    });
    await conn.next('puback');
    await waitFor(() => accepted() >= start + 2, 10_000, 'the sentinel reading');
    expect(accepted()).toBe(start + 2);
    // after PUBREL the id starts a new message (DUP 0): a new reading
    conn.send(publish(7, 9.3, false));
    await conn.next('pubrec');
    conn.send({ cmd: 'pubrel', messageId: 7 });
    await conn.next('pubcomp');
    await waitFor(() => accepted() === start + 3, 10_000, 'the new QoS 2 reading');
    expect(conn.isClosed()).toBe(false);
    expect(await refused('qos2_duplicate')).toBeGreaterThanOrEqual(2);
    conn.close();
  });
});

describe('a publish to a topic the client may not use', () => {
  it("is dropped and the connection kept: an ESPHome node's retained discovery message, then its reading, lands", async () => {
    const before = await refused('publish_not_allowed');
    const acceptedBefore = village.ingest.accepted.get('tank-hill') ?? 0;
    const esp = await client('tank-hill', { clientId: 'tank-hill-esp32' });
    let closed = false;
    esp.on('close', () => {
      closed = true;
    });
    // what ESPHome sends on every connect with default settings: retained, QoS 0 and QoS 1
    await esp.publishAsync('esphome/discover/tank-hill', '{"name":"tank-hill","ip":"10.0.0.7"}', { qos: 0, retain: true });
    // a QoS 1 publish gets its PUBACK as usual (MQTT 3.1.1 has no refusal code for a PUBLISH)
    await esp.publishAsync('homeassistant/sensor/tank-hill/level/config', '{"name":"level"}', { qos: 1, retain: true });
    await esp.publishAsync(`${V}/dev/tank-hill/reading`, '{"level_mm": 1200}', { qos: 1 });
    await waitFor(() => (village.ingest.accepted.get('tank-hill') ?? 0) > acceptedBefore, 10_000, 'the reading after the refused publishes');
    await waitFor(() => village.refresh().water.tanks.find((t) => t.id === 'hill')!.liters === 9800, 10_000, 'the hill tank at 9800 L');
    expect(closed).toBe(false);
    expect(esp.connected).toBe(true);
    expect(await refused('publish_not_allowed')).toBe(before + 2);
    expect(
      village.logs.some(
        (l) =>
          l.includes('publish_not_allowed') &&
          l.includes('user "tank-hill"') &&
          l.includes('client id "tank-hill-esp32"') &&
          l.includes('esphome/discover/tank-hill'),
      ),
    ).toBe(true);
    // nothing of it is delivered or retained: a subscriber entitled to the outputs sees none of it
    const late = await client('tank-hill', { clientId: 'tank-hill-late' });
    const got: string[] = [];
    late.on('message', (t) => got.push(t));
    await late.subscribeAsync([`${V}/dev/tank-hill/#`, `${V}/reserve`], { qos: 1 });
    await waitFor(() => got.includes(`${V}/reserve`), 10_000, 'the retained reserve');
    expect(got.filter((t) => t.startsWith('esphome') || t.startsWith('homeassistant') || t.startsWith('$'))).toEqual([]);
  });

  it('still closes the connection on a protocol violation (U+0000 in a topic [MQTT-1.5.3-2])', async () => {
    const conn = await rawMqtt(village.brokerPort);
    conn.send(connectPacket({ clientId: 'tank-hill-nul', username: 'tank-hill', password: Buffer.from(SECRET['tank-hill']!) }));
    expect((await conn.next<mqttPacket.IConnackPacket>('connack')).returnCode).toBe(0);
    conn.send({ cmd: 'publish', topic: `${V}/dev/tank-hill/reading\0x`, payload: Buffer.from('{"level_mm": 5}'), qos: 0, dup: false, retain: false });
    await waitFor(() => conn.isClosed(), 10_000, 'the broker to close the connection');
  });
});

describe('failed logins back off', () => {
  /** a clock the test moves by hand */
  const clockAt = (t: number) => {
    const clock = { t, now: () => clock.t };
    return clock;
  };

  it('refuses the try after N failures for a username, growing and capped, and forgives after a good login', async () => {
    const clock = clockAt(1_000_000);
    const auth = new DeviceAuth(demoConfig(), () => [], clock);
    const right = Buffer.from(SECRET['tank-north']!);
    const wrong = Buffer.from('guess');
    for (let i = 0; i < LOGIN_BACKOFF.freeFailures; i++)
      expect(await auth.login('tank-north', wrong, '10.0.0.9')).toMatchObject({ ok: false, reason: 'bad_login' });
    // the next try is refused without looking at the password, even the right one
    expect(await auth.login('tank-north', right, '10.0.0.9')).toEqual({ ok: false, reason: 'login_backoff', waitMs: LOGIN_BACKOFF.firstDelayMs });
    // from another address too: the username backs off
    expect(await auth.login('tank-north', right, '10.0.0.10')).toMatchObject({ ok: false, reason: 'login_backoff' });
    // another username is not held up
    expect(await auth.login('tank-school', Buffer.from(SECRET['tank-school']!), '10.0.0.10')).toEqual({ ok: true });
    // each further failure doubles the wait, up to the cap
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      clock.t += LOGIN_BACKOFF.maxDelayMs;
      expect(await auth.login('tank-north', wrong, '10.0.0.9')).toMatchObject({ reason: 'bad_login' });
      const r = await auth.login('tank-north', right, '10.0.0.9');
      waits.push(r.ok ? 0 : r.waitMs);
    }
    expect(waits).toEqual([2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000]);
    // once the wait is over, the right secret gets in, and the slate is clean
    clock.t += LOGIN_BACKOFF.maxDelayMs;
    expect(await auth.login('tank-north', right, '10.0.0.9')).toEqual({ ok: true });
    expect(await auth.login('tank-north', wrong, '10.0.0.9')).toMatchObject({ reason: 'bad_login' });
    expect(await auth.login('tank-north', right, '10.0.0.9')).toEqual({ ok: true });
  });

  it('backs off an address guessing many usernames', async () => {
    const clock = clockAt(5_000_000);
    const auth = new DeviceAuth(demoConfig(), () => [], clock);
    for (let i = 0; i < LOGIN_BACKOFF.freeFailuresPerAddress; i++) {
      expect(await auth.login(`guess-${i}`, Buffer.from('x'), '10.0.0.66')).toMatchObject({ reason: 'bad_login' });
    }
    expect(await auth.login('tank-north', Buffer.from(SECRET['tank-north']!), '10.0.0.66')).toMatchObject({ reason: 'login_backoff' });
    // a device elsewhere is not held up
    expect(await auth.login('tank-north', Buffer.from(SECRET['tank-north']!), '10.0.0.67')).toEqual({ ok: true });
    clock.t += LOGIN_BACKOFF.firstDelayMs;
    expect(await auth.login('tank-north', Buffer.from(SECRET['tank-north']!), '10.0.0.66')).toEqual({ ok: true });
  });

  it('forgets the least recently failed key past its bound (usernames come from the wire)', () => {
    const t = new FailureTable(1, { firstDelayMs: 1000, maxDelayMs: 60_000, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) t.failed(k, 0);
    expect(t.size).toBe(3);
    expect(t.waitMs('a', 0)).toBe(0);
    expect(t.waitMs('d', 0)).toBe(1000);
  });

  it('through the broker: the try after N failures gets CONNACK 5, on the village clock', async () => {
    const clock = clockAt(Date.now());
    const v = await startTestVillage({ clock });
    try {
      const code = (password: string) =>
        new Promise<number>((resolve) => {
          const c = mqtt.connect(v.brokerUrl, { username: 'tank-hill', password, clientId: 'tank-hill-bo', reconnectPeriod: 0, connectTimeout: 10_000 });
          c.once('connect', () => {
            c.end(true);
            resolve(0);
          });
          c.once('error', (err) => {
            c.end(true);
            resolve((err as { code?: number }).code ?? -1);
          });
        });
      for (let i = 0; i < LOGIN_BACKOFF.freeFailures; i++) expect(await code('wrong')).toBe(4);
      expect(await code(SECRET['tank-hill']!)).toBe(5);
      expect(metricValue(await (await fetch(`${v.webUrl}/metrics`)).text(), 'tend_broker_refused_total', { reason: 'login_backoff' })).toBe(1);
      expect(v.logs.some((l) => l.includes('login_backoff') && l.includes('user "tank-hill"') && l.includes('127.0.0.1'))).toBe(true);
      clock.t += LOGIN_BACKOFF.firstDelayMs;
      expect(await code(SECRET['tank-hill']!)).toBe(0);
    } finally {
      await v.cleanup();
    }
  });
});

describe('every failed login costs the same', () => {
  it('with a hashed secret in the config: one scrypt for a wrong hashed secret, an unknown username and a wrong plain secret', async () => {
    const config = demoConfig();
    const hashed = config.devices.find((d) => d.id === 'tank-hill')!;
    hashed.secret_hash = await hashSecret(hashed.secret!);
    delete hashed.secret;
    const auth = new DeviceAuth(config, () => []);
    const cost = async (user: string, pw: string) => {
      const before = auth.scryptCalls;
      const ok = await auth.check(user, Buffer.from(pw));
      return { ok, scrypts: auth.scryptCalls - before };
    };
    expect(await cost('tank-hill', 'wrong')).toEqual({ ok: false, scrypts: 1 });
    expect(await cost('no-such-device', 'wrong')).toEqual({ ok: false, scrypts: 1 });
    expect(await cost('tank-north', 'wrong')).toEqual({ ok: false, scrypts: 1 });
    // the right secrets: a plain one is a hash compare; a hashed one an scrypt once, then cached
    expect(await cost('tank-north', SECRET['tank-north']!)).toEqual({ ok: true, scrypts: 0 });
    expect(await cost('tank-hill', SECRET['tank-hill']!)).toEqual({ ok: true, scrypts: 1 });
    expect(await cost('tank-hill', SECRET['tank-hill']!)).toEqual({ ok: true, scrypts: 0 });
    expect(await cost('tank-hill', 'wrong again')).toEqual({ ok: false, scrypts: 1 });
  });

  it('with plain secrets only: no scrypt at all, for known and unknown usernames alike', async () => {
    const auth = new DeviceAuth(demoConfig(), () => []);
    expect(await auth.check('tank-north', Buffer.from('wrong'))).toBe(false);
    expect(await auth.check('no-such-device', Buffer.from('wrong'))).toBe(false);
    expect(auth.scryptCalls).toBe(0);
  });
});
