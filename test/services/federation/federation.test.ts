// Seven villages federated through a real Mosquitto (password file + ACL fed/%u/#) started by
// the test on a free loopback port. Each village is a Federation on its own storage and event hub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { makeIncident, makePrompt, startTestVillage, type TestVillage } from './fixtures.ts';
import { startRadioLink, type RadioLink } from './radio-link.ts';
import type { FederationView } from '../../../services/federation/federation.ts';

const NAMES = ['ashgrove', 'birchwell', 'cedarford', 'dunmere', 'elmstead', 'fernhill', 'glenrock'];
const EXTRA = ['mallow', 'stray'];

let broker: Mosquitto;
/** elmstead reaches the broker over a radio link the test can cut */
let radio: RadioLink;
let tmp: { dir: string; remove(): void };
const villages: TestVillage[] = [];
const clients: mqtt.MqttClient[] = [];

/** 180 people at 15 L/day use 2,700 L/day at minimum; each village gets its own tank level */
const litresOf = (i: number) => 40_000 + i * 5_000;

beforeAll(async () => {
  tmp = tempDir('tend-fed-');
  const users: Record<string, string> = {};
  for (const n of [...NAMES, ...EXTRA]) users[n] = `pw-${n}`;
  broker = await startMosquitto({ users });
  radio = await startRadioLink(broker.port);
  NAMES.forEach((n, i) => {
    villages.push(startTestVillage(n, n === 'elmstead' ? radio.url : broker.url, tmp.dir, { knobs: { liters: litresOf(i) } }));
  });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(villages.map((v) => v.stop().catch(() => {})));
  await radio?.close();
  await broker?.close();
  tmp?.remove();
}, 60_000);

const byId = (id: string) => villages.find((v) => v.id === id)!;
const neighbour = (view: FederationView, id: string) => view.neighbours.find((n) => n.village === id);
const round1 = (n: number) => Math.round(n * 10) / 10;

function rawClient(user: string): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(broker.url, {
    username: user,
    password: `pw-${user}`,
    protocolVersion: 5,
    reconnectPeriod: 0,
    clientId: `test-${user}-${Math.random().toString(16).slice(2)}`,
  });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('federation over a real Mosquitto', () => {
  it('each of seven villages sees the other six, fresh, with their figures', async () => {
    await waitFor(
      () =>
        villages.every((v) => {
          const view = v.fed.view();
          return view.connected && view.neighbours.length === 6 && view.neighbours.every((n) => !n.stale && n.water_days_minimum !== null);
        }),
      30_000,
      'all villages to see six fresh neighbours',
    );
    const view = byId('ashgrove').fed.view();
    expect(view.village).toBe('ashgrove');
    expect(view.neighbours.map((n) => n.village)).toEqual(NAMES.filter((n) => n !== 'ashgrove'));
    const g = neighbour(view, 'glenrock')!;
    expect(g.water_days_minimum).toBe(round1(litresOf(6) / 2700));
    expect(g.cold_at_risk).toBe(0);
    expect(g.incident_open).toBe(false);
    expect(g.heard_at).not.toBeNull();
    // every field the contract fixes for GET /api/federation
    for (const key of ['village', 'heard_at', 'water_days_current', 'water_days_minimum', 'power_hours_left', 'cold_at_risk', 'incident_open', 'offer']) {
      expect(g).toHaveProperty(key);
    }
    // 70,000 L minus 7 days × 2,700 L = 51,100 → "about 51,000"
    expect(g.offer).toContain('can share about 51,000 litres of water');
  }, 60_000);

  it("one village's storm incident shows on the others, without its notes, and its prompt lists their offers", async () => {
    const a = byId('ashgrove');
    const now = Date.now();
    a.knobs = { liters: 6_000, draw_lph: 900, water_status: 'critical', power_status: 'strained', cold_status: 'watch' };
    a.events.emit('incident', makeIncident('inc-storm', now));
    a.events.emit(
      'assembly',
      makePrompt('inc-storm', now, { notes: [{ at: new Date(now).toISOString(), author: 'Mara Quill', text: 'Jon is hurt, at the clinic' }] }),
    );
    a.tick();
    for (const v of villages.filter((x) => x !== a)) {
      await waitFor(
        () => {
          const n = neighbour(v.fed.view(), 'ashgrove');
          return (
            n?.incident_open && n.incidents[0]?.headline && n.cold_at_risk === 1 && n.water_days_minimum === round1(6000 / 2700) && n.offer === null && !n.stale
          );
        },
        20_000,
        `${v.id} to see ashgrove's storm`,
      );
    }
    const incidents = byId('birchwell')
      .fed.view()
      .neighbours.find((n) => n.village === 'ashgrove')!.incidents;
    expect(incidents[0]!.headline).toMatch(/Storm damage/);

    // what the broker holds is what a neighbour gets: no note text, no names
    const spy = await rawClient('mallow');
    const retained = await new Promise<string>((resolve) => {
      spy.on('message', (topic, payload) => {
        if (topic === 'fed/ashgrove/incidents') resolve(payload.toString());
      });
      spy.subscribe('fed/ashgrove/incidents', { qos: 1 });
    });
    expect(retained).toContain('inc-storm');
    expect(retained).not.toContain('Mara');
    expect(retained).not.toContain('clinic');

    // the assembly prompt's neighbours section: the six others' offers, fresh
    const offers = a.fed.offers();
    expect(offers.map((o) => o.village).sort()).toEqual(NAMES.filter((n) => n !== 'ashgrove'));
    expect(offers.every((o) => !o.stale && /can share about [\d,]+ litres/.test(o.offer))).toBe(true);
  }, 60_000);

  it('an edited offer goes out at once, survives a restart, and can be withdrawn', async () => {
    const c = byId('cedarford');
    c.fed.setOffer('two spare water filters and a repair crew on day 2');
    await waitFor(
      () => neighbour(byId('dunmere').fed.view(), 'cedarford')?.offer === 'two spare water filters and a repair crew on day 2',
      20_000,
      'edited offer',
    );
    expect(() => c.fed.setOffer('x'.repeat(501))).toThrow(/at most 500/);

    // restart cedarford on the same storage: the edit is kept
    const idx = villages.indexOf(c);
    await c.stop();
    const c2 = startTestVillage('cedarford', broker.url, tmp.dir, { knobs: c.knobs });
    villages[idx] = c2;
    await waitFor(() => c2.fed.view().connected, 20_000, 'cedarford back');
    expect(c2.fed.view().own).toMatchObject({ offer: 'two spare water filters and a repair crew on day 2', offer_source: 'edited' });

    c2.fed.setOffer(null, true);
    await waitFor(
      () => {
        const n = neighbour(byId('dunmere').fed.view(), 'cedarford');
        return n && n.offer === null && !n.stale;
      },
      20_000,
      'withdrawn offer',
    );
    c2.fed.setOffer(null);
    await waitFor(() => /can share about/.test(neighbour(byId('dunmere').fed.view(), 'cedarford')?.offer ?? ''), 20_000, 'computed offer back');
  }, 60_000);

  it('refuses a village publishing under another village’s prefix (checked by what is delivered)', async () => {
    const intruder = await rawClient('mallow');
    const watcher = await rawClient('stray');
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync('fed/#', { qos: 1 });
    const forged = JSON.stringify({
      v: 1,
      at: new Date().toISOString(),
      water_days_current: 999,
      water_days_minimum: 999,
      power_hours_left: 999,
      cold_at_risk: 0,
      sensors_online: 6,
      sensors_total: 6,
    });
    // MQTT 5: Mosquitto answers PUBACK 0x87 (not authorized) and drops the message
    const refused = await intruder.publishAsync('fed/birchwell/summary', forged, { qos: 1, retain: true }).then(
      () => null,
      (err: { code?: number }) => err.code,
    );
    expect(refused).toBe(0x87);
    // a marker the intruder may publish; once it arrives, the forged one would have arrived before it
    await intruder.publishAsync('fed/mallow/marker', 'after', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'fed/mallow/marker'), 10_000, 'marker');
    // the forged figures, not any 999 (a legitimate summary's time may end in .999Z)
    expect(seen.filter((m) => m.payload.includes('"water_days_minimum":999'))).toEqual([]);
    for (const v of villages) expect(neighbour(v.fed.view(), 'birchwell')?.water_days_minimum ?? 0).not.toBe(999);

    // a village whose login does not match its id is refused too, and counts it
    const stray = startTestVillage('strayvillage', broker.url, tmp.dir, { username: 'stray', password: 'pw-stray' });
    try {
      await waitFor(() => stray.fed.metrics().refused > 0, 20_000, 'refused publishes counted');
      expect(neighbour(byId('elmstead').fed.view(), 'strayvillage')).toBeUndefined();
    } finally {
      await stray.stop();
    }
  }, 60_000);

  it("counts and ignores a neighbour's malformed news, without a crash", async () => {
    const m = await rawClient('mallow');
    await m.publishAsync('fed/mallow/summary', 'not json {', { qos: 1, retain: true });
    await m.publishAsync('fed/mallow/offer', JSON.stringify({ v: 1, at: 'yesterday', text: 'x' }), { qos: 1, retain: true });
    const f = byId('fernhill').fed;
    await waitFor(() => f.metrics().rejected.not_json > 0 && f.metrics().rejected.bad_fields > 0, 10_000, 'rejections counted');
    expect(neighbour(f.view(), 'mallow')).toBeUndefined();
    await m.publishAsync('fed/mallow/summary', '', { qos: 1, retain: true });
    await m.publishAsync('fed/mallow/offer', '', { qos: 1, retain: true });
  }, 30_000);

  it("one village's radio link cut: neighbours see it offline and stale, then fresh again", async () => {
    const e = byId('elmstead');
    await waitFor(
      () =>
        villages.every((v) =>
          v.fed
            .view()
            .neighbours.filter((n) => NAMES.includes(n.village))
            .every((n) => !n.stale),
        ),
      30_000,
      'fresh before the cut',
    );
    radio.cut();
    await waitFor(() => !e.fed.view().connected, 20_000, 'elmstead to notice');
    // the broker sends elmstead's will (retained link offline) when its connection drops
    for (const v of villages.filter((x) => x !== e)) {
      await waitFor(
        () => {
          const n = neighbour(v.fed.view(), 'elmstead');
          return n?.stale && n.link === 'offline';
        },
        20_000,
        `${v.id} to see elmstead offline`,
      );
    }
    expect(e.fed.view().neighbours.every((n) => n.stale)).toBe(true);
    radio.restore();
    for (const v of villages.filter((x) => x !== e)) {
      await waitFor(
        () => {
          const n = neighbour(v.fed.view(), 'elmstead');
          return n && !n.stale && n.link === 'online';
        },
        20_000,
        `${v.id} to see elmstead back`,
      );
    }
  }, 90_000);

  it('broker stopped and restored: local work goes on, then all converge and nothing stale is shown as fresh', async () => {
    const e = byId('elmstead');
    const others = villages.filter((x) => x !== e);
    await waitFor(
      () =>
        villages.every((v) =>
          v.fed
            .view()
            .neighbours.filter((n) => NAMES.includes(n.village))
            .every((n) => !n.stale),
        ),
      30_000,
      'fresh before the cut',
    );
    const before = neighbour(byId('ashgrove').fed.view(), 'elmstead')!.water_days_minimum;

    // the storm takes down the broker's host, and elmstead's radio with it
    const cutAt = Date.now();
    await broker.stop();
    radio.cut();
    await waitFor(() => villages.every((v) => !v.fed.view().connected), 20_000, 'all to notice the cut');
    for (const v of villages) {
      const view = v.fed.view();
      expect(view.neighbours.length).toBeGreaterThanOrEqual(6);
      // last heard is still shown, but as stale
      expect(view.neighbours.every((n) => n.stale && n.heard_at !== null)).toBe(true);
      expect(v.fed.link().state).not.toBe('connected');
    }
    // local work during the cut: the village's events flow, its own offer and summary follow
    e.knobs = { liters: 21_600, draw_lph: 300, water_status: 'strained' }; // 8 days at minimum → no water to share
    e.events.emit('incident', makeIncident('inc-cut', Date.now(), { domains: ['water'], crisis: false }));
    e.tick();
    expect(e.fed.view().own.offer).toBeNull();
    const after = round1(21_600 / 2700);
    expect(after).not.toBe(before);

    // a neighbour shown fresh must never show elmstead's pre-cut figure
    const wrongFresh: string[] = [];
    const watch = setInterval(() => {
      for (const v of others) {
        const n = neighbour(v.fed.view(), 'elmstead');
        if (n && !n.stale && n.water_days_minimum !== after) wrongFresh.push(`${v.id} saw ${n.water_days_minimum} as fresh`);
      }
    }, 20);
    try {
      // the broker is back (with its saved retained news) but elmstead's radio is still down:
      // the broker replays elmstead's pre-cut news, which the others show as last heard, stale
      await broker.start();
      await waitFor(
        () =>
          others.every((v) => {
            const view = v.fed.view();
            const rest = view.neighbours.filter((n) => NAMES.includes(n.village) && n.village !== 'elmstead');
            return view.connected && rest.length === 5 && rest.every((n) => !n.stale);
          }),
        40_000,
        'the six to converge',
      );
      for (const v of others) {
        const n = neighbour(v.fed.view(), 'elmstead')!;
        expect(n.stale).toBe(true);
        expect(n.water_days_minimum).toBe(before);
        expect(Date.parse(n.heard_at!)).toBeLessThanOrEqual(cutAt);
      }

      radio.restore();
      await waitFor(
        () =>
          villages.every((v) => {
            const view = v.fed.view();
            const rest = view.neighbours.filter((n) => NAMES.includes(n.village));
            return view.connected && rest.length === 6 && rest.every((n) => !n.stale);
          }),
        40_000,
        'all seven to converge',
      );
    } finally {
      clearInterval(watch);
    }
    expect(wrongFresh).toEqual([]);
    for (const v of others) {
      const n = neighbour(v.fed.view(), 'elmstead')!;
      expect(n.water_days_minimum).toBe(after);
      expect(n.incident_open).toBe(true);
    }
  }, 120_000);
});
