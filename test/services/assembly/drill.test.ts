// The storm exercise on a real village (demo config, in America/Lima), through the HTTP API: it is
// told in its practice figures in every section of its prompt, so no section contradicts another
// (the fridge the alert calls warm is warm in the damaged list, the urgent list and the cold units
// at risk; the leak shows in the water figures), it says when it ends in the village's time, it can
// be ended with the token, and every text keeps the language rule.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fmt, shortTime } from '../../../core/format.ts';
import type { Alert, AssemblyPrompt, Clock, ReserveStatus } from '../../../core/types.ts';
import { checkAlert, checkPrompt } from '../../../services/assembly/language.ts';
import { waitFor } from '../../helpers/net.ts';
import { closeDevices, connectDevices, demoConfig, getJson, startTestVillage } from '../../helpers/village.ts';

const TZ = 'America/Lima';
const T0 = Date.parse('2026-11-26T15:00:00Z');
const clock = {
  t: T0,
  now() {
    return this.t;
  },
} satisfies Clock & { t: number };

// the fridge the issue saw: really at 2.7 °C, well inside its safe 5 °C
const READINGS: Record<string, Record<string, number>> = {
  'tank-north': { distance_mm: 812 },
  'tank-school': { pressure_kpa: 12.5 },
  'tank-hill': { level_mm: 1500 },
  'power-shed': { soc_pct: 72, voltage_v: 52.1, load_w: 2100, solar_w: 1400 },
  'cold-store': { fridge1_c: 2.7, fridge2_c: 4.2, freezer_c: -18.5, freezer_door: 0 },
  'weather-mast': { pressure_hpa: 1012.4, wind_ms: 4.2, gust_ms: 7.9, rain_mm: 0 },
};

type TestVillage = Awaited<ReturnType<typeof startTestVillage>>;
let village: TestVillage;
let devices = new Map<string, MqttClient>();
const api = <T>(path: string) => getJson<T>(village.webUrl + path);
const post = (path: string, token?: string) =>
  fetch(village.webUrl + path, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: '{}' });
/** "2,400" → 2400 (numbers as core/format.ts writes them) */
const num = (s: string) => Number(s.replace(/,/g, ''));

beforeAll(async () => {
  const config = demoConfig();
  config.village.timezone = TZ;
  village = await startTestVillage({ config, clock });
  devices = await connectDevices(village, Object.keys(READINGS));
  for (const [d, r] of Object.entries(READINGS)) await devices.get(d)!.publishAsync(`tend/ashgrove/dev/${d}/reading`, JSON.stringify(r), { qos: 1 });
  await waitFor(async () => (await api<ReserveStatus>('/api/status')).sensors.online === 15, 15_000, 'all sensors reporting');
}, 60_000);

afterAll(async () => {
  await closeDevices(devices);
  await village?.cleanup();
});

describe('the storm exercise', () => {
  let prompt: AssemblyPrompt;

  it('starts with the token, says when it ends, and answers 409 while one is running', async () => {
    expect((await post('/api/drill')).status).toBe(401);
    const res = await post('/api/drill', village.token);
    expect(res.status).toBe(202);
    const until = T0 + 900_000;
    expect(await res.json()).toEqual({ started: true, exercise: true, ends_at: new Date(until).toISOString() });
    expect((await post('/api/drill', village.token)).status).toBe(409);
    [prompt] = await api<AssemblyPrompt[]>('/api/assembly');
    expect(prompt).toMatchObject({ exercise: true, status: 'open', exercise_ends_at: new Date(until).toISOString() });
    // the end is told in the village's time, in the prompt itself
    expect(shortTime(until, TZ)).toBe('26 Nov 10:15 GMT-5');
    expect(prompt.situation.some((s) => s.text.includes(`the exercise ends by itself at ${shortTime(until, TZ)}`))).toBe(true);
  });

  it('tells its practice figures in every section: no section contradicts another', async () => {
    const p = prompt;
    const real = await api<ReserveStatus>('/api/status');
    const alerts = (await api<Alert[]>('/api/alerts')).filter((a) => a.title.startsWith('Exercise: '));
    expect(alerts.map((a) => a.rule).sort()).toEqual(['cold_above_safe', 'power_unstable', 'storm', 'tank_drop']);

    // the warm fridge: the alert's temperature is the damaged list's, it is at risk in the
    // reserves, and the food-safety window counts from when it warmed (30 minutes before)
    const fridgeAlert = alerts.find((a) => a.rule === 'cold_above_safe')!;
    const alertC = /now ([\d.]+) °C$/.exec(fridgeAlert.title)![1]!;
    const damagedFridge = p.damaged.find((d) => d.startsWith('Kitchen fridge: '))!;
    expect(damagedFridge).toBe(`Kitchen fridge: ${alertC} °C, above its safe 5 °C since about ${shortTime(T0 - 30 * 60_000, TZ)}`);
    expect(Number(alertC)).toBeGreaterThan(5);
    expect(p.reserves.cold_units_at_risk).toContain('Kitchen fridge');
    expect(p.urgent).toContain('Kitchen fridge: food has about 90 minutes left in the 2-hour food-safety window');
    expect(p.working.some((w) => w.startsWith('Kitchen fridge'))).toBe(false);
    // the real fridge is untouched: the live status still says 2.7 °C and nothing at risk
    expect(real.cold.units.find((u) => u.id === 'fridge-kitchen')!.temp_c).toBe(2.7);

    // the leak: the tank's litres, the hours to empty and the village's days agree
    const damagedTank = p.damaged.find((d) => d.startsWith('North tank: '))!;
    const [, loss, liters] = /^North tank: losing about ([\d,]+) L an hour since .*; now ([\d,]+) L \(\d+%\)$/.exec(damagedTank)!;
    expect(num(loss!)).toBe(2400);
    const hours = /^North tank would be empty in about ([\d.]+) hours at this loss$/.exec(p.urgent.find((u) => u.startsWith('North tank'))!)![1]!;
    expect(hours).toBe(fmt(num(liters!) / 2400, 1));
    const totalLiters = real.water.liters!;
    const days = p.reserves.water_days_current!;
    // with the leak the village's use is at least the leak: the water lasts no longer than the leak alone allows (days to 2 decimals)
    expect(days).toBeLessThanOrEqual(totalLiters / (2400 * 24) + 0.005);
    const waterLine = [...p.urgent, ...p.can_wait].find((x) => x.startsWith('Water: '))!;
    expect(waterLine).toContain(days < 1 ? `about ${fmt(days * 24, 1)} hours left at current use` : `about ${fmt(days, 1)} days at current use`);
    expect(p.reserves.water_days_minimum).toBeCloseTo(real.water.days_left_minimum!, 6);

    // the storm and the power: the practice events are named, and the situation says they are practice
    expect(p.damaged.some((d) => d.startsWith('Power supply, unstable since'))).toBe(true);
    expect(p.headline).toMatch(/^Exercise: Ashgrove: storm, water loss, unstable power and cold storage warming/);
    expect(p.situation.every((s) => s.text.startsWith('Exercise: '))).toBe(true);

    // the language rule over every text of the exercise
    expect([...alerts.flatMap(checkAlert), ...checkPrompt(p)]).toEqual([]);
  });

  it('ends from the page with the token: the all-clear follows at once', async () => {
    expect((await post('/api/drill/end')).status).toBe(401);
    clock.t = T0 + 5 * 60_000;
    const res = await post('/api/drill/end', village.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: true });
    expect(await api<AssemblyPrompt[]>('/api/assembly')).toEqual([]);
    const closed = await api<AssemblyPrompt>(`/api/assembly/${prompt.id}`);
    expect(closed).toMatchObject({ status: 'closed', exercise: true, exercise_ends_at: new Date(clock.t).toISOString() });
    expect(closed.headline).toBe(`Exercise: All clear in Ashgrove: the alerts of ${shortTime(T0, TZ)} have ended`);
    expect(checkPrompt(closed)).toEqual([]);
    expect((await api<Alert[]>('/api/alerts')).filter((a) => a.title.startsWith('Exercise: '))).toEqual([]);
    // nothing left to end; a new exercise may start
    expect((await post('/api/drill/end', village.token)).status).toBe(409);
    expect((await post('/api/drill', village.token)).status).toBe(202);
  });
});
