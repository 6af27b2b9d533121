// tend reading its devices through an external Mosquitto set up as the README says (password
// file, ACL, `use_username_as_clientid true`): a device that connects with tend's own client id
// cannot knock tend off. Without that setting Mosquitto hands the newcomer the session and drops
// tend's connection (MQTT 3.1.1 [MQTT-3.1.4-2]), and a device reconnecting in a loop keeps it off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { USERNAME_AS_CLIENT_ID, startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { manyTanksConfig, nodeId, secretOf } from './helpers.ts';

const TEND_PASSWORD = 'tend-broker-pass-42';
/** the README's /etc/mosquitto/acl, for village stormvale */
const README_ACL = [
  'user tend',
  'topic read tend/stormvale/dev/#',
  'topic write tend/stormvale/#',
  'pattern write tend/stormvale/dev/%u/#',
  'pattern read tend/stormvale/reserve',
  'pattern read tend/stormvale/alerts',
  'pattern read tend/stormvale/assembly',
  '',
].join('\n');

let mosquitto: Mosquitto;
let village: Awaited<ReturnType<typeof startTestVillage>>;
const clients: MqttClient[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto({
    users: { tend: TEND_PASSWORD, [nodeId(0)]: secretOf(nodeId(0)) },
    acl: README_ACL,
    // the same listener setting the README recommends for the federation broker
    extraConfig: USERNAME_AS_CLIENT_ID,
  });
  const config = manyTanksConfig(1, { broker: { url: mosquitto.url, username: 'tend', password: TEND_PASSWORD, client_id: 'tend-stormvale' } });
  village = await startTestVillage({ config });
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => {});
  await village?.cleanup();
  await mosquitto?.close();
});

function connect(clientId: string): Promise<MqttClient> {
  const id = nodeId(0);
  const c = mqtt.connect(mosquitto.url, { username: id, password: secretOf(id), clientId, reconnectPeriod: 0 });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('external broker: client ids', () => {
  it("a device using tend's client id cannot knock tend off", async () => {
    await waitFor(() => village.links()[0]!.state === 'connected', 15_000, 'tend connected to Mosquitto');
    const before = village.links()[0]!;
    const impostor = await connect('tend-stormvale');
    // a reading after the impostor's connect was accepted: had Mosquitto handed it tend's session,
    // tend's link would have dropped before this reached it (its state and `since` would show it)
    await impostor.publishAsync(`tend/stormvale/dev/${nodeId(0)}/reading`, JSON.stringify({ distance_mm: 800 }), { qos: 1 });
    await waitFor(() => village.refresh().water.tanks[0]?.level_mm === 1300, 10_000, 'the reading');
    expect(village.links()[0]).toEqual(before);
  }, 30_000);
});
