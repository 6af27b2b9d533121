// The assembly's own tool on the page, in real headless Chromium against a real village (fake
// clock, real MQTT devices): the options as facts, the decision form (the decision and its plan
// reach the API, the plan shows beside the actual figures), and taking and letting go of an item.
// With TEND_SCREENSHOTS=1 the page is saved as docs/assembly-day.png for docs/assembly.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { waitFor } from '../../helpers/net.ts';
import { startPageVillage, type PageVillage, type TestVillage } from '../../helpers/page-village.ts';
import { demoConfig, demoReadings, testClock } from '../../helpers/village.ts';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';

const clock = testClock(Date.parse('2026-11-24T07:30:00Z'));
const READINGS = demoReadings(0);

let pv: PageVillage;
let village: TestVillage;
let page: Page;
const api = <T>(path: string) => pv.api<T>(path);
const reportAll = () => pv.reportAll();

beforeAll(async () => {
  const config = demoConfig();
  config.village.timezone = 'UTC';
  config.assembly.loads = [{ name: 'spring pump', watts: 700 }];
  pv = await startPageVillage({ readings: READINGS, clock, config, viewport: { width: 390, height: 844 } });
  ({ village, page } = pv);
  // the battery bank falls to 8% and stays there: a critical alert, a crisis, a prompt
  READINGS['power-shed'] = { ...READINGS['power-shed'], soc_pct: 8 };
  for (let i = 0; i < 14 && !(await api<AssemblyPrompt[]>('/api/assembly')).length; i++) {
    clock.t += 30_000;
    await reportAll();
  }
}, 120_000);

afterAll(() => pv?.close(), 60_000);

describe("the assembly's own tool on the page", () => {
  it('shows the options, records a decision with its plan from the form, and takes and lets go of an item', async () => {
    const [prompt] = await api<AssemblyPrompt[]>('/api/assembly');
    expect(prompt).toBeDefined();
    await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
    const root = page.locator(`article.prompt[data-prompt="${prompt!.id}"]`);
    await root.waitFor({ state: 'visible', timeout: 15_000 });

    // the options, exactly as the API states them
    const options = (await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`)).options!;
    await waitFor(async () => (await root.locator('[data-list="options"] li').count()) === options.texts.length, 10_000, 'options shown');
    expect(await root.locator('[data-list="options"] li').first().textContent()).toMatch(/^At 50 L a person a day the water lasts [\d.]+ days\.$/);

    // a name first (the note form's "Your name"), then the decision with a plan
    await root.locator('.note-form input[name="author"]').fill('Morning assembly');
    const form = root.locator('form.decision-form');
    await form.locator('textarea[name="decision"]').fill('Share water at 20 L a person a day until the spring pump is rebuilt');
    await form.locator('input[name="water_lpd"]').fill('20');
    await form.locator('button[type="submit"]').click();
    await waitFor(async () => (await form.locator('.decision-state').textContent()) === 'Decision recorded.', 10_000, 'decision recorded');
    const after = await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`);
    expect(after.decisions).toHaveLength(1);
    expect(after.decisions![0]).toMatchObject({
      by: 'Morning assembly',
      text: 'Share water at 20 L a person a day until the spring pump is rebuilt',
      plan: { water_lpd: 20 },
    });
    const shown = root.locator(`[data-list="decisions"] li[data-decision="${after.decisions![0]!.id}"]`);
    await shown.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await shown.textContent()).toContain('plan: 20 L a person a day');

    // the plan beside the actual figures, once the status carries it
    clock.t += 60_000;
    await reportAll();
    const status = await api<ReserveStatus>('/api/status');
    expect(status.plan?.water_lpd).toBe(20);
    const agreed = root.locator('[data-list="plan"] [data-figure="water_agreed"] .big');
    await waitFor(async () => (await agreed.count()) === 1 && (await agreed.textContent()) === '20 L', 10_000, 'plan shown');
    expect(await root.locator('[data-list="plan"] [data-figure="days_plan"] .big').textContent()).toBe(status.plan!.days_left_plan!.toFixed(1));

    // I'm looking at it, then I have let it go
    const item = root.locator('[data-list="items"] li[data-item="power-battery"]');
    await item.locator('button.item-take').click();
    await waitFor(async () => (await item.locator('.item-holders').textContent())?.includes('Morning assembly since'), 10_000, 'taken');
    const held = await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`);
    expect(held.items!.find((i) => i.id === 'power-battery')!.holders.map((h) => h.by)).toEqual(['Morning assembly']);
    if (process.env.TEND_SCREENSHOTS === '1') {
      // the whole page, clipped to the prompt, so the sticky header stays at the top and off the prompt
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.evaluate(() => window.scrollTo(0, 0));
      const box = (await root.boundingBox())!;
      await page.screenshot({
        path: new URL('../../../docs/assembly-day.png', import.meta.url).pathname,
        fullPage: true,
        clip: { x: box.x, y: box.y, width: box.width, height: box.height },
      });
      await page.setViewportSize({ width: 390, height: 844 });
    }
    await item.locator('button.item-release').click();
    await waitFor(async () => (await item.locator('.item-holders').textContent())?.includes('nobody has said yet'), 10_000, 'let go');
    expect((await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`)).items!.find((i) => i.id === 'power-battery')!.holders).toEqual([]);
  }, 120_000);

  it('links the ended prompt to its record, readable on the page', async () => {
    const [prompt] = await api<AssemblyPrompt[]>('/api/assembly');
    READINGS['power-shed'] = { ...READINGS['power-shed'], soc_pct: 80 };
    for (let i = 0; i < 20 && (await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`)).status === 'open'; i++) {
      clock.t += 10 * 60_000;
      await reportAll();
    }
    expect((await api<AssemblyPrompt>(`/api/assembly/${prompt!.id}`)).status).toBe('closed');
    const link = page.locator(`.banner[data-closed="${prompt!.id}"] a.record-link`);
    await link.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await link.getAttribute('href')).toBe(`/api/assembly/${prompt!.id}/record?format=md`);
    await link.click();
    const record = page.locator(`article.record[data-record="${prompt!.id}"]`);
    await record.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await record.locator('[data-list="record-decisions"] li').allTextContents()).toEqual([
      expect.stringContaining('Morning assembly: Share water at 20 L a person a day until the spring pump is rebuilt'),
    ]);
    expect(await record.locator('[data-list="record-items"] li').first().textContent()).toMatch(/^Morning assembly: battery bank, /);
    expect((await record.locator('[data-list="record-questions"] li').allTextContents()).some((q) => q.endsWith('what storage would have helped?'))).toBe(true);
  }, 120_000);
});
