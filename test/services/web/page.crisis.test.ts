// A real (not exercise) assembly prompt on the page: the real demo village on a fake clock, real
// MQTT devices; the battery bank falls to 8% and stays there past the rule's hold time, the
// alert is critical, the incident becomes a crisis and opens a prompt. The page shows the banner
// (no EXERCISE mark), plays its sound, and lists damaged / still working / urgent / can wait
// exactly as the API holds them, with the reserves the status shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { waitFor } from '../../helpers/net.ts';
import { startPageVillage, type PageVillage, type TestVillage } from '../../helpers/page-village.ts';
import { demoReadings, testClock } from '../../helpers/village.ts';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';

const SHOTS = '/tmp/tend-shots';
const clock = testClock(Date.now());
const READINGS = demoReadings(0);

let pv: PageVillage;
let village: TestVillage;
let page: Page;
const api = <T>(path: string) => pv.api<T>(path);
/** Every device reports once at the current (fake) time; the village has them all after. */
const reportAll = () => pv.reportAll();

beforeAll(async () => {
  pv = await startPageVillage({ readings: READINGS, clock });
  ({ village, page } = pv);
}, 120_000);

afterAll(() => pv?.close(), 60_000);

describe('a real crisis prompt on the page', () => {
  it('shows the banner, the four lists and the reserves when the battery runs critically low', async () => {
    await page.goto(`${village.webUrl}/`);
    await waitFor(async () => (await page.locator('#link-text').textContent()) === 'live', 15_000, 'live link');
    await page.mouse.click(5, 200); // first tap: the banner may sound
    expect(await page.locator('.banner[data-prompt]').count()).toBe(0);

    // the battery bank drops to 8% and stays there past the hold time (readings every 30 s)
    READINGS['power-shed'] = { ...READINGS['power-shed'], soc_pct: 8 };
    for (let i = 0; i < 14 && !(await api<AssemblyPrompt[]>('/api/assembly')).length; i++) {
      clock.t += 30_000;
      await reportAll();
    }
    const prompts = await api<AssemblyPrompt[]>('/api/assembly');
    expect(prompts).toHaveLength(1);
    const prompt = prompts[0];
    expect(prompt.exercise).toBe(false);

    const banner = page.locator(`.banner[data-prompt="${prompt.id}"]`);
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.locator('.banner-headline').textContent()).toBe(prompt.headline);
    expect(await banner.textContent()).not.toContain('EXERCISE');
    expect(await page.locator('.exercise-mark').count()).toBe(0);
    await waitFor(() => page.evaluate(() => document.body.dataset.soundPlays === '1'), 10_000, 'banner sound');

    const root = page.locator('article.prompt');
    const current = (await api<AssemblyPrompt[]>('/api/assembly'))[0];
    for (const key of ['damaged', 'working', 'urgent', 'can_wait'] as const) {
      const shown = await root.locator(`[data-list="${key}"] li`).allTextContents();
      expect(shown, key).toEqual(current[key].length ? current[key] : ['nothing listed']);
    }
    expect(current.damaged.join(' ')).toMatch(/Battery bank/);
    expect(await root.locator('[data-list="questions"] li').count()).toBe(current.questions.length);
    const status = await api<ReserveStatus>('/api/status');
    const hours = status.power.hours_left!;
    expect(await root.locator('[data-list="reserves"]').textContent()).toContain(`${hours < 100 ? hours.toFixed(1) : Math.round(hours)}hours of power`);
    expect(await page.locator('#power-soc').textContent()).toBe('8%');

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/crisis-360.png`, fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/crisis-1920-screen.png` });
  }, 120_000);
});
