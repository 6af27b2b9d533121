// Federation across two brokers bridged to each other, as a region grows past one shared broker:
// each village runs its own Mosquitto for its devices (tend as an external-broker client) and its
// federation news; ashgrove's Mosquitto bridges the federation topics to birchwell's. Real Debian
// Mosquittos with password files and ACLs; the bridge logs in like any client, and the ACL on the
// far side lets it write only ashgrove's news. Each village sees the other on /api/federation, and
// a crisis in one reaches the other across the bridge; cut and restored, the bridge carries news again.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import type { NeighbourView } from '../../../services/federation/neighbours.ts';
import { startVillage, type Village } from '../../../services/village.ts';
import { startMosquitto, USERNAME_AS_CLIENT_ID, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';

const TEND_PW = 'tend-broker-pw';
const DEVICE_PW = 'tank-node-pw';
const BRIDGE_PW = 'bridge-ashgrove-pw';

/**
 * One village's broker: its devices write only under their own prefix, tend reads and writes the
 * village topics, and every federation login reads all news and writes only under its own name.
 */
function villageAcl(village: string, more: string[] = []): string {
  return [
    `pattern write tend/${village}/dev/%u/#`,
    `pattern read tend/${village}/dev/%u/#`,
    'pattern read fed/#',
    'pattern write fed/%u/#',
    'user tend',
    'topic readwrite tend/#',
    ...more,
    '',
  ].join('\n');
}

function villageConfig(id: string, url: string) {
  return parseConfig({
    version: 1,
    village: { id, name: id[0]!.toUpperCase() + id.slice(1), population: 180 },
    // devices reach tend through the village's Mosquitto; two client ids, as tend holds two links to it
    broker: { url, username: 'tend', password: TEND_PW, client_id: `tend-${id}-devices` },
    web: { host: '127.0.0.1', port: 0 },
    devices: [{ id: 'tank-node', secret: DEVICE_PW, transport: 'mqtt', interval_s: 30 }],
    // a 5 m × 5 m × 2 m tank: 25 L per mm of level, 50,000 L full
    sensors: [
      {
        id: 'main',
        name: 'Main tank',
        device: 'tank-node',
        metric: 'level_mm',
        kind: 'tank_level',
        tank: { shape: 'box', length_mm: 5000, width_mm: 5000, height_mm: 2000 },
      },
    ],
    alerts: { rules: { water_low: { hold_s: 0 } } },
    federation: { url, password: `pw-${id}`, client_id: `tend-${id}-federation` },
  });
}

/** The tank node publishes one level to its village's Mosquitto. */
async function reading(broker: Mosquitto, village: string, level_mm: number): Promise<void> {
  const c = mqtt.connect(broker.url, { username: 'tank-node', password: DEVICE_PW, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await c.publishAsync(`tend/${village}/dev/tank-node/reading`, JSON.stringify({ level_mm }), { qos: 1 });
  await c.endAsync();
}

type FederationAnswer = { connected: boolean; neighbours: NeighbourView[] };
const federation = async (v: Village) => (await fetch(`${v.webUrl}/api/federation`)).json() as Promise<FederationAnswer>;
const neighbour = async (v: Village, id: string) => (await federation(v)).neighbours.find((n) => n.village === id);

let hub: Mosquitto; // birchwell's broker, the far side of the bridge
let local: Mosquitto; // ashgrove's broker, which holds the bridge
let ashgrove: Village;
let birchwell: Village;
const tmp = tempDir('tend-fed-bridged-');

beforeAll(async () => {
  hub = await startMosquitto({
    users: { tend: TEND_PW, 'tank-node': DEVICE_PW, birchwell: 'pw-birchwell', 'bridge-ashgrove': BRIDGE_PW },
    // the bridge may write ashgrove's news only: another village's name cannot come across it
    acl: villageAcl('birchwell', ['user bridge-ashgrove', 'topic write fed/ashgrove/#', 'topic read fed/#']),
    extraConfig: USERNAME_AS_CLIENT_ID,
  });
  local = await startMosquitto({
    users: { tend: TEND_PW, 'tank-node': DEVICE_PW, ashgrove: 'pw-ashgrove' },
    acl: villageAcl('ashgrove'),
    extraConfig: USERNAME_AS_CLIENT_ID,
    // ashgrove's news goes out, everyone's news comes in; QoS 1 both ways
    bridge: { name: 'ashgrove', port: hub.port, username: 'bridge-ashgrove', password: BRIDGE_PW, topics: ['fed/ashgrove/# out 1', 'fed/# in 1'] },
  });
  // the bridge is up before the villages speak (the hub logs the bridge's login like any client's)
  await waitFor(() => /connected from .* as bridge-ashgrove/.test(hub.log()), 15_000, 'bridge connected to the hub');
  ashgrove = await startVillage({ config: villageConfig('ashgrove', local.url), storageDir: `${tmp.dir}/ashgrove`, webPort: 0, brokerPort: 0, log: () => {} });
  birchwell = await startVillage({ config: villageConfig('birchwell', hub.url), storageDir: `${tmp.dir}/birchwell`, webPort: 0, brokerPort: 0, log: () => {} });
}, 60_000);

afterAll(async () => {
  for (const v of [ashgrove, birchwell]) await v?.stop().catch(() => {});
  await local?.close();
  await hub?.close();
  tmp.remove();
}, 60_000);

describe('federation across two bridged Mosquittos', () => {
  it('each village sees the other on /api/federation, and a crisis crosses the bridge', async () => {
    await reading(local, 'ashgrove', 1600);
    await reading(hub, 'birchwell', 1600);
    const fail = (err: Error) => {
      throw new Error(`${err.message}; local broker: ${local.log().slice(-1500)}; hub: ${hub.log().slice(-1500)}`);
    };
    // 1,600 mm = 40,000 L; 40,000 − 7 days × 2,700 L = 21,100 L to share
    for (const [v, other] of [
      [ashgrove, 'birchwell'],
      [birchwell, 'ashgrove'],
    ] as const) {
      await waitFor(
        async () => {
          const f = await federation(v);
          const n = f.neighbours.find((x) => x.village === other);
          return f.connected && f.neighbours.length === 1 && n && !n.stale && /about 21,000 litres/.test(n.offer ?? '');
        },
        30_000,
        `${v.config.village.id} to see ${other} across the bridge`,
      ).catch(fail);
    }

    // the storm empties ashgrove's tank: 100 mm = 2,500 L → water low, critical → crisis
    await reading(local, 'ashgrove', 100);
    await waitFor(
      async () => {
        const n = await neighbour(birchwell, 'ashgrove');
        return n?.incident_open && !n.stale && n.offer === null && n.water_days_minimum === Math.round((2500 / 2700) * 10) / 10;
      },
      30_000,
      "birchwell to see ashgrove's crisis",
    ).catch(fail);
    // and ashgrove's prompt lists birchwell's offer, which came the other way
    const prompt = await waitFor(
      () => {
        const p = ashgrove.assembly.prompts().find((x) => x.status === 'open');
        return p && p.neighbours.length === 1 ? p : null;
      },
      30_000,
      "ashgrove's prompt with birchwell's offer",
    );
    expect(prompt.neighbours[0]).toMatchObject({ village: 'birchwell' });
  }, 120_000);

  it("a village cannot speak for another: its own broker refuses news under the other's name", async () => {
    // what would cross the bridge starts on ashgrove's broker, whose ACL lets the ashgrove login
    // write fed/ashgrove/… only; the bridge carries only that prefix out, and the far side lets
    // the bridge login write only that prefix too
    const c = mqtt.connect(local.url, { username: 'ashgrove', password: 'pw-ashgrove', reconnectPeriod: 0, protocolVersion: 5 });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    const fake = JSON.stringify({ v: 1, at: new Date().toISOString(), text: 'free water for all', withdrawn: false, source: 'edited' });
    const refused = await c.publishAsync('fed/birchwell/offer', fake, { qos: 1, retain: true }).then(
      () => null,
      (e: Error & { code?: number }) => e.code,
    );
    await c.endAsync();
    // Mosquitto 2 answers a refused QoS 1 publish with a PUBACK reason "not authorized" (MQTT 5: 0x87)
    expect(refused).toBe(0x87);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await neighbour(ashgrove, 'birchwell'))?.offer).not.toBe('free water for all');
    expect((await neighbour(birchwell, 'birchwell'))?.offer ?? null).toBeNull(); // a village never lists itself
  }, 30_000);

  it('the bridge cut and restored: news flows again', async () => {
    await local.stop();
    await waitFor(async () => !(await federation(ashgrove)).connected, 15_000, 'ashgrove notices its broker is gone');
    // birchwell's tank drops while the bridge is down
    await reading(hub, 'birchwell', 1000);
    await local.start();
    // 1,000 mm = 25,000 L; 25,000 − 18,900 = 6,100 L to share, offered as "about 6,000"
    await waitFor(
      async () => {
        const n = await neighbour(ashgrove, 'birchwell');
        return n && !n.stale && /about 6,000 litres/.test(n.offer ?? '') ? n : null;
      },
      45_000,
      "birchwell's new offer at ashgrove after the bridge is back",
    ).catch((err: Error) => {
      throw new Error(`${err.message}; local broker: ${local.log().slice(-1500)}`);
    });
  }, 90_000);
});
