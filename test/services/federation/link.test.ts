// The federation broker is unreachable from the start (the radio is down): the village runs,
// shows the link as reconnecting, keeps its own offer, and stops cleanly.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../../helpers/net.ts';
import { startTestVillage, type TestVillage } from './fixtures.ts';
import { Federation, FederationInputError } from '../../../services/federation/federation.ts';
import { configSchema } from '../../../config/schema.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { Storage } from '../../../services/storage.ts';
import { systemClock } from '../../../core/types.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('federation link unreachable', () => {
  it('reports reconnecting, keeps local state and stops promptly', async () => {
    const tmp = tempDir('tend-fed-link-');
    cleanup.push(() => tmp.remove());
    const port = await freePort(); // nothing listens here
    const logs: string[] = [];
    const v: TestVillage = startTestVillage('ashgrove', `mqtt://127.0.0.1:${port}`, tmp.dir, { log: (m) => logs.push(m) });
    cleanup.push(() => v.stop());
    await waitFor(() => v.fed.link().state === 'reconnecting', 10_000, 'reconnecting');
    const view = v.fed.view();
    expect(view).toMatchObject({ village: 'ashgrove', connected: false, neighbours: [] });
    expect(v.fed.link().last_error).toMatch(/ECONNREFUSED/);
    // the computed offer follows the village's own status even with no link
    expect(view.own.offer).toMatch(/can share about/);
    v.fed.setOffer('seed potatoes');
    expect(v.fed.view().own).toMatchObject({ offer: 'seed potatoes', offer_source: 'edited' });
    const t0 = Date.now();
    await v.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(v.fed.link().state).toBe('disconnected');
  }, 30_000);

  it('does nothing without a federation section, and refuses an offer edit clearly', async () => {
    const config = configSchema.parse({ version: 1, village: { id: 'ashgrove', name: 'Ashgrove', population: 180 } });
    const storage = new Storage(':memory:');
    cleanup.push(() => storage.close());
    const fed = new Federation({ config, clock: systemClock, events: new VillageEventHub(), storage });
    fed.start();
    expect(fed.view()).toMatchObject({ village: 'ashgrove', connected: false, neighbours: [], own: { configured: false } });
    expect(fed.offers()).toEqual([]);
    expect(() => fed.setOffer('water')).toThrow(FederationInputError);
    await fed.stop();
  });
});
