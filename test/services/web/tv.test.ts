// The shed screen (/?tv) in real headless Chromium against a real demo-like village with seven
// tanks and four hours of history: at 1280×720 and 1920×1080 nothing scrolls, days of water is the
// largest figure, every text is at least 2.5 % of the screen height, the tank and cold lists turn
// page by page, and a real crisis prompt shows its headline and urgent count without hiding the
// figures. The sparklines pick their span from the history (4 h → the last 6 h) for tanks, power
// and cold units, and the phone page keeps to its width. With TEND_SCREENSHOTS=1 it saves the
// README's screenshots (docs/tv-720.png, docs/tv-1080.png, docs/phone.png).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.ts';
import { waitFor } from '../../helpers/net.ts';
import { getJson } from '../../helpers/village.ts';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';
import { type ShedVillage, startShedVillage } from './shed-village.ts';

const SHOTS = process.env.TEND_SCREENSHOTS === '1';
const SIZES = [
  { width: 1280, height: 720, shot: 'docs/tv-720.png' },
  { width: 1920, height: 1080, shot: 'docs/tv-1080.png' },
];

let village: ShedVillage;
let browser: TestBrowser;
const pageErrors: string[] = [];

beforeAll(async () => {
  village = await startShedVillage({ hoursOfHistory: 4 });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await village?.close();
}, 60_000);

async function open(size: { width: number; height: number }, query = '?tv'): Promise<Page> {
  const page = await browser.newPage(size);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${village.webUrl}/${query}`);
  await waitFor(async () => (await page.locator('#link-text').textContent()) === 'live', 15_000, 'live link');
  await waitFor(async () => /\d/.test((await page.locator('[data-tank="north"] .liters').textContent()) ?? ''), 10_000, 'tank figures');
  return page;
}

/** Every element showing text of its own inside the screen: its font size and a way to name it. */
function textSizes(page: Page) {
  return page.evaluate(() => {
    const out: { what: string; px: number; text: string; cut: boolean }[] = [];
    for (const e of Array.from(document.body.querySelectorAll('*'))) {
      if (e.closest('svg') || e.tagName === 'OPTION' || e.tagName === 'SCRIPT' || e.tagName === 'TEMPLATE') continue;
      const own = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent!.trim() !== '');
      if (!own) continue;
      const r = e.getBoundingClientRect();
      const cs = getComputedStyle(e);
      if (!e.getClientRects().length || cs.visibility === 'hidden' || r.width === 0 || r.height === 0) continue;
      if (r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth) continue;
      const what = e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}.${(e.getAttribute('class') ?? '').replace(/ /g, '.')}`;
      // cut off: part of it outside the card that holds it (a card clips what overflows it)
      const card = e.closest('.card')?.getBoundingClientRect();
      const cut = !!card && (r.bottom > card.bottom + 1 || r.right > card.right + 1 || r.top < card.top - 1);
      out.push({ what, px: parseFloat(cs.fontSize), text: (e.textContent ?? '').trim().slice(0, 40), cut });
    }
    return out;
  });
}

/** The screen's checks: no scrolling, days of water the largest, every text readable at 3 m. */
async function expectOneReadableScreen(page: Page, size: { width: number; height: number }): Promise<void> {
  const m = await page.evaluate(() => ({
    scrollHeight: document.scrollingElement!.scrollHeight,
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerHeight,
    innerWidth,
  }));
  expect(m.scrollHeight, `page height at ${size.width}×${size.height}`).toBeLessThanOrEqual(m.innerHeight);
  expect(m.scrollWidth, `page width at ${size.width}×${size.height}`).toBeLessThanOrEqual(m.innerWidth);
  const sizes = await textSizes(page);
  const days = sizes.find((s) => s.what === '#water-days-current');
  expect(days, 'days of water on screen').toBeDefined();
  const larger = sizes.filter((s) => s !== days && s.px >= days!.px);
  expect(larger, 'texts as large as days of water').toEqual([]);
  const small = sizes.filter((s) => s.px < 0.025 * size.height - 0.01);
  expect(small, `texts under 2.5 % of ${size.height} px`).toEqual([]);
  expect(
    sizes.filter((s) => s.cut),
    'texts cut off by their card',
  ).toEqual([]);
  expect(sizes.find((s) => s.what === '#water-liters')!.px).toBeLessThan(days!.px);
}

/** a cold unit's temperature (the cold list turns page by page by itself) */
const COLD_SHOWN = '.cold-unit .temp';

/**
 * The first element matching `css` that is shown now is inside the screen and on top where it
 * stands (nothing covers it). Found and measured in one turn of the page: a list that turns by
 * itself may hide the one found between a lookup and a later measurement. While a list is between
 * two of its pages (nothing shown for a moment), it looks again.
 */
async function expectInView(page: Page, css: string): Promise<void> {
  let seen = 'none shown';
  for (let i = 0; i < 50 && seen === 'none shown'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    seen = await page.evaluate((sel) => {
      const e = Array.from(document.querySelectorAll(sel)).find((x) => {
        const b = x.getBoundingClientRect();
        return b.width > 0 && b.height > 0 && getComputedStyle(x).visibility !== 'hidden';
      });
      if (!e) return 'none shown';
      const r = e.getBoundingClientRect();
      if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return `outside: ${JSON.stringify(r)}`;
      const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return top && (top === e || e.contains(top)) ? 'ok' : `covered by ${top?.tagName}.${top?.className}`;
    }, css);
  }
  expect(seen, css).toBe('ok');
}

describe('the shed screen', () => {
  it('fits one screen at 1280×720 and 1920×1080, days of water largest, labels ≥ 2.5 % of the height', async () => {
    for (const size of SIZES) {
      const page = await open(size);
      expect(await page.evaluate(() => document.body.classList.contains('tv'))).toBe(true);
      await expectOneReadableScreen(page, size);
      // the cold list turns page by page by itself: the unit looked at is one on the page shown
      for (const sel of ['#water-days-current', '#water-liters', '#power-hours', '#power-soc', '#weather-pressure', COLD_SHOWN]) {
        await expectInView(page, sel);
      }
      // the parts a phone has: left to phones
      for (const sel of ['#sensors', '#settings', '#federation']) expect(await page.locator(sel).isVisible(), sel).toBe(false);
      await page.close();
    }
  }, 90_000);

  it('turns the tank and cold lists page by page by itself', async () => {
    const page = await open(SIZES[0]!);
    const shown = (sel: string) =>
      page.locator(`${sel}:visible`).evaluateAll((es) => es.map((e) => (e as HTMLElement).dataset.tank ?? (e as HTMLElement).dataset.unit));
    const first = await shown('#tanks .tank');
    expect(first).toHaveLength(3);
    expect(await page.locator('#tanks-pager').textContent()).toBe('tanks 1–3 of 7');
    const cold = await shown('#cold-units .cold-unit');
    expect(cold).toHaveLength(2);
    expect(await page.locator('#cold-units-pager').textContent()).toBe('units 1–2 of 3');
    await waitFor(async () => (await page.locator('#tanks-pager').textContent()) === 'tanks 4–6 of 7', 20_000, 'the next page of tanks');
    const second = await shown('#tanks .tank');
    expect(second).toHaveLength(3);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect(await page.locator('#cold-units-pager').textContent()).toBe('unit 3 of 3');
    expect(await shown('#cold-units .cold-unit')).toEqual(['freezer']);
    await waitFor(async () => (await page.locator('#tanks-pager').textContent()) === 'tank 7 of 7', 20_000, 'the last page of tanks');
    expect(await shown('#tanks .tank')).toEqual(['orchard']);
    await page.close();
  }, 60_000);

  it('draws sparklines over the span the history fills, for tanks, battery charge and cold units', async () => {
    const api = await getJson<{ hours: number; step_s: number; points: { ts: number; value: number }[] }>(
      `${village.webUrl}/api/history?sensor=north&hours=auto`,
    );
    expect(api.hours).toBe(6);
    expect(api.step_s).toBe(300);
    expect(api.points.length).toBeGreaterThanOrEqual(24); // a reading every 10 min for 4 h
    const page = await open({ width: 360, height: 800 }, '');
    for (const sel of ['[data-tank="north"] .spark', '#power-spark', '[data-unit="fridge-kitchen"] .spark']) {
      await waitFor(() => page.locator(`${sel} polyline`).count(), 10_000, `${sel} line`);
      expect(await page.locator(sel).getAttribute('data-span'), sel).toBe('6');
      expect(await page.locator(`${sel} .spark-caption`).textContent(), sel).toMatch(/^last 6 h · low .+ · high .+$/);
    }
    // the line starts where the history starts: about a third of the way in (4 h of a 6 h span)
    const x0 = await page.locator('[data-tank="north"] .spark polyline').evaluate((e) => parseFloat(e.getAttribute('points')!.split(' ')[0]!));
    expect(x0).toBeGreaterThan(80);
    expect(x0).toBeLessThan(120);
    expect(await page.locator('#power-spark .spark-caption').textContent()).toMatch(/% · high 72%$/);
    expect(await page.locator('[data-unit="fridge-kitchen"] .spark .spark-limit').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - innerWidth)).toBeLessThanOrEqual(0);
    if (SHOTS) await page.screenshot({ path: 'docs/phone.png' });
    await page.close();
  }, 60_000);

  it('shows an open prompt as its headline and urgent count, with every figure still in view', async () => {
    const prompt: AssemblyPrompt = await village.crisis();
    const urgent = prompt.urgent.length;
    for (const size of SIZES) {
      const page = await open(size);
      const band = page.locator('#tv-prompt');
      await band.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await band.locator('.tv-prompt-headline').textContent()).toBe(prompt.headline);
      expect(await band.locator('.tv-prompt-urgent').textContent()).toBe(
        urgent === 0 ? 'nothing urgent listed' : urgent === 1 ? '1 urgent item' : `${urgent} urgent items`,
      );
      // the full prompt and its banner are for phones; the band stays one or two lines
      expect(await page.locator('article.prompt').isVisible()).toBe(false);
      expect(await page.locator('.banner[data-prompt]').isVisible()).toBe(false);
      const bandHeight = await band.evaluate((e) => e.getBoundingClientRect().height);
      expect(bandHeight).toBeLessThan(size.height * 0.15);
      await expectOneReadableScreen(page, size);
      for (const sel of ['#water-days-current', '#water-liters', '#water-days-minimum', '#power-hours', '#power-soc', '#weather-pressure', COLD_SHOWN]) {
        await expectInView(page, sel);
      }
      const status = await getJson<ReserveStatus>(`${village.webUrl}/api/status`);
      expect(await page.locator('#power-soc').textContent()).toBe(`${Math.round(status.power.soc_percent!)}%`);
      // the alerts run along the bottom, on the screen too
      await page.locator('#alerts').waitFor({ state: 'visible', timeout: 10_000 });
      // the first alert shown: the list may be between two of its pages at any one moment
      const shownTitle = '#alert-list .alert .alert-title';
      await page.locator(`${shownTitle} >> visible=true`).first().waitFor({ state: 'visible', timeout: 10_000 });
      await expectInView(page, shownTitle);
      if (SHOTS) await page.screenshot({ path: size.shot });
      await page.close();
    }
    // the phone page keeps its prompt in full and still fits its width
    const phone = await open({ width: 360, height: 800 }, '');
    await phone.locator('article.prompt').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await phone.locator('#tv-prompt').isVisible()).toBe(false);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - innerWidth)).toBeLessThanOrEqual(0);
    await phone.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
