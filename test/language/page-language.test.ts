// The page in the village's language, against the real village in headless Chromium: a village
// whose config says `language: es` opens in Spanish (labels, status words, numbers), a viewer
// switches it to French in the header and the choice stays on that phone; every domain, status
// and alert kind carries an icon beside its word, named for screen readers or hidden from them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGE_DIR } from '../../core/i18n.ts';
import { waitFor } from '../helpers/net.ts';
import { startPageVillage, type PageVillage, type TestVillage } from '../helpers/page-village.ts';
import { demoConfig, getJson } from '../helpers/village.ts';

const es = JSON.parse(readFileSync(join(LANGUAGE_DIR, 'es.json'), 'utf8')) as Record<string, string>;
const fr = JSON.parse(readFileSync(join(LANGUAGE_DIR, 'fr.json'), 'utf8')) as Record<string, string>;

let pv: PageVillage;
let village: TestVillage;
let page: Page;
let pageErrors: string[];
/** the tanks and the battery of the demo village report once, so the page has figures to write */
const READINGS: Record<string, Record<string, number>> = {
  'tank-north': { distance_mm: 812 },
  'tank-school': { pressure_kpa: 12.5 },
  'tank-hill': { level_mm: 1500 },
  'power-shed': { soc_pct: 72, voltage_v: 52.1, load_w: 2100, solar_w: 1400 },
};

beforeAll(async () => {
  const config = demoConfig();
  config.village.language = 'es';
  pv = await startPageVillage({ readings: READINGS, config });
  ({ village, page, pageErrors } = pv);
}, 120_000);

afterAll(() => pv?.close(), 60_000);

const text = (sel: string) => page.locator(sel).first().textContent({ timeout: 10_000 });
const label = async (sel: string) => ((await text(sel)) ?? '').replace(/\s+/g, ' ').trim();

describe('the village language over HTTP', () => {
  it('serves each language’s words, names the village’s, and 404s a language tend does not have', async () => {
    const langs = await getJson<{ village: string; languages: { tag: string; name: string }[] }>(`${village.webUrl}/languages`);
    expect(langs.village).toBe('es');
    expect(langs.languages.map((l) => l.tag)).toEqual(expect.arrayContaining(['en', 'es', 'fr']));
    expect(langs.languages.find((l) => l.tag === 'fr')?.name).toBe('français');
    expect(await getJson(`${village.webUrl}/language/es.json`)).toEqual(es);
    expect(await getJson(`${village.webUrl}/language/en.json`)).toEqual({});
    for (const bad of ['/language/xx.json', '/language/..%2fpackage.json', '/language/es']) {
      const r = await fetch(village.webUrl + bad);
      expect(r.status, bad).toBe(404);
      expect(((await r.json()) as { error: string }).error).toMatch(/no language/);
    }
    const status = await getJson<{ village: { language: string } }>(`${village.webUrl}/api/status`);
    expect(status.village.language).toBe('es');
  });
});

describe('the page in the village language', () => {
  it('opens in Spanish, switches to French from the header, and remembers the choice', async () => {
    await page.goto(village.webUrl);
    await waitFor(async () => (await text('#link-text')) === es['page.live.live'], 15_000, 'live link, in Spanish');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('es');
    expect(await label('#water-h [data-t]')).toBe(es['page.water.title']);
    expect(await label('#power-h [data-t]')).toBe(es['page.power.title']);
    expect(await label('#settings-h')).toBe(es['page.settings.title']);
    expect(await page.locator('#write-key').evaluate((e) => e.closest('form')!.querySelector('button')!.textContent)).toBe(es['page.key.save']);
    // the status badge says one of the status words, in Spanish (no reading yet: no data)
    const levelsEs = ['ok', 'watch', 'strained', 'critical', 'unknown'].map((l) => es[`page.level.${l}`]);
    await waitFor(async () => levelsEs.includes(await label('#water-status')), 10_000, 'Spanish status word');
    expect(await page.locator('#language-select').inputValue()).toBe('es');
    expect(await page.locator('.lang-pick').isVisible()).toBe(true);
    // figures the Spanish way: thousands with a point (from five digits), decimals with a comma
    const liters = (await getJson(`${village.webUrl}/api/status`)).water.liters as number;
    expect(liters).toBeGreaterThan(10_000);
    await waitFor(async () => (await text('#water-liters')) === Math.round(liters).toLocaleString('es'), 10_000, 'litres in Spanish');
    expect(await text('#water-liters')).toContain('.');
    expect(await text('#water-days-minimum')).toMatch(/^\d+,\d$/);

    await page.locator('#language-select').selectOption('fr');
    await waitFor(async () => (await label('#water-h [data-t]')) === fr['page.water.title'], 10_000, 'French heading');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    expect(await text('#link-text')).toBe(fr['page.live.live']);
    expect(await label('#cold-h [data-t]')).toBe(fr['page.cold.title']);
    const levelsFr = ['ok', 'watch', 'strained', 'critical', 'unknown'].map((l) => fr[`page.level.${l}`]);
    expect(levelsFr).toContain(await label('#water-status'));
    expect(await page.locator('#offer-text').getAttribute('placeholder')).toBe(fr['page.offer.placeholder']);
    expect(await text('#water-liters')).toBe(Math.round(liters).toLocaleString('fr'));
    expect(await page.evaluate(() => localStorage.getItem('tend.language'))).toBe('fr');

    // the choice belongs to this phone: a reload keeps French although the village speaks Spanish
    await page.reload();
    await waitFor(async () => (await text('#link-text')) === fr['page.live.live'], 15_000, 'live link, in French');
    expect(await label('#water-h [data-t]')).toBe(fr['page.water.title']);
    expect(await page.locator('#language-select').inputValue()).toBe('fr');
    // and back to English, with English numbers again
    await page.locator('#language-select').selectOption('en');
    await waitFor(async () => (await label('#water-h [data-t]')) === 'Water', 10_000, 'English heading');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await text('#water-liters')).toBe(Math.round(liters).toLocaleString('en-GB'));
    expect(await text('#water-days-minimum')).toMatch(/^\d+\.\d$/);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('puts an icon beside every domain, status and alert kind, hidden where a word says the same', async () => {
    await page.evaluate(() => localStorage.setItem('tend.language', 'es'));
    await page.goto(`${village.webUrl}/?token=${encodeURIComponent(village.token)}`);
    await waitFor(async () => (await text('#link-text')) === es['page.live.live'], 15_000, 'live link');
    // domains: a decorative icon beside the heading's word
    for (const [id, icon] of [
      ['water-h', 'water'],
      ['power-h', 'power'],
      ['cold-h', 'cold'],
      ['weather-h', 'weather'],
      ['fed-h', 'federation'],
      ['sensors-h', 'sensors'],
    ]) {
      const svg = page.locator(`#${id} svg[data-icon="${icon}"]`);
      expect(await svg.count(), id).toBe(1);
      expect(await svg.getAttribute('aria-hidden')).toBe('true');
      expect((await label(`#${id}`)).length).toBeGreaterThan(2);
    }
    // statuses: the badge holds its icon and its word, so colour never stands alone
    const badge = page.locator('#water-status');
    const level = await badge.getAttribute('data-level');
    expect(await badge.locator(`svg[data-icon="${level}"][aria-hidden="true"]`).count()).toBe(1);
    expect(await label('#water-status')).toBe(es[`page.level.${level}`]);

    // alert kinds: a storm exercise raises alerts of four kinds; each shows a named picture
    const r = await fetch(`${village.webUrl}/api/drill`, { method: 'POST', headers: { authorization: `Bearer ${village.token}` }, body: '{}' });
    expect(r.status).toBe(202);
    await waitFor(async () => (await page.locator('#alert-list li').count()) >= 3, 15_000, 'exercise alerts on the page');
    for (const kind of ['storm', 'tank_drop', 'power_unstable', 'cold_above_safe']) {
      const img = page.locator(`#alert-list svg[data-icon="${kind}"]`);
      expect(await img.count(), kind).toBe(1);
      expect(await img.getAttribute('role')).toBe('img');
      expect(await img.getAttribute('aria-label')).toBe(es[`page.kind.${kind}`]);
      // what a screen reader hears for it
      expect(await page.getByRole('img', { name: es[`page.kind.${kind}`] }).count()).toBeGreaterThanOrEqual(1);
    }
    // the alert badge: the severity's icon and word
    const alertBadge = page.locator('#alert-list li[data-severity="warning"] .badge').first();
    expect(await alertBadge.locator('svg[aria-hidden="true"]').count()).toBe(1);
    expect(await label('#alert-list li[data-severity="warning"] .badge')).toBe(es['page.severity.warning']);
    // every icon on the page is either hidden beside a word or named
    const unnamed = await page.evaluate(
      () => [...document.querySelectorAll('svg.icon')].filter((s) => s.getAttribute('aria-hidden') !== 'true' && !s.getAttribute('aria-label')).length,
    );
    expect(unnamed).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
