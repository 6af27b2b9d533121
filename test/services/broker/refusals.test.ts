// The installer's diagnostics on a real village with its embedded broker: every refused login,
// subscribe and publish is logged with username, client id, topic and reason, counted per device
// on /metrics, and the device's last refusal shows with its sensors on GET /api/sensors. A client
// id belongs to its account: `<username>` or `<username>-…` (issue: client-id takeover).
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { checkText } from '../../../services/assembly/language.ts';
import { launchBrowser } from '../../helpers/browser.ts';
import { getJson, startTestVillage, DEMO_SECRETS } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';
import { metricValue, scrape } from '../../robustness/helpers.ts';

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

/** CONNACK return code of one login (0 accepted) */
function tryConnect(o: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect(village.brokerUrl, { reconnectPeriod: 0, connectTimeout: 10_000, ...o });
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

async function device(id: string, clientId = `${id}-t`): Promise<MqttClient> {
  const c = await mqtt.connectAsync(village.brokerUrl, { username: id, password: SECRET[id], clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
  opened.push(c);
  return c;
}

const refused = async (labels: Record<string, string>) => metricValue(await scrape(village), 'tend_broker_refused_total', labels) ?? 0;

interface Sensor {
  id: string;
  device: string;
  last_refusal?: { at: string; action: string; reason: string; why: string; client_id: string; topic?: string };
}
const sensorsOf = async (dev: string) => (await getJson<{ sensors: Sensor[] }>(`${village.webUrl}/api/sensors`)).sensors.filter((s) => s.device === dev);

describe('a client id belongs to its account', () => {
  it("refuses another account's namespace and a foreign id with CONNACK 2, counted per device", async () => {
    const school = { username: 'tank-school', password: SECRET['tank-school'] };
    const before = await refused({ device: 'tank-school', action: 'login', reason: 'client_id_not_own' });
    // tank-north's namespace, and an id in nobody's
    expect(await tryConnect({ ...school, clientId: 'tank-north-esp32' })).toBe(2);
    expect(await tryConnect({ ...school, clientId: 'signboard-7' })).toBe(2);
    // a prefix that only looks like the account's: `tank-schoolhouse` is not `tank-school-…`
    expect(await tryConnect({ ...school, clientId: 'tank-schoolhouse' })).toBe(2);
    expect(await refused({ device: 'tank-school', action: 'login', reason: 'client_id_not_own' })).toBe(before + 3);
    // its own id and its own namespace are fine
    expect(await tryConnect({ ...school, clientId: 'tank-school' })).toBe(0);
    expect(await tryConnect({ ...school, clientId: 'tank-school-esp32-a1b2c3' })).toBe(0);
    expect(village.logs.some((l) => l.includes('client_id_not_own') && l.includes('user "tank-school"') && l.includes('client id "tank-north-esp32"'))).toBe(
      true,
    );
  });
});

describe("an installer's mistakes are logged, counted and shown", () => {
  it('a bad password: the log names the username, the device counts it, its sensors show it', async () => {
    expect(await tryConnect({ username: 'tank-hill', password: 'typo-in-secret', clientId: 'tank-hill-esp' })).toBe(4);
    const line = village.logs.find((l) => l.includes('bad_login'));
    expect(line).toContain('user "tank-hill"');
    expect(line).toContain('client id "tank-hill-esp"');
    expect(await refused({ device: 'tank-hill', action: 'login', reason: 'bad_login' })).toBe(1);
    const hill = await sensorsOf('tank-hill');
    expect(hill.length).toBeGreaterThan(0);
    for (const s of hill) expect(s.last_refusal).toMatchObject({ action: 'login', reason: 'bad_login', client_id: 'tank-hill-esp' });
    // other devices' sensors carry nothing
    for (const s of await sensorsOf('power-shed')) expect(s.last_refusal).toBeUndefined();
  });

  it('an unknown username is counted under (unknown), never as a label of its own', async () => {
    expect(await tryConnect({ username: 'tank-nowhere', password: 'whatever-1', clientId: 'tank-nowhere' })).toBe(4);
    expect(await refused({ device: '(unknown)', action: 'login', reason: 'bad_login' })).toBeGreaterThanOrEqual(1);
    expect(await scrape(village)).not.toContain('tank-nowhere');
  });

  it("a publish under the wrong village or another device's prefix is refused with a log line and a count; the connection stays", async () => {
    const north = await device('tank-north');
    const before = await refused({ device: 'tank-north', action: 'publish', reason: 'publish_not_allowed' });
    await north.publishAsync('tend/elmwood/dev/tank-north/reading', '{"distance_mm": 900}', { qos: 1 });
    await waitFor(
      async () => (await refused({ device: 'tank-north', action: 'publish', reason: 'publish_not_allowed' })) === before + 1,
      10_000,
      'wrong village counted',
    );
    const village1 = village.logs.find((l) => l.includes('publish_not_allowed') && l.includes('tend/elmwood/dev/tank-north/reading'));
    expect(village1).toContain('user "tank-north"');
    expect(village1).toContain('client id "tank-north-t"');
    expect(village1).toContain('under village "elmwood"');

    await north.publishAsync(`${V}/dev/tank-school/reading`, '{"distance_mm": 900}', { qos: 1 });
    await waitFor(
      async () => (await refused({ device: 'tank-north', action: 'publish', reason: 'publish_not_allowed' })) === before + 2,
      10_000,
      'other prefix counted',
    );
    expect(north.connected).toBe(true);
    const last = (await sensorsOf('tank-north'))[0]!.last_refusal;
    expect(last).toMatchObject({ action: 'publish', reason: 'publish_not_allowed', topic: `${V}/dev/tank-school/reading`, client_id: 'tank-north-t' });
    expect(last?.why).toContain('"tank-school"');
    // and it is not told as tank-school's (whose last refusal is still its own login)
    expect((await sensorsOf('tank-school')).every((s) => s.last_refusal?.action !== 'publish')).toBe(true);
  });

  it('a refused subscribe is logged and counted per device', async () => {
    const school = await device('tank-school');
    // SUBACK 0x80 (mqtt.js turns it into an error)
    await expect(school.subscribeAsync(`${V}/dev/tank-north/#`)).rejects.toThrow(/Subscribe error/);
    expect(await refused({ device: 'tank-school', action: 'subscribe', reason: 'subscribe_not_allowed' })).toBe(1);
    expect(village.logs.some((l) => l.includes('subscribe_not_allowed') && l.includes('user "tank-school"') && l.includes(`${V}/dev/tank-north/#`))).toBe(true);
    expect((await sensorsOf('tank-school'))[0]?.last_refusal).toMatchObject({ action: 'subscribe', topic: `${V}/dev/tank-north/#` });
  });
});

describe('readers follow the same client id rule', () => {
  it("a reader's own id and `<reader>-…` are taken; another account's and a foreign id are refused with CONNACK 2", async () => {
    const v = await startTestVillage({
      config: parseConfig({
        version: 1,
        village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
        devices: [{ id: 'tank-north', secret: 'north-secret-1' }],
        readers: [{ id: 'signboard', secret: 'signboard-secret-1' }],
      }),
    });
    try {
      const sign = (clientId: string) =>
        new Promise<number>((resolve) => {
          const c = mqtt.connect(v.brokerUrl, { username: 'signboard', password: 'signboard-secret-1', clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
          c.once('connect', () => {
            c.end(true);
            resolve(0);
          });
          c.once('error', (err) => {
            c.end(true);
            resolve((err as { code?: number }).code ?? -1);
          });
        });
      expect(await sign('signboard')).toBe(0);
      expect(await sign('signboard-hall')).toBe(0);
      expect(await sign('tank-north')).toBe(2);
      expect(await sign('hall-display')).toBe(2);
      const text = await (await fetch(`${v.webUrl}/metrics`)).text();
      expect(metricValue(text, 'tend_broker_refused_total', { device: 'signboard', action: 'login', reason: 'client_id_not_own' })).toBe(2);
    } finally {
      await v.cleanup();
    }
  });
});

describe("the page's sensor list", () => {
  it("shows a device's last refusal under its sensors, in headless Chromium", async () => {
    const v = await startTestVillage();
    const browser = await launchBrowser();
    try {
      // an installer's node with a typo in its secret
      const code = await new Promise<number>((resolve) => {
        const c = mqtt.connect(v.brokerUrl, { username: 'tank-hill', password: 'demo-hill-c3d8', clientId: 'tank-hill-esp32', reconnectPeriod: 0 });
        c.once('connect', () => resolve(0));
        c.once('error', (err) => {
          c.end(true);
          resolve((err as { code?: number }).code ?? -1);
        });
      });
      expect(code).toBe(4);
      const page = await browser.newPage();
      await page.goto(v.webUrl);
      const hill = page.locator('#sensor-list li[data-sensor="hill"] .sensor-refusal');
      await hill.waitFor({ timeout: 15_000 });
      const shown = (await hill.textContent()) ?? '';
      expect(shown).toMatch(/^Login refused .*: wrong username or secret$/);
      // it informs; it does not tell anyone what to do
      expect(checkText('sensor list refusal', shown)).toEqual([]);
      expect(await hill.getAttribute('data-reason')).toBe('bad_login');
      // the other devices' sensors show none
      expect(await page.locator('#sensor-list li[data-sensor="north"] .sensor-refusal').count()).toBe(0);
    } finally {
      await browser.close();
      await v.cleanup();
    }
  });
});
