// Real villages (startVillage: embedded broker, ingest, reserve, alerts, web) federated through a
// real Mosquitto. A device reading empties one village's tank; its crisis prompt lists the
// neighbours' offers, and the neighbours' /api/federation shows its open incident.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVillage, type Village } from '../../../services/village.ts';
import type { NeighbourView } from '../../../services/federation/neighbours.ts';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { realVillageConfig as villageConfig, tankReading as reading } from './fixtures.ts';

const NAMES = ['ashgrove', 'birchwell', 'cedarford'];
let broker: Mosquitto;
let tmp: { dir: string; remove(): void };
const villages: Village[] = [];

/** GET /api/federation: the fields of its answer that these tests read */
type FederationAnswer = { connected: boolean; neighbours: NeighbourView[] };
const api = async (v: Village, path: string) => (await fetch(`${v.webUrl}${path}`)).json() as Promise<FederationAnswer>;

beforeAll(async () => {
  tmp = tempDir('tend-fed-village-');
  broker = await startMosquitto({ users: Object.fromEntries(NAMES.map((n) => [n, `pw-${n}`])) });
  for (const n of NAMES) {
    villages.push(await startVillage({ config: villageConfig(n, broker.url), storageDir: `${tmp.dir}/${n}`, webPort: 0, brokerPort: 0, log: () => {} }));
  }
}, 60_000);

afterAll(async () => {
  for (const v of villages) await v.stop().catch(() => {});
  await broker?.close();
  tmp?.remove();
}, 60_000);

describe('federation with real villages', () => {
  it("a village's crisis shows on its neighbours' page, and its prompt lists their offers", async () => {
    const [a, b, c] = villages as [Village, Village, Village];
    // the neighbours are well stocked: 1,600 mm = 40,000 L, 40,000 − 7 × 2,700 = 21,100 to share
    await reading(b, 1600);
    await reading(c, 1600);
    await reading(a, 1600);
    await waitFor(
      async () => {
        const f = await api(a, '/api/federation');
        return f.connected && f.neighbours.length === 2 && f.neighbours.every((n) => !n.stale && /about 21,000 litres/.test(n.offer ?? ''));
      },
      30_000,
      'ashgrove to see two neighbours with offers',
    );

    // the storm empties ashgrove's tank: 100 mm = 2,500 L, 5 % → water low, critical → crisis
    await reading(a, 100);
    const prompt = await waitFor(
      () => {
        const p = a.assembly.prompts().find((x) => x.status === 'open');
        return p && p.neighbours.length === 2 ? p : null;
      },
      30_000,
      "ashgrove's prompt with the neighbours' offers",
    );
    expect(prompt.neighbours.map((n) => n.village).sort()).toEqual(['birchwell', 'cedarford']);
    expect(prompt.neighbours.every((n) => /can share about 21,000 litres of water/.test(n.offer))).toBe(true);

    for (const v of [b, c]) {
      await waitFor(
        async () => {
          const f = await api(v, '/api/federation');
          const n = f.neighbours.find((x) => x.village === 'ashgrove');
          return n?.incident_open && !n.stale && n.offer === null && n.water_days_minimum === Math.round((2500 / 2700) * 10) / 10;
        },
        30_000,
        `${v.config.village.id} to see ashgrove's crisis`,
      );
    }
  }, 120_000);

  it("the page's offer edit (POST /api/federation/offer with the token) reaches the neighbours", async () => {
    const [a, b] = villages as [Village, Village, Village];
    const post = (body: object, token = b.token) =>
      fetch(`${b.webUrl}/api/federation/offer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    expect((await post({ offer: 'x' }, 'wrong-token')).status).toBeGreaterThanOrEqual(401);
    expect((await post({ offer: 'a repair crew for two days, and pipe fittings' })).status).toBe(200);
    await waitFor(
      async () => {
        const n = (await api(a, '/api/federation')).neighbours.find((x) => x.village === 'birchwell');
        return n?.offer === 'a repair crew for two days, and pipe fittings';
      },
      30_000,
      'edited offer at ashgrove',
    );
    expect((await post({ withdrawn: true })).status).toBe(200);
    await waitFor(
      async () => {
        const n = (await api(a, '/api/federation')).neighbours.find((x) => x.village === 'birchwell');
        return n && n.offer === null;
      },
      30_000,
      'withdrawn offer at ashgrove',
    );
  }, 60_000);
});
