// The assembly's own tool through the real API of a real village (fake clock, real MQTT devices):
// options as facts, decisions with plans (the plan in /api/status), volunteers taking and releasing
// items, the questions for unheld items and for people who have held items for more than a day,
// CAP carrying the decisions, and the record when the incident ends, kept across a restart.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';
import { checkPrompt, checkText } from '../../../services/assembly/language.ts';
import type { AssemblyRecord } from '../../../services/assembly/record.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { closeDevices, connectDevices, demoConfig, getJson, startTestVillage, demoReadings, testClock } from '../../helpers/village.ts';

const clock = testClock(Date.parse('2026-11-24T08:00:00Z'));
const READINGS = demoReadings(0);
const HOUR = 3600_000;

const storage = tempDir('tend-assembly-tool-');
const config = demoConfig();
config.assembly.loads = [
  { name: 'spring pump', watts: 700 },
  { name: 'street lights', watts: 300 },
];
let village: Awaited<ReturnType<typeof startTestVillage>>;
let devices = new Map<string, MqttClient>();
let auth: Record<string, string>;

const api = <T>(path: string) => getJson<T>(village.webUrl + path);
const post = (path: string, body: unknown, headers = auth) => fetch(village.webUrl + path, { method: 'POST', headers, body: JSON.stringify(body) });
function publish(device: string, reading: Record<string, number>): Promise<void> {
  return new Promise((resolve, reject) => {
    devices.get(device)!.publish(`tend/ashgrove/dev/${device}/reading`, JSON.stringify(reading), { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
}
async function reportAll(): Promise<void> {
  for (const [d, r] of Object.entries(READINGS)) await publish(d, r);
  const at = new Date(clock.t).toISOString();
  await waitFor(() => village.sensors().every((s) => s.last_seen !== null && s.last_seen >= at), 10_000, 'readings landed');
  village.refresh();
}
/** Move the clock on in steps of `stepMs`, every device reporting at each. */
async function pass(ms: number, stepMs = 10 * 60_000): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    clock.t += Math.min(stepMs, ms - done);
    await reportAll();
  }
}
async function start(): Promise<void> {
  village = await startTestVillage({ clock, config, storageDir: storage.dir });
  auth = { authorization: `Bearer ${village.token}`, 'content-type': 'application/json' };
  devices = await connectDevices(village, Object.keys(READINGS));
  await reportAll();
}

beforeAll(start, 60_000);
afterAll(async () => {
  await closeDevices(devices);
  await village?.stop();
  storage.remove();
}, 60_000);

let id = '';

describe("the assembly's own tool through the real API", () => {
  it('a crisis prompt carries options as facts from the live figures', async () => {
    READINGS['power-shed'] = { ...READINGS['power-shed'], soc_pct: 8 };
    for (let i = 0; i < 14 && !(await api<AssemblyPrompt[]>('/api/assembly')).length; i++) await pass(30_000, 30_000);
    const [p] = await api<AssemblyPrompt[]>('/api/assembly');
    expect(p).toBeDefined();
    id = p!.id;
    const one = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    const status = await api<ReserveStatus>('/api/status');
    const o = one.options!;
    // the configured levels and the minimum, each once; days = litres ÷ (people × litres a person)
    expect(o.water.levels.map((l) => l.lpd)).toEqual([50, 30, 20, 15]);
    const at20 = o.water.levels.find((l) => l.lpd === 20)!;
    expect(at20.days).toBeCloseTo(status.water.liters! / (180 * 20), 1);
    expect(at20.text).toBe(`At 20 L a person a day the water lasts ${at20.days!.toFixed(1)} days.`);
    expect(o.water.levels.at(-1)!.basis).toBe('minimum');
    expect(o.water.levels.every((l) => l.days_with_offers === null)).toBe(true);
    // the current load, each known load off, and both off
    expect(o.power.choices.map((c) => c.off)).toEqual([[], ['spring pump'], ['street lights'], ['spring pump', 'street lights']]);
    expect(o.power.choices[1]!.load_w).toBe(1400);
    expect(o.power.choices[1]!.hours).toBeCloseTo((status.power.usable_kwh! * 1000) / 1400, 1);
    expect(o.cold.units).toEqual([]);
    for (const t of o.texts) expect(checkText('option', t), t).toEqual([]);
    expect(one.items!.map((i) => i.id)).toContain('power-battery');
  }, 120_000);

  it('records decisions with a token; a later plan supersedes an earlier one, and /api/status follows it', async () => {
    expect((await post(`/api/assembly/${id}/decisions`, { text: 'x' }, { 'content-type': 'application/json' })).status).toBe(401);
    for (const bad of [{}, { text: '  ' }, { text: 'ok', plan: { water_lpd: 'twenty' } }, { text: 'ok', plan: { litres: 20 } }, { text: 'ok', plan: [] }]) {
      const res = await post(`/api/assembly/${id}/decisions`, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBeTruthy();
    }
    expect((await post('/api/assembly/prompt-999/decisions', { text: 'ok' })).status).toBe(404);
    const before = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    const res = await post(`/api/assembly/${id}/decisions`, {
      text: 'Share water at 20 L a person a day until the pump is back',
      by: 'Morning assembly',
      plan: { water_lpd: 20 },
    });
    expect(res.status).toBe(201);
    const { decision, prompt } = (await res.json()) as { decision: { id: string; at: string }; prompt: AssemblyPrompt };
    expect(prompt.version).toBe(before.version + 1);
    expect(prompt.decisions).toEqual([
      {
        id: decision.id,
        at: new Date(clock.t).toISOString(),
        by: 'Morning assembly',
        text: 'Share water at 20 L a person a day until the pump is back',
        plan: { water_lpd: 20 },
      },
    ]);
    village.refresh();
    let status = await api<ReserveStatus>('/api/status');
    expect(status.plan).toMatchObject({ prompt_id: id, decision_id: decision.id, since: decision.at, water_lpd: 20 });
    expect(status.plan!.days_left_plan).toBeCloseTo(status.water.liters! / (180 * 20), 2);
    expect(status.plan!.load_w).toBeUndefined();

    // a later decision's plan supersedes: water and power now
    const later = (await (
      await post(`/api/assembly/${id}/decisions`, { text: 'Lights off at night as well', plan: { water_lpd: 25, load_w: 1500 } })
    ).json()) as {
      decision: { id: string };
    };
    village.refresh();
    status = await api<ReserveStatus>('/api/status');
    expect(status.plan).toMatchObject({ decision_id: later.decision.id, water_lpd: 25, load_w: 1500, actual_load_w: 2100 });
    expect(status.plan!.hours_left_plan).toBeCloseTo((status.power.usable_kwh! * 1000) / 1500, 1);
    // the prompt shows the same plan beside the actual figures
    expect((await api<AssemblyPrompt>(`/api/assembly/${id}`)).plan).toMatchObject({ decision_id: later.decision.id, water_lpd: 25 });
    // a decision without a plan leaves the plan as it is
    await post(`/api/assembly/${id}/decisions`, { text: 'The school kitchen cooks for everyone' });
    village.refresh();
    expect((await api<ReserveStatus>('/api/status')).plan?.decision_id).toBe(later.decision.id);
    // CAP updates carry the decisions
    const cap = await (await fetch(`${village.webUrl}/api/assembly/${id}/cap`)).text();
    expect(cap).toContain('Decisions of the assembly');
    expect(cap).toContain('Share water at 20 L a person a day until the pump is back');
  }, 60_000);

  it('volunteers take and release items; nobody taking an item for hours, and one person holding for a day, become questions', async () => {
    expect((await post(`/api/assembly/${id}/items/power-battery/take`, {})).status).toBe(400);
    expect((await post(`/api/assembly/${id}/items/no-such-thing/take`, { by: 'Ana' })).status).toBe(404);
    expect((await post(`/api/assembly/${id}/items/power-battery/take`, { by: 'Ana' }, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await post(`/api/assembly/${id}/items/power-battery/release`, { by: 'Ben' })).status).toBe(400);

    // nobody has taken the battery bank for more than three hours: the prompt asks
    await pass(3 * HOUR + 10 * 60_000, 30 * 60_000);
    let p = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    expect(p.questions.some((q) => /^Nobody has said they are looking at the battery bank since .*: who can look at it\?$/.test(q))).toBe(true);

    const took = await post(`/api/assembly/${id}/items/power-battery/take`, { by: 'Ana' });
    expect(took.status).toBe(200);
    p = (await took.json()) as AssemblyPrompt;
    expect(p.items!.find((i) => i.id === 'power-battery')!.holders).toEqual([{ by: 'Ana', since: new Date(clock.t).toISOString() }]);
    await post(`/api/assembly/${id}/items/power-battery/take`, { by: 'Ben' });
    expect((await post(`/api/assembly/${id}/items/power-battery/release`, { by: 'Ben' })).status).toBe(200);
    await pass(30 * 60_000);
    p = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    expect(p.items!.find((i) => i.id === 'power-battery')!.holders.map((h) => h.by)).toEqual(['Ana']);
    expect(p.questions.some((q) => q.startsWith('Nobody has said'))).toBe(false);

    // Ana holds it for more than a day: rest comes first
    await pass(24 * HOUR, 2 * HOUR);
    p = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    expect(p.questions).toContain('Ana has been looking after the battery bank for more than a day: who can take over, so they can rest?');
    expect(checkPrompt(p)).toEqual([]);
  }, 180_000);

  it('keeps a record when the incident ends, as JSON and Markdown, with recovery questions; it survives a restart', async () => {
    const open = await api<AssemblyRecord>(`/api/assembly/${id}/record`);
    expect(open.complete).toBe(false);
    await post(`/api/assembly/${id}/notes`, { author: 'Mira', text: 'The spare inverter is in the school shed.' });

    READINGS['power-shed'] = { ...READINGS['power-shed'], soc_pct: 80 };
    for (let i = 0; i < 30 && (await api<AssemblyPrompt>(`/api/assembly/${id}`)).status === 'open'; i++) await pass(10 * 60_000);
    const closed = await api<AssemblyPrompt>(`/api/assembly/${id}`);
    expect(closed.status).toBe('closed');
    expect(closed.plan).toBeNull();
    expect(closed.questions.some((q) => q.startsWith('What failed, and what held?'))).toBe(true);
    expect(closed.questions.some((q) => q.endsWith('what storage would have helped?'))).toBe(true);
    expect((await post(`/api/assembly/${id}/decisions`, { text: 'late' })).status).toBe(409);
    village.refresh();
    expect((await api<ReserveStatus>('/api/status')).plan).toBeUndefined();

    const rec = await api<AssemblyRecord>(`/api/assembly/${id}/record`);
    expect(rec.complete).toBe(true);
    expect(rec.decisions.map((d) => d.text)).toEqual([
      'Share water at 20 L a person a day until the pump is back',
      'Lights off at night as well',
      'The school kitchen cooks for everyone',
    ]);
    expect(rec.items.map((h) => [h.by, h.ended])).toEqual([
      ['Ana', 'closed'],
      ['Ben', 'released'],
    ]);
    expect(rec.notes.map((n) => n.text)).toContain('The spare inverter is in the school shed.');
    expect(rec.alerts.some((a) => a.rule === 'battery_low')).toBe(true);
    expect(rec.versions.length).toBe(closed.version);
    expect(rec.figures.power_hours_left.lowest).not.toBeNull();
    const md = await fetch(`${village.webUrl}/api/assembly/${id}/record?format=md`);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    const text = await md.text();
    expect(text).toContain('## Decisions');
    expect(text).toContain('Morning assembly');
    expect((await fetch(`${village.webUrl}/api/assembly/${id}/record?format=pdf`)).status).toBe(400);

    // a restart keeps the decisions and the record
    await closeDevices(devices);
    await village.stop();
    await start();
    expect(await api<AssemblyRecord>(`/api/assembly/${id}/record`)).toEqual(rec);
    expect((await api<AssemblyPrompt>(`/api/assembly/${id}`)).decisions).toHaveLength(3);
  }, 240_000);
});
