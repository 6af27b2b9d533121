// The page against the real village (demo config, embedded aedes, real MQTT devices) in headless
// Chromium at phone size: tank figures render, a published reading changes the figure live, a
// silent device shows as stale and an offline one as offline, and the storm exercise started from
// the page opens a prompt with its banner and the four lists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { waitFor } from '../../helpers/net.ts';
import { startPageVillage, type PageVillage, type TestVillage } from '../../helpers/page-village.ts';
import { demoReadings, testClock } from '../../helpers/village.ts';
import type { ReserveStatus, SensorHealth } from '../../../core/types.ts';

const SHOTS = '/tmp/tend-shots';

// The village runs on a clock the test moves, so "stale" needs no real waiting.
const clock = testClock(Date.now());

const READINGS = demoReadings(1400);

let pv: PageVillage;
let village: TestVillage;
let page: Page;
let devices: Map<string, MqttClient>;
let pageErrors: string[];
const publish = (device: string, reading: Record<string, number>) => pv.publish(device, reading);
const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');
const api = <T>(path: string) => pv.api<T>(path);
const text = (sel: string) => page.locator(sel).first().textContent({ timeout: 10_000 });
const tank = async (id: string) => (await api<ReserveStatus>('/api/status')).water.tanks.find((t) => t.id === id)!;

beforeAll(async () => {
  pv = await startPageVillage({ readings: READINGS, clock });
  ({ village, page, devices, pageErrors } = pv);
}, 120_000);

afterAll(() => pv?.close(), 60_000);

describe('village page against the real demo village', () => {
  it('shows the tank figures and changes one when a device publishes', async () => {
    await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
    expect(page.url()).not.toContain('token=');
    await waitFor(async () => (await text('#link-text')) === 'live', 15_000, 'live link');
    const north = await tank('north');
    expect(north.liters).toBeGreaterThan(0);
    await waitFor(async () => (await text('[data-tank="north"] .liters')) === fmt(north.liters!), 10_000, 'north figure');
    expect(await text('[data-tank="north"] .percent')).toBe(`${Math.round(north.percent!)}%`);
    for (const id of ['school', 'hill']) {
      const t = await tank(id);
      await waitFor(async () => (await text(`[data-tank="${id}"] .liters`)) === fmt(t.liters!), 10_000, `${id} figure`);
    }
    const status = await api<ReserveStatus>('/api/status');
    expect(await text('#water-liters')).toBe(fmt(status.water.liters!));
    expect(await text('#power-soc')).toBe('72%');
    expect(await text('#weather-pressure')).toBe('1012');
    expect(await page.locator('.stale-label:visible').count()).toBe(0);

    // a device publishes a new distance (water surface further away: less water)
    const before = await text('[data-tank="north"] .liters');
    const t0 = Date.now();
    await publish('tank-north', { distance_mm: 1500 });
    await waitFor(async () => (await text('[data-tank="north"] .liters')) !== before, 10_000, 'north figure changes');
    const ms = Date.now() - t0;
    const after = await tank('north');
    expect(after.liters!).toBeLessThan(north.liters!);
    expect(await text('[data-tank="north"] .liters')).toBe(fmt(after.liters!));
    console.log(`page: publish → figure changed on the page in ${ms} ms`);
    await page.screenshot({ path: `${SHOTS}/village-360.png`, fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: `${SHOTS}/village-1920-screen.png` });
    await page.setViewportSize({ width: 360, height: 740 });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('marks a silent tank as stale and an offline device as offline', async () => {
    // three minutes pass; every device but the hill tank's reports again
    clock.t += 3 * 60_000;
    for (const [d, r] of Object.entries(READINGS)) if (d !== 'tank-hill') await publish(d, d === 'tank-north' ? { distance_mm: 1500 } : r);
    await waitFor(async () => (await tank('hill')).stale, 10_000, 'hill stale in the API');
    await waitFor(async () => (await text('[data-tank="hill"] .stale-label')) === 'STALE — last seen 3 min ago', 10_000, 'hill stale label');
    expect(await page.locator('[data-tank="hill"]').getAttribute('class')).toContain('stale');
    expect(await text('[data-tank="hill"] .tank-status')).toBe('STALE');
    expect(await page.locator('[data-tank="north"] .stale-label').isHidden()).toBe(true);

    // the school tank's device says offline (its MQTT will, retained)
    await new Promise<void>((resolve, reject) =>
      devices.get('tank-school')!.publish('tend/ashgrove/dev/tank-school/status', 'offline', { qos: 1, retain: true }, (e) => (e ? reject(e) : resolve())),
    );
    await waitFor(
      async () => (await api<{ sensors: SensorHealth[] }>('/api/sensors')).sensors.find((s) => s.id === 'school')?.device_online === false,
      10_000,
      'school offline in the API',
    );
    await waitFor(
      async () => /^OFFLINE — last seen \d+ (s|min) ago$/.test((await text('[data-tank="school"] .stale-label')) ?? ''),
      20_000,
      'school offline label',
    );
    await waitFor(async () => /OFFLINE — last seen/.test((await text('[data-sensor="school"]')) ?? ''), 20_000, 'sensor list offline');
  }, 60_000);

  it('opens the storm exercise from the page: banner, EXERCISE mark and the four lists', async () => {
    await page.mouse.click(5, 200); // the first tap lets the banner sound play
    await page.locator('#drill-button').click();
    await page.locator('#drill-button').click();
    const banner = page.locator('.banner[data-prompt]');
    await banner.first().waitFor({ state: 'visible', timeout: 15_000 });
    expect(await banner.first().textContent()).toContain('EXERCISE');
    const [prompt] =
      await api<{ id: string; damaged: string[]; working: string[]; urgent: string[]; can_wait: string[]; exercise: boolean }[]>('/api/assembly');
    expect(prompt.exercise).toBe(true);
    const root = page.locator('article.prompt');
    expect(await root.locator('.exercise-mark').textContent()).toContain('EXERCISE');
    for (const key of ['damaged', 'working', 'urgent', 'can_wait'] as const) {
      const shown = await root.locator(`[data-list="${key}"] li`).allTextContents();
      expect(shown, key).toEqual(prompt[key].length ? prompt[key] : ['nothing listed']);
    }
    expect(prompt.damaged.join(' ')).toMatch(/North tank/);
    await waitFor(() => page.evaluate(() => Number(document.body.dataset.soundPlays ?? 0) >= 1), 10_000, 'banner sound');

    // a note with markup, added from the phone, comes back as text
    const evil = '<img src=x onerror="window.__xss=1">pipe holds';
    await root.locator('input[name="author"]').fill('Ana');
    await root.locator('textarea[name="text"]').fill(evil);
    await root.locator('form.note-form button[type="submit"]').click();
    await waitFor(async () => (await root.locator('.note-text').allTextContents()).includes(evil), 10_000, 'note shown');
    expect(await root.locator('.note-text img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/village-prompt-360.png`, fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/village-prompt-1920.png`, fullPage: true });
    // what the shed screen shows without scrolling
    await page.screenshot({ path: `${SHOTS}/village-prompt-1920-screen.png` });
    expect(await page.locator('#prompt-pill').isVisible()).toBe(true);
    expect(await text('#prompt-pill')).toBe('EXERCISE PROMPT OPEN');
    await page.setViewportSize({ width: 360, height: 740 });
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
