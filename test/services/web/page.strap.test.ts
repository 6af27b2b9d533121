// Strapping a tank with the crew, in headless Chromium against a real village (the demo config):
// the page is linked from the main one, takes the sensor's live level or a typed one, sums the
// litres added, builds the table with tend, draws it beside the present shape, prints the
// snippet, keeps the points through a reload, and refuses points that do not go up.
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkText } from '../../../services/assembly/language.ts';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.ts';
import { waitFor } from '../../helpers/net.ts';
import { connectDevice, getJson, startTestVillage } from '../../helpers/village.ts';

let village: Awaited<ReturnType<typeof startTestVillage>>;
let browser: TestBrowser;
let page: Page;
let hill: MqttClient;
const pageErrors: string[] = [];
const text = async (sel: string) => (await page.locator(sel).first().textContent({ timeout: 10_000 })) ?? '';

beforeAll(async () => {
  village = await startTestVillage();
  hill = await connectDevice(village, 'tank-hill');
  await hill.publishAsync('tend/ashgrove/dev/tank-hill/reading', JSON.stringify({ level_mm: 412 }), { qos: 1 });
  await waitFor(
    async () => (await getJson(`${village.webUrl}/api/status`)).water.tanks.find((t: { id: string }) => t.id === 'hill').level_mm === 412,
    10_000,
    'hill level',
  );
  browser = await launchBrowser();
  page = await browser.newPage({ width: 360, height: 800 });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  // the main page keeps the write key from the link; the strapping page is linked from it
  await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hill?.endAsync(true);
  await village?.cleanup();
}, 60_000);

async function step(level: string | null, added: string | { buckets: string; size: string }) {
  if (level !== null) await page.fill('#strap-level', level);
  if (typeof added === 'string') await page.fill('#strap-added', added);
  else {
    await page.fill('#strap-bucket-size', added.size);
    await page.fill('#strap-bucket-count', added.buckets);
  }
  await page.locator('#strap-form button[type="submit"]').click();
}

describe('strapping a tank on the page', () => {
  it('builds the table from the points, draws it beside the present shape and prints the snippet', async () => {
    await page.locator('a[href="/strap"]').click();
    await page.waitForURL(/\/strap$/);
    await page.locator('#strap-tank option[value="hill"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.selectOption('#strap-tank', 'hill');
    expect(await text('#strap-tank-info')).toBe('Present shape: table, 2,000 mm high, 19,000 L when full.');
    await step('0', '0');
    // the sensor's level now, and 25 buckets of 100 L
    await page.locator('#strap-live').click();
    await waitFor(async () => (await page.inputValue('#strap-level')) === '412', 10_000, 'live level');
    expect(await text('#strap-live-state')).toBe('The sensor reads 412 mm now.');
    await step(null, { buckets: '25', size: '100' });
    await step('830', '3300');
    const rows = await page.locator('#strap-points tbody tr').allTextContents();
    expect(rows).toHaveLength(3);
    expect(rows[2]).toContain('5,800');
    await page.locator('#strap-build').click();
    await page.locator('#strap-result').waitFor({ state: 'visible', timeout: 10_000 });
    const snippet = await text('#strap-snippet');
    expect(parse(snippet).tank).toEqual({
      shape: 'table',
      points: [
        [0, 0],
        [412, 2500],
        [830, 5800],
      ],
    });
    // both curves drawn, the measured points on the measured one
    expect(await page.locator('#strap-chart polyline.curve-table').count()).toBe(1);
    expect(await page.locator('#strap-chart polyline.curve-shape').count()).toBe(1);
    expect(await page.locator('#strap-chart circle.curve-point').count()).toBe(3);
    const compare = await text('#strap-compare');
    expect(compare).toMatch(
      /^The largest difference from the present shape is -?[\d,.]+ L \(.+ % of the tank\) at \d[\d,]* mm\. The points stop at 830 mm, below the top/,
    );
    expect(checkText('strap compare', compare)).toEqual([]);
  }, 60_000);

  it('keeps the points through a reload, and refuses a table whose points do not go up', async () => {
    await page.reload();
    await page.locator('#strap-tank option[value="hill"]').waitFor({ state: 'attached', timeout: 10_000 });
    await page.selectOption('#strap-tank', 'hill');
    expect(await page.locator('#strap-points tbody tr').count()).toBe(3);
    await step('700', '100');
    expect(await page.locator('#strap-points tbody tr.not-rising').count()).toBe(1);
    expect(await page.locator('#strap-points tbody tr.not-rising').textContent()).toContain('not above the point before');
    await page.locator('#strap-build').click();
    const error = page.locator('#strap-error');
    await error.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await error.textContent()).toBe('No table yet: point 4: level 700 mm is not above the point before (830 mm); the levels go up as water is added');
    expect(await page.locator('#strap-result').isHidden()).toBe(true);
    // taking the wrong point out again gives the table back
    await page.locator('#strap-points tbody tr.not-rising button').click();
    await page.locator('#strap-build').click();
    await page.locator('#strap-result').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await error.isHidden()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('the API refuses to build without the write key', async () => {
    const res = await fetch(`${village.webUrl}/api/strapping`, {
      method: 'POST',
      body: JSON.stringify({
        tank: 'hill',
        points: [
          [0, 0],
          [1, 1],
        ],
      }),
    });
    expect(res.status).toBe(401);
    const bad = await fetch(`${village.webUrl}/api/strapping`, {
      method: 'POST',
      headers: { authorization: `Bearer ${village.token}` },
      body: JSON.stringify({
        tank: 'battery',
        points: [
          [0, 0],
          [1, 1],
        ],
      }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/no tank sensor "battery"/);
  });
});
