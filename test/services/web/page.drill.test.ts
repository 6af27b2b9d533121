// The page in the village's time, and the exercise from start to end, in headless Chromium against
// a real village (demo config, set in America/Lima) while the phone is set to Asia/Tokyo: an alert
// and its time read in Lima time, the exercise banner says when it ends, the page ends it with the
// write key, and the banner goes to the all-clear.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortTime } from '../../../core/format.ts';
import type { Alert, AssemblyPrompt, Clock, ReserveStatus } from '../../../core/types.ts';
import { waitFor } from '../../helpers/net.ts';
import { startPageVillage, type PageVillage, type TestVillage } from '../../helpers/page-village.ts';
import { demoConfig } from '../../helpers/village.ts';

const SHOTS = '/tmp/tend-shots';
const TZ = 'America/Lima';
const PHONE_TZ = 'Asia/Tokyo';
// 10:00 in Lima is 00:00 the next day in Tokyo: a page on the phone's clock shows other hours and days
const T0 = Date.parse('2026-11-26T15:00:00Z');
const clock = {
  t: T0,
  now() {
    return this.t;
  },
} satisfies Clock & { t: number };

const READINGS: Record<string, Record<string, number>> = {
  'tank-north': { distance_mm: 812 },
  'tank-school': { pressure_kpa: 12.5 },
  'tank-hill': { level_mm: 1500 },
  'power-shed': { soc_pct: 72, voltage_v: 52.1, load_w: 2100, solar_w: 1400 },
  'cold-store': { fridge1_c: 2.7, fridge2_c: 4.2, freezer_c: -18.5, freezer_door: 0 },
  'weather-mast': { pressure_hpa: 1012.4, wind_ms: 4.2, gust_ms: 7.9, rain_mm: 0 },
};

let pv: PageVillage;
let village: TestVillage;
let page: Page;
let pageErrors: string[];
const api = <T>(path: string) => pv.api<T>(path);
const text = async (sel: string) => (await page.locator(sel).first().textContent({ timeout: 10_000 })) ?? '';
const publishAll = async (except: string[] = []) => {
  for (const [d, r] of Object.entries(READINGS)) if (!except.includes(d)) await pv.publish(d, r);
};
/** "10:21": the hour and minute of an instant in Lima */
const limaClock = (at: string | number) => shortTime(at, TZ).split(' ')[2]!;

beforeAll(async () => {
  const config = demoConfig();
  config.village.timezone = TZ;
  pv = await startPageVillage({ readings: READINGS, clock, config });
  ({ village, page, pageErrors } = pv);
  // the phone is set to another zone than the village
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setTimezoneOverride', { timezoneId: PHONE_TZ });
}, 120_000);

afterAll(() => pv?.close(), 60_000);

describe('the page in the village’s time zone', () => {
  it('an alert reads Lima time, in its text and on the page of a phone set to Tokyo', async () => {
    // six minutes on, past the start-up grace, the weather mast is silent; a little later it is not reporting
    clock.t = T0 + 6 * 60_000;
    await publishAll(['weather-mast']);
    await waitFor(async () => (await api<ReserveStatus>('/api/status')).weather.stale, 15_000, 'mast stale');
    clock.t = T0 + 8 * 60_000;
    await publishAll(['weather-mast']);
    const alert = await waitFor(
      async () => (await api<Alert[]>('/api/alerts')).find((a) => a.rule === 'sensor_offline' && a.subject === 'weather-mast' && a.state === 'firing'),
      15_000,
      'mast alert',
    );
    expect(alert.detail).toContain(`last heard ${shortTime(T0, TZ)}`);
    expect(shortTime(T0, TZ)).toBe('26 Nov 10:00 GMT-5');

    await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(PHONE_TZ);
    const li = page.locator(`.alert[data-alert="${alert.id}"]`);
    await li.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await li.locator('.alert-detail').textContent()).toContain('last heard 26 Nov 10:00 GMT-5');
    // about 10:08 in Lima, 00:08 the next day on the phone's own clock
    await waitFor(async () => (await li.locator('.muted').last().textContent()) === `since ${limaClock(alert.fired_at!)}`, 10_000, 'since in Lima time');
    expect(limaClock(alert.fired_at!)).toMatch(/^10:\d\d$/);
    expect(await text('#village-meta')).toContain(`times in ${TZ}`);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

describe('the exercise from the page', () => {
  it('starts, says when it ends, is ended with the write key, and the banner goes to the all-clear', async () => {
    await page.locator('#drill-button').click();
    await page.locator('#drill-button').click();
    const banner = page.locator('.banner[data-prompt]');
    await banner.first().waitFor({ state: 'visible', timeout: 15_000 });
    const [prompt] = await api<AssemblyPrompt[]>('/api/assembly');
    expect(prompt!.exercise).toBe(true);
    const ends = limaClock(prompt!.exercise_ends_at!);
    // 15 minutes after it started, in Lima time (the phone's own clock would say 00:2x)
    expect(Date.parse(prompt!.exercise_ends_at!)).toBe(clock.t + 15 * 60_000);
    expect(ends).toMatch(/^10:\d\d$/);
    await waitFor(async () => (await banner.first().locator('.banner-ends').textContent()) === `Exercise ends at ${ends}`, 10_000, 'end time in the banner');
    await waitFor(async () => (await text('#drill-state')).includes(`ends at ${ends}`), 10_000, 'end time after starting');
    expect(await text(`#prompt-${prompt!.id} .exercise-mark`)).toContain(`it ends at ${ends}`);

    // the practice fridge reads the same in every list the page shows
    const root = page.locator(`#prompt-${prompt!.id}`);
    expect((await root.locator('[data-list="damaged"] li').allTextContents()).some((t) => t.startsWith('Kitchen fridge: 9 °C'))).toBe(true);

    mkdirSync(SHOTS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/village-drill-360.png` });
    const end = banner.first().locator('button.drill-end');
    expect(await end.isVisible()).toBe(true);
    await end.click();
    const closed = page.locator(`.banner.closed[data-closed="${prompt!.id}"]`);
    await closed.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await closed.textContent()).toContain('EXERCISE · Prompt closed');
    expect(await closed.textContent()).toContain('All clear in Ashgrove');
    expect(await page.locator('.banner[data-prompt]').count()).toBe(0);
    expect(await api<AssemblyPrompt[]>('/api/assembly')).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
