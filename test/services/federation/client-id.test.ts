// A member village must not keep another off the federation by connecting under its client id.
// The broker is a real Mosquitto with the password file, ACL and listener setting the federation
// README recommends (use_username_as_clientid true): birchwell, logged in as itself, connects with
// ashgrove's client id `tend-ashgrove-federation`; ashgrove's own connection stays up and its news still flows.
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { USERNAME_AS_CLIENT_ID, startMosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { startTestVillage } from './fixtures.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function client(url: string, user: string, clientId: string): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { username: user, password: `pw-${user}`, clientId, protocolVersion: 5, clean: false, reconnectPeriod: 0 });
  cleanup.push(() => c.endAsync(true).catch(() => {}));
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('federation broker: client ids', () => {
  it("a member using another village's client id cannot knock that village off", async () => {
    const broker = await startMosquitto({
      users: { ashgrove: 'pw-ashgrove', birchwell: 'pw-birchwell', cedarford: 'pw-cedarford' },
      extraConfig: USERNAME_AS_CLIENT_ID,
    });
    cleanup.push(() => broker.close());
    const tmp = tempDir('tend-fed-clientid-');
    cleanup.push(() => tmp.remove());

    const logs: string[] = [];
    const ashgrove = startTestVillage('ashgrove', broker.url, tmp.dir, { log: (m) => logs.push(m) });
    cleanup.push(() => ashgrove.stop());
    await waitFor(() => ashgrove.fed.view().connected, 15_000, 'ashgrove connected');
    expect(ashgrove.fed.link().state).toBe('connected');

    // a neighbour watching ashgrove's news
    const watcher = await client(broker.url, 'cedarford', 'tend-cedarford');
    const offers: string[] = [];
    watcher.on('message', (topic, payload) => {
      if (topic === 'fed/ashgrove/offer' && payload.length) offers.push(JSON.parse(payload.toString()).text);
    });
    await watcher.subscribeAsync('fed/ashgrove/offer', { qos: 1 });

    // birchwell, with its own login, asks for ashgrove's client id (tend's default `tend-<village>`)
    const impostor = await client(broker.url, 'birchwell', 'tend-ashgrove-federation');
    // it is still only birchwell: ashgrove's prefix stays closed to it (PUBACK 0x87)
    const refused = await impostor.publishAsync('fed/ashgrove/link', JSON.stringify({ v: 1, state: 'offline' }), { qos: 1, retain: true }).then(
      () => null,
      (err: { code?: number }) => err.code,
    );
    expect(refused).toBe(0x87);

    // ashgrove's connection carries news after the impostor's connect was accepted: had the broker
    // handed it ashgrove's session, it would have dropped ashgrove's connection first (and
    // ashgrove would have logged "link down" before reconnecting to send this)
    ashgrove.fed.setOffer('after the impostor came');
    await waitFor(() => offers.includes('after the impostor came'), 10_000, "ashgrove's offer after the impostor connected");
    expect(logs.filter((l) => l.includes('link down'))).toEqual([]);
    expect(ashgrove.fed.view().connected).toBe(true);
    // and the impostor kept its own connection too: nothing was taken over either way
    expect(impostor.connected).toBe(true);
  }, 60_000);
});
