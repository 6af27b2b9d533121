// Device authentication and topic rules on the embedded broker, checked by what is actually
// delivered (a subscriber with the right to see the topic), not only by the answer codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectDevice, getJson, startTestVillage } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';

const run = promisify(execFile);
let village: Awaited<ReturnType<typeof startTestVillage>>;

beforeAll(async () => {
  village = await startTestVillage();
});
afterAll(async () => {
  await village?.cleanup();
});

function tryConnect(opts: mqtt.IClientOptions): Promise<{ ok: boolean; code?: number }> {
  return new Promise((resolve) => {
    const c = mqtt.connect(village.brokerUrl, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: `${opts.username ?? 'anon'}-t-${Math.random().toString(16).slice(2)}`,
      ...opts,
    });
    c.once('connect', () => {
      c.end(true);
      resolve({ ok: true });
    });
    c.once('error', (err) => {
      c.end(true);
      resolve({ ok: false, code: (err as { code?: number }).code });
    });
  });
}

describe('embedded broker security', () => {
  it('refuses anonymous, missing-password and wrong-password clients', async () => {
    expect(await tryConnect({})).toMatchObject({ ok: false });
    expect(await tryConnect({ username: 'tank-north' })).toMatchObject({ ok: false });
    expect(await tryConnect({ username: 'tank-north', password: 'wrong-secret' })).toMatchObject({ ok: false, code: 4 });
    expect(await tryConnect({ username: 'nobody', password: 'demo-north-5e1f' })).toMatchObject({ ok: false });
    expect(await tryConnect({ username: 'tank-north', password: 'demo-north-5e1f' })).toMatchObject({ ok: true });
  });

  it("refuses a device publishing into another device's or the output topics", async () => {
    const school = await connectDevice(village, 'tank-school');
    const seen: string[] = [];
    // a device may read its own prefix and the outputs
    const watcher = await connectDevice(village, 'tank-north');
    await watcher.subscribeAsync([`tend/ashgrove/dev/tank-north/#`, 'tend/ashgrove/assembly'], { qos: 1 });
    watcher.on('message', (t, p) => seen.push(`${t} ${p}`));
    const before = village.status().water.tanks.find((t) => t.id === 'north')!;
    // the library publishes; the broker drops both and keeps the connection (MQTT 3.1.1 has no PUBACK error code)
    school.publish('tend/ashgrove/dev/tank-north/reading', '{"distance_mm": 100}', { qos: 0 });
    school.publish('tend/ashgrove/assembly', '[{"headline":"fake"}]', { qos: 0, retain: true });
    await new Promise((r) => setTimeout(r, 500));
    // the retained real assembly list ([]) arrives on subscribe; nothing forged may follow it
    expect(seen.filter((m) => m.includes('fake') || m.includes('tank-north'))).toEqual([]);
    expect(seen.every((m) => m === 'tend/ashgrove/assembly []')).toBe(true);
    const after = village.status().water.tanks.find((t) => t.id === 'north')!;
    expect(after.liters).toBe(before.liters);
    school.end(true);
    watcher.end(true);
  });

  it('refuses subscriptions to # and $SYS/#', async () => {
    const c = await connectDevice(village, 'tank-north');
    // read the SUBACK itself: mqtt.js turns any 0x80 into an error for the whole call
    const suback = new Promise<number[]>((resolve) =>
      c.on('packetreceive', (p) => {
        if (p.cmd === 'suback') resolve(p.granted as number[]);
      }),
    );
    c.subscribe(['#', '$SYS/#', 'tend/ashgrove/dev/tank-school/#', 'tend/ashgrove/reserve'], () => {});
    expect(await suback).toEqual([128, 128, 128, 0]);
    c.end(true);
  });

  it('takes a reading from the Debian mosquitto_pub client with device credentials', async () => {
    const url = new URL(village.brokerUrl);
    await run('mosquitto_pub', [
      '-h',
      url.hostname,
      '-p',
      url.port,
      '-u',
      'tank-hill',
      '-P',
      'demo-hill-c3d9',
      '-q',
      '1',
      '-t',
      'tend/ashgrove/dev/tank-hill/reading',
      '-m',
      '{"level_mm": 1000}',
    ]);
    const status = await waitFor(
      async () => {
        const s = await getJson(`${village.webUrl}/api/status`);
        const hill = s.water.tanks.find((t: { id: string }) => t.id === 'hill');
        return hill.level_mm === 1000 ? s : null;
      },
      5000,
      'hill tank at 1000 mm',
    );
    const hill = status.water.tanks.find((t: { id: string }) => t.id === 'hill');
    // strapping table: 800 mm → 5900 L, 1200 mm → 9800 L, so 1000 mm → 7850 L
    expect(hill.liters).toBeCloseTo(7850, 0);
    // and a wrong password via mosquitto_pub is refused
    await expect(
      run('mosquitto_pub', [
        '-h',
        url.hostname,
        '-p',
        url.port,
        '-u',
        'tank-hill',
        '-P',
        'nope',
        '-t',
        'tend/ashgrove/dev/tank-hill/reading',
        '-m',
        '{"level_mm": 5}',
      ]),
    ).rejects.toThrow();
  });
});
