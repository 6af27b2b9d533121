// A neighbour's summary is refused, counted and logged (rate-limited) when its figures cannot be
// true or its display name is another village's (a known neighbour's, or ours); a village never
// publishes a summary its neighbours would refuse. The pure checks first, then through a real
// Mosquitto with the README's ACL, where one member village publishes such summaries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { NeighbourBook } from '../../../services/federation/neighbours.ts';
import { summarize } from '../../../services/federation/summary.ts';
import { decodeFed, FedPayloadError, type FedMessage, type FedSummary } from '../../../services/federation/topics.ts';
import { USERNAME_AS_CLIENT_ID, startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { makeStatus, startTestVillage, type TestVillage } from './fixtures.ts';

const T0 = Date.parse('2026-11-20T06:00:00Z');

function wire(over: Record<string, unknown> = {}, at = T0): Record<string, unknown> {
  return {
    v: 1,
    at: new Date(at).toISOString(),
    name: 'Mallow',
    water_days_current: 12,
    water_days_minimum: 20,
    water_percent: 60,
    power_hours_left: 30,
    power_soc_percent: 70,
    cold_at_risk: 0,
    sensors_online: 5,
    sensors_total: 6,
    ...over,
  };
}

function reason(text: string): string {
  try {
    decodeFed('summary', Buffer.from(text));
    return 'accepted';
  } catch (err) {
    return err instanceof FedPayloadError ? `${err.reason}: ${err.message}` : String(err);
  }
}

const summaryMsg = (name: string): FedMessage => ({ kind: 'summary', body: wire({ name }) as FedSummary });

describe('impossible figures', () => {
  it('refuses negative days and hours, percentages outside 0–100, more sensors online than there are, non-finite numbers', () => {
    expect(reason(JSON.stringify(wire()))).toBe('accepted');
    expect(reason(JSON.stringify(wire({ water_days_current: -3 })))).toBe('impossible: water_days_current is -3; it cannot be negative');
    expect(reason(JSON.stringify(wire({ water_days_minimum: -0.1 })))).toBe('impossible: water_days_minimum is -0.1; it cannot be negative');
    expect(reason(JSON.stringify(wire({ power_hours_left: -1 })))).toBe('impossible: power_hours_left is -1; it cannot be negative');
    expect(reason(JSON.stringify(wire({ water_percent: 140 })))).toBe('impossible: water_percent is 140; a percentage is 0–100');
    expect(reason(JSON.stringify(wire({ power_soc_percent: -5 })))).toBe('impossible: power_soc_percent is -5; a percentage is 0–100');
    expect(reason(JSON.stringify(wire({ sensors_online: 9 })))).toBe('impossible: sensors_online is 9, more than sensors_total 6');
    // JSON has no Infinity, but 1e400 parses to it: refused with the fields that cannot be read
    expect(reason(JSON.stringify(wire()).replace('"water_days_current":12', '"water_days_current":1e400'))).toMatch(/^bad_fields: water_days_current/);
    // the limits themselves, and unknown figures, are possible
    expect(reason(JSON.stringify(wire({ water_days_current: 0, water_percent: 100, power_soc_percent: 0, sensors_online: 6 })))).toBe('accepted');
    expect(reason(JSON.stringify(wire({ water_days_current: null, water_percent: null, power_hours_left: null })))).toBe('accepted');
  });

  it('never publishes figures its neighbours would refuse, whatever one odd sensor says', () => {
    const status = makeStatus('ashgrove', T0, { soc: 104, online: 7 });
    status.water.percent = 101.4;
    status.water.days_left_current = -2;
    status.power.hours_left = -0.5;
    const s = summarize(status);
    expect(s).toMatchObject({
      power_soc_percent: 100,
      water_percent: 100,
      water_days_current: null,
      power_hours_left: null,
      sensors_online: 6,
      sensors_total: 6,
    });
    expect(decodeFed('summary', Buffer.from(JSON.stringify(s))).body).toEqual(s);
  });
});

describe('copied names', () => {
  it("refuses our own name or id and another known village's name or id, folded as people read them", () => {
    const b = new NeighbourBook('ashgrove', 1000, 'Ashgrove Valley');
    b.apply('birchwell', summaryMsg('Birchwell'), T0, false);
    b.apply('cedarford', summaryMsg('Cedar Ford Hamlet'), T0, false);
    expect(b.nameCopies('mallow', 'Mallow')).toBeNull();
    expect(b.nameCopies('mallow', 'Ashgrove Valley')).toBe('ashgrove');
    expect(b.nameCopies('mallow', 'ASHGROVE')).toBe('ashgrove');
    expect(b.nameCopies('mallow', 'Birch-Well')).toBe('birchwell');
    expect(b.nameCopies('mallow', 'ＢＩＲＣＨＷＥＬＬ')).toBe('birchwell');
    expect(b.nameCopies('mallow', 'Cedar\u200bford  hamlet')).toBe('cedarford');
    expect(b.nameCopies('mallow', 'cedarford')).toBe('cedarford');
    // a village keeps its own name across summaries
    expect(b.nameCopies('birchwell', 'Birchwell')).toBeNull();
    expect(b.nameCopies('cedarford', 'Cedar Ford Hamlet')).toBeNull();
  });

  it('lets the real village use its own id as its name even after another took it first', () => {
    const b = new NeighbourBook('ashgrove');
    b.apply('mallow', summaryMsg('Birchwell'), T0, false);
    expect(b.nameCopies('birchwell', 'Birchwell')).toBeNull();
    b.apply('birchwell', summaryMsg('Birchwell'), T0, false);
    // from now on the copy is refused when mallow next speaks
    expect(b.nameCopies('mallow', 'Birchwell')).toBe('birchwell');
  });
});

describe('through a real Mosquitto', () => {
  let broker: Mosquitto;
  let tmp: { dir: string; remove(): void };
  let ashgrove: TestVillage;
  let birchwell: TestVillage;
  let mallow: mqtt.MqttClient;
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('tend-fed-checks-');
    broker = await startMosquitto({ users: { ashgrove: 'pw-ashgrove', birchwell: 'pw-birchwell', mallow: 'pw-mallow' }, extraConfig: USERNAME_AS_CLIENT_ID });
    ashgrove = startTestVillage('ashgrove', broker.url, tmp.dir, { log: (m) => logs.push(m) });
    birchwell = startTestVillage('birchwell', broker.url, tmp.dir);
    mallow = mqtt.connect(broker.url, { username: 'mallow', password: 'pw-mallow', protocolVersion: 5, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      mallow.once('connect', () => resolve());
      mallow.once('error', reject);
    });
  }, 60_000);

  afterAll(async () => {
    await mallow?.endAsync(true).catch(() => {});
    await ashgrove?.stop();
    await birchwell?.stop();
    await broker?.close();
    tmp?.remove();
  }, 60_000);

  it('refuses, counts and logs (rate-limited) what cannot be true or copies a name; the honest summary after them shows', async () => {
    await waitFor(() => ashgrove.fed.view().neighbours.find((n) => n.village === 'birchwell' && n.name === 'Birchwell'), 20_000, 'birchwell known');
    const publish = (body: Record<string, unknown>) => mallow.publishAsync('fed/mallow/summary', JSON.stringify(body), { qos: 1, retain: true });
    const at = () => Date.now();
    // in order on one connection, so once the last is seen the others were taken or refused
    await publish(wire({ water_days_current: -3 }, at()));
    await publish(wire({ water_percent: 140 }, at()));
    await publish(wire({ sensors_online: 60 }, at()));
    await publish(wire({ name: 'Birchwell' }, at()));
    await publish(wire({ name: 'ashgrove' }, at()));
    await publish(wire({ name: 'Mallow', water_days_current: 8.5 }, at()));
    const f = ashgrove.fed;
    await waitFor(() => f.view().neighbours.find((n) => n.village === 'mallow'), 10_000, 'the honest summary');
    expect(f.metrics().rejected).toMatchObject({ impossible: 3, name_copied: 2 });
    const mallowView = f.view().neighbours.find((n) => n.village === 'mallow')!;
    expect(mallowView).toMatchObject({ name: 'Mallow', water_days_current: 8.5 });
    // birchwell is still itself
    expect(f.view().neighbours.find((n) => n.village === 'birchwell')?.name).toBe('Birchwell');
    // one line per neighbour and reason a minute, however many arrive
    const impossible = logs.filter((l) => l.includes('fed/mallow/summary') && l.includes('impossible'));
    const copied = logs.filter((l) => l.includes('fed/mallow/summary') && l.includes('name_copied'));
    expect(impossible.length).toBeGreaterThanOrEqual(1);
    expect(impossible.length).toBeLessThanOrEqual(2);
    expect(impossible[0]).toBe('federation: refused fed/mallow/summary from a neighbour: impossible (water_days_current is -3; it cannot be negative)');
    expect(copied.length).toBeGreaterThanOrEqual(1);
    expect(copied.length).toBeLessThanOrEqual(2);
    expect(copied[0]).toBe('federation: refused fed/mallow/summary from a neighbour: name_copied ("Birchwell" is the name of birchwell)');
    await mallow.publishAsync('fed/mallow/summary', '', { qos: 1, retain: true });
  }, 60_000);
});
