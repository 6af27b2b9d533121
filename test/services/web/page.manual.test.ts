// Readings by hand on the page, in headless Chromium against a real village: the crew picks a
// tank, enters a dipstick level with who and a note, and the page shows it as read by hand, with
// who and when; a reading far from the sensor is kept and flagged; bad input says why.
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { checkText } from '../../../services/assembly/language.ts';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.ts';
import { waitFor } from '../../helpers/net.ts';
import { connectDevice, getJson, SCHOOL_DIPSTICK_TANK, startTestVillage } from '../../helpers/village.ts';

const config = parseConfig({
  version: 1,
  village: { id: 'ashgrove', name: 'Ashgrove', population: 180, timezone: 'UTC' },
  devices: [{ id: 'tank-north', secret: 'north-secret-1', interval_s: 30 }],
  sensors: [
    {
      id: 'north',
      name: 'North tank',
      device: 'tank-north',
      metric: 'level_mm',
      kind: 'tank_level',
      tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000 },
    },
    SCHOOL_DIPSTICK_TANK,
  ],
});

let village: Awaited<ReturnType<typeof startTestVillage>>;
let browser: TestBrowser;
let page: Page;
let device: MqttClient;
const pageErrors: string[] = [];
const text = async (sel: string) => (await page.locator(sel).first().textContent({ timeout: 10_000 })) ?? '';

beforeAll(async () => {
  village = await startTestVillage({ config });
  device = await connectDevice(village, 'tank-north');
  browser = await launchBrowser();
  page = await browser.newPage({ width: 360, height: 800 });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
  await page.locator('#manual-sensor option[value="school"]').waitFor({ state: 'attached', timeout: 15_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await device?.endAsync(true);
  await village?.cleanup();
}, 60_000);

async function enter(sensor: string, value: string, by: string, note = '') {
  await page.selectOption('#manual-sensor', sensor);
  await page.fill('#manual-value', value);
  await page.fill('#manual-by', by);
  await page.fill('#manual-note', note);
  await page.locator('#manual-form button[type="submit"]').click();
}

describe('readings by hand on the page', () => {
  it('a dipstick level for a tank with no sensor shows as read by hand, with who and when', async () => {
    // the manual sensor comes first, and asks for a level in mm
    expect(await page.locator('#manual-sensor option').first().getAttribute('value')).toBe('school');
    await page.selectOption('#manual-sensor', 'school');
    expect(await text('#manual-unit')).toBe('level in mm');
    await enter('school', '750', 'Ana', 'morning dipstick');
    await waitFor(async () => (await text('#manual-state')) === 'Saved.', 10_000, 'saved');
    const li = page.locator('#manual-list li[data-sensor="school"]');
    await li.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await li.locator('.manual-value').textContent()).toBe('750 mm, 1,500 L');
    expect(await li.locator('.manual-who').textContent()).toMatch(/^read by hand by Ana, .*\d\d:\d\d/);
    expect(await li.locator('.manual-note').textContent()).toBe('morning dipstick');
    // the sensors list marks it too, and the tank's figure is the dipstick's
    await page.locator('#sensor-list li[data-sensor="school"] .manual-mark').waitFor({ state: 'visible', timeout: 10_000 });
    const s = await getJson(`${village.webUrl}/api/sensors`);
    expect(s.sensors.find((x: { id: string }) => x.id === 'school')).toMatchObject({ source: 'manual', value: 1500, last_manual: { by: 'Ana' } });
  }, 60_000);

  it('a reading far from the sensor is kept and flagged on the page', async () => {
    await device.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ level_mm: 1000 }), { qos: 1 });
    await waitFor(
      async () => (await getJson(`${village.webUrl}/api/sensors`)).sensors.find((x: { id: string }) => x.id === 'north').value !== null,
      10_000,
      'north',
    );
    await enter('north', '1500', 'Kofi');
    await waitFor(async () => (await text('#manual-state')).startsWith('Saved, and flagged:'), 10_000, 'flagged');
    const flag = page.locator('#manual-list li[data-sensor="north"] .manual-flag');
    await flag.waitFor({ state: 'visible', timeout: 10_000 });
    const words = (await flag.textContent()) ?? '';
    expect(words).toMatch(/^Far from the device's own 3,142 L read at .*\?$/);
    expect(checkText('flag on the page', words)).toEqual([]);
    expect(await page.locator('#manual-list li[data-sensor="north"]').getAttribute('class')).toContain('flagged');
  }, 60_000);

  it('says why a reading was not saved, and what the write key is for', async () => {
    await enter('school', 'lots', 'Ana');
    await waitFor(async () => (await text('#manual-state')).startsWith('Not saved:'), 10_000, 'refused');
    expect(await text('#manual-state')).toContain('is not a number');
    await enter('school', '1600', 'Ana');
    await waitFor(async () => (await text('#manual-state')).includes('outside this tank'), 10_000, 'out of range');
    // the value still shown is the one saved before
    expect(await page.locator('#manual-list li[data-sensor="school"] .manual-value').textContent()).toBe('750 mm, 1,500 L');
    await page.evaluate(() => localStorage.removeItem('tend.token'));
    await enter('school', '700', 'Ana');
    const noKey = await text('#manual-state');
    expect(noKey).toMatch(/write key/);
    for (const msg of [noKey, 'Saved.', 'Not saved: value: "lots" is not a number']) expect(checkText('page', msg)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
