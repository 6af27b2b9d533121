// Restart of a whole village in the middle of a crisis: the prompt and its notes come back from
// SQLite, the retained topics carry them, and nothing is announced again (no alert, incident or
// assembly events, so no webhook or loudspeaker repeats itself).
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { startVillage, type Village } from '../../../services/village.ts';
import type { AssemblyPrompt } from '../../../core/types.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { FakeClock } from './world.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const config = parseConfig({
  version: 1,
  village: { id: 'oakridge', name: 'Oakridge', population: 120 },
  broker: { embedded: { host: '127.0.0.1', port: 0 } },
  devices: [
    { id: 'cold-node', secret: 'cold-node-secret', interval_s: 60 },
    { id: 'mast', secret: 'mast-node-secret', interval_s: 60 },
  ],
  sensors: [
    { id: 'fridge', name: 'Shop fridge', device: 'cold-node', metric: 't', kind: 'cold_temp', cold: { safe_max_c: 5 } },
    { id: 'gust', name: 'Gusts', device: 'mast', metric: 'g', kind: 'wind_gust' },
  ],
  alerts: { rules: { cold_above_safe: { hold_s: 0 }, storm: { hold_s: 0 } } },
});

describe('village restart mid-incident', () => {
  it('keeps the prompt and notes and announces nothing twice', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const clock = new FakeClock();
    const start = async () => {
      const v = await startVillage({ config, clock, storageDir: tmp.dir, brokerPort: 0, web: false, tick: false, log: () => {} });
      let stopped = false;
      cleanups.push(() => (stopped ? undefined : v.stop()));
      return {
        v,
        stop: async () => {
          stopped = true;
          await v.stop();
        },
      };
    };
    const send = async (v: Village, device: string, secret: string, reading: Record<string, number>) => {
      const c = await mqtt.connectAsync(v.brokerUrl, { username: device, password: secret, clientId: `${device}-t`, reconnectPeriod: 0 });
      await c.publishAsync(`tend/oakridge/dev/${device}/reading`, JSON.stringify(reading), { qos: 1 });
      await c.endAsync();
    };

    const first = await start();
    const announced: string[] = [];
    first.v.events.on('assembly', (p) => announced.push(`${p.id} v${p.version}`));
    // a gale and a warm fridge at once: a storm with damage is a crisis
    for (let m = 0; m < 20; m++) {
      clock.advance(60_000);
      await send(first.v, 'mast', 'mast-node-secret', { g: 26 });
      await send(first.v, 'cold-node', 'cold-node-secret', { t: 9 });
      first.v.refresh();
    }
    const prompt = first.v.assembly.prompts()[0]!;
    expect(prompt).toBeDefined();
    first.v.assembly.addNote(prompt.id, { author: 'Lea', text: 'The shop fridge door seal is torn; food moved to the clinic fridge.' });
    const before = { alerts: first.v.alerts.alerts(), prompt: first.v.assembly.prompt(prompt.id) };
    await first.stop();

    const second = await start();
    const events: string[] = [];
    for (const e of ['alert', 'incident', 'assembly'] as const) second.v.events.on(e, () => events.push(e));
    expect(second.v.alerts.alerts()).toEqual(before.alerts);
    expect(second.v.assembly.prompt(prompt.id)).toEqual(before.prompt);
    // a signboard connecting now gets the open prompt, with its note, from the retained topic
    const sign = await mqtt.connectAsync(second.v.brokerUrl, { username: 'mast', password: 'mast-node-secret', clientId: 'mast-sign', reconnectPeriod: 0 });
    cleanups.push(() => sign.endAsync(true));
    let retained: AssemblyPrompt[] | null = null;
    sign.on('message', (_t, payload) => {
      retained = JSON.parse(payload.toString()) as AssemblyPrompt[];
    });
    await sign.subscribeAsync('tend/oakridge/assembly');
    const got = await waitFor(() => retained, 10_000, 'retained assembly topic');
    expect(got.map((p) => p.id)).toEqual([prompt.id]);
    expect(got[0]!.notes).toMatchObject([{ author: 'Lea' }]);
    // the same conditions go on: nothing new to say
    for (let m = 0; m < 5; m++) {
      clock.advance(60_000);
      await send(second.v, 'mast', 'mast-node-secret', { g: 26 });
      await send(second.v, 'cold-node', 'cold-node-secret', { t: 9 });
      second.v.refresh();
    }
    expect(events).toEqual([]);
    expect(announced.length).toBeGreaterThan(0);
  }, 60_000);
});
