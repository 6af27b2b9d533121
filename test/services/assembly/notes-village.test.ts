// A busy assembly through the real API: every note is kept and served, while /api/status, SSE and
// the retained assembly topic carry only the latest notes with the count.
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { NOTES_SHOWN } from '../../../core/limits.ts';
import type { AssemblyPrompt } from '../../../core/types.ts';
import { getJson, startTestVillage } from '../../helpers/village.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('notes on a running village', () => {
  it('keeps all 200 notes, serves them at /notes, and sends the latest with the count everywhere else', async () => {
    const village = await startTestVillage();
    cleanups.push(() => village.cleanup());
    const auth = { authorization: `Bearer ${village.token}`, 'content-type': 'application/json' };
    expect((await fetch(`${village.webUrl}/api/drill`, { method: 'POST', headers: auth })).status).toBe(202);
    const [prompt] = await getJson<AssemblyPrompt[]>(`${village.webUrl}/api/assembly`);
    expect(prompt).toBeDefined();
    for (let i = 1; i <= 200; i++) {
      const res = await fetch(`${village.webUrl}/api/assembly/${prompt!.id}/notes`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ author: 'Mira', text: `note ${i} ${'x'.repeat(500)}` }),
      });
      expect(res.status).toBe(201);
    }
    const all = await getJson<{ total: number; notes: { text: string }[] }>(`${village.webUrl}/api/assembly/${prompt!.id}/notes`);
    expect(all.total).toBe(200);
    expect(all.notes[0]!.text).toMatch(/^note 1 /);

    village.refresh();
    const status = await (await fetch(`${village.webUrl}/api/status`)).text();
    const p = (JSON.parse(status).assembly as AssemblyPrompt[]).find((x) => x.id === prompt!.id)!;
    expect(p.notes).toHaveLength(NOTES_SHOWN);
    expect(p.notes_total).toBe(200);
    expect(p.notes.at(-1)!.text).toMatch(/^note 200 /);
    expect(status.length).toBeLessThan(60_000);

    // the retained topic a signboard reads holds the same short list
    const reader = await mqtt.connectAsync(village.brokerUrl, {
      username: 'tank-north',
      password: village.config.devices.find((d) => d.id === 'tank-north')!.secret,
      clientId: 'tank-north-reader',
      reconnectPeriod: 0,
    });
    cleanups.push(async () => {
      await reader.endAsync(true);
    });
    const retained = new Promise<AssemblyPrompt[]>((resolve) => reader.on('message', (_t, payload) => resolve(JSON.parse(payload.toString()))));
    await reader.subscribeAsync(`tend/${village.config.village.id}/assembly`);
    const onTopic = (await retained).find((x) => x.id === prompt!.id)!;
    expect(onTopic.notes).toHaveLength(NOTES_SHOWN);
    expect(onTopic.notes_total).toBe(200);

    // too long is refused with the one limit the assembly applies
    const long = await fetch(`${village.webUrl}/api/assembly/${prompt!.id}/notes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ author: 'Mira', text: 'x'.repeat(1001) }),
    });
    expect(long.status).toBe(413);
  });
});
