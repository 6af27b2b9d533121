// A reconnect storm after a power cut: 500 devices connect at the same moment, each sends its
// reading at QoS 1. All are accepted and every reading lands; then the power flickers (all drop
// without DISCONNECT) and they all come back at once again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startTestVillage } from '../helpers/village.ts';
import { waitFor } from '../helpers/net.ts';
import { manyTanksConfig, metricValue, nodeId, scrape, secretOf } from './helpers.ts';
import { hashSecret } from '../../services/broker/auth.ts';

const N = 500;
let village: Awaited<ReturnType<typeof startTestVillage>>;
const clients: MqttClient[] = [];
/** every 10th device keeps its secret only as an scrypt hash: those logins cost an scrypt each */
const HASHED_EVERY = 10;
beforeAll(async () => {
  const config = manyTanksConfig(N);
  await Promise.all(
    config.devices.map(async (d, i) => {
      if (i % HASHED_EVERY !== 0) return;
      d.secret_hash = await hashSecret(d.secret!);
      delete d.secret;
    }),
  );
  village = await startTestVillage({ config });
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await village?.cleanup();
});

/** all N devices at once; resolves with how many were refused */
async function storm(wave: number): Promise<{ refused: string[] }> {
  const refused: string[] = [];
  clients.length = 0;
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const id = nodeId(i);
      const c = mqtt.connect(village.brokerUrl, {
        username: id,
        password: secretOf(id),
        clientId: id,
        clean: false,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
        keepalive: 60,
      });
      clients.push(c);
      try {
        await new Promise<void>((resolve, reject) => {
          c.once('connect', () => resolve());
          c.once('error', reject);
          c.once('close', () => reject(new Error('closed before CONNACK')));
        });
        // distance 100 + i + wave → a level unique to each device and wave
        await c.publishAsync(`tend/stormvale/dev/${id}/reading`, JSON.stringify({ distance_mm: 100 + i + wave, seq: wave }), { qos: 1 });
      } catch (err) {
        refused.push(`${id}: ${(err as Error).message}`);
      }
    }),
  );
  return { refused };
}

describe('reconnect storm', () => {
  it(`accepts ${N} devices (${N / HASHED_EVERY} with scrypt-hashed secrets) connecting at once and takes every reading, twice`, async () => {
    const first = await storm(0);
    expect(first.refused).toEqual([]);
    await waitFor(() => village.ingest.acceptedTotal >= N, 30_000, `${N} readings (have ${village.ingest.acceptedTotal})`);
    await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === N, 30_000, `${N} clients connected`);
    for (let i = 0; i < N; i++) expect(village.ingest.accepted.get(nodeId(i)), nodeId(i)).toBe(1);

    // the power flickers: every device drops without a DISCONNECT and all come back together
    for (const c of clients) c.stream.destroy();
    await waitFor(async () => metricValue(await scrape(village), 'tend_broker_clients') === 0, 60_000, 'all dropped');
    const second = await storm(1);
    expect(second.refused).toEqual([]);
    await waitFor(() => village.ingest.acceptedTotal >= 2 * N, 30_000, `${2 * N} readings (have ${village.ingest.acceptedTotal})`);
    expect(village.ingest.acceptedTotal).toBe(2 * N);
    expect(village.ingest.rejectedTotal).toBe(0);

    // every tank shows its second-wave level
    const st = await waitFor(
      () => {
        const s = village.refresh();
        return s.water.tanks.every((t, i) => t.level_mm === 2100 - (100 + i + 1)) ? s : null;
      },
      30_000,
      'all 500 tanks at their second-wave level',
    );
    expect(st.water.tanks).toHaveLength(N);
    expect(st.sensors.online).toBe(N);
    // the log is not one line per device
    expect(village.logs.length, village.logs.slice(-5).join('\n')).toBeLessThan(100);
  }, 180_000);
});
