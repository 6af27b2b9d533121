// axe-core in real headless Chromium against a real demo-like village: the phone page and the
// desktop page in light and dark colour scheme, and the shed screen (/?tv), first on a calm day and
// then with a real crisis prompt open (banner, prompt, note form, alerts). None may have a serious
// or critical violation. A failure lists each rule with the first elements it found.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.ts';
import { waitFor } from '../../helpers/net.ts';
import { type ShedVillage, startShedVillage } from './shed-village.ts';

const AXE = 'node_modules/axe-core/axe.min.js';
const VIEWS = [
  { name: 'phone', width: 360, height: 800, query: '' },
  { name: 'desktop', width: 1280, height: 900, query: '' },
  { name: 'shed screen', width: 1920, height: 1080, query: '?tv' },
] as const;
const SCHEMES = ['light', 'dark'] as const;

type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] };

let village: ShedVillage;
let browser: TestBrowser;

beforeAll(async () => {
  village = await startShedVillage({ hoursOfHistory: 1 });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await village?.close();
}, 60_000);

async function open(view: (typeof VIEWS)[number], scheme: (typeof SCHEMES)[number]): Promise<Page> {
  const page = await browser.newPage({ width: view.width, height: view.height });
  await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
  await page.goto(`${village.webUrl}/${view.query}`);
  await waitFor(async () => (await page.locator('#link-text').textContent()) === 'live', 15_000, 'live link');
  await waitFor(async () => /\d/.test((await page.locator('[data-tank="north"] .liters').textContent()) ?? ''), 10_000, 'tank figures');
  await waitFor(() => page.locator('#power-spark polyline').count(), 10_000, 'sparklines');
  return page;
}

/** Serious and critical violations on the page as it is now, as readable lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  // the page's CSP allows scripts from its own origin only: axe comes as if it were one of them
  await page.route('**/test-only/axe.min.js', (r) => r.fulfill({ path: AXE, contentType: 'text/javascript' }));
  await page.addScriptTag({ url: '/test-only/axe.min.js' });
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is the script just added to the page
    const axe = (window as any).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations as Violation[];
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} — ${v.nodes
          .slice(0, 4)
          .map((n) => `${n.target.join(' ')} (${(n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 160)})`)
          .join('; ')}`,
    );
}

async function checkAll(what: string, before?: (page: Page) => Promise<void>): Promise<void> {
  const found: string[] = [];
  for (const view of VIEWS) {
    for (const scheme of SCHEMES) {
      const page = await open(view, scheme);
      try {
        if (before) await before(page);
        for (const v of await seriousViolations(page)) found.push(`${view.name}, ${scheme}: ${v}`);
      } finally {
        await page.close();
      }
    }
  }
  expect(found, what).toEqual([]);
}

describe('accessibility (axe-core)', () => {
  it('finds what it looks for: an unnamed meter and grey-on-grey text on the live page', async () => {
    const page = await open(VIEWS[0], 'light');
    await page.evaluate(() => {
      const m = document.createElement('div');
      m.setAttribute('role', 'meter');
      m.setAttribute('aria-valuenow', '5');
      const faint = document.createElement('p');
      faint.textContent = 'faint words';
      faint.style.cssText = 'color:#777;background:#888';
      document.querySelector('main')!.append(m, faint);
    });
    const found = await seriousViolations(page);
    await page.close();
    expect(found.some((v) => v.includes('aria-meter-name'))).toBe(true);
    expect(found.some((v) => v.includes('color-contrast'))).toBe(true);
  }, 60_000);

  it('a calm day: no serious or critical violation on phone, desktop or shed screen, light or dark', async () => {
    await checkAll('calm day');
  }, 120_000);

  it('a crisis: the banner, prompt, note form and alerts pass too', async () => {
    await village.crisis();
    await checkAll('crisis', async (page) => {
      const tv = await page.evaluate(() => document.body.classList.contains('tv'));
      await page.locator(tv ? '#tv-prompt' : 'article.prompt').waitFor({ state: 'visible', timeout: 10_000 });
      await page.locator('#alerts').waitFor({ state: 'visible', timeout: 10_000 });
    });
  }, 120_000);
});
