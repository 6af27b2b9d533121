// A QoS 1 reading is acknowledged (PUBACK) only once it is durable in SQLite, so a device that
// got its PUBACK may forget the reading: a power cut right after loses nothing it was told
// was kept. Checked by reading the database at the moment each PUBACK arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, startTestVillage } from '../helpers/village.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

describe('QoS 1 acknowledgement', () => {
  it('PUBACK comes after the group commit that holds the reading', async () => {
    const device = await connectDevice(village, 'tank-north');
    const latest = village.storage.db.prepare("SELECT raw FROM reserve_latest WHERE sensor = 'north'");
    for (let i = 0; i < 50; i++) {
      const distance = 300 + i;
      await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: distance }), { qos: 1 });
      // synchronously at PUBACK time: the row is already committed
      expect((latest.get() as { raw: number } | undefined)?.raw, `reading ${i}`).toBe(distance);
    }
    device.end(true);
  });
});
