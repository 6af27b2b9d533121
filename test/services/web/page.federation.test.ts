// The page's federation section in headless Chromium, against two real villages federated
// through a real Mosquitto: a neighbour's need shows beside its offer (as text, never markup), the
// fact where our offer could meet it is listed, and the need form posts our own need with the
// write key, which then reaches the neighbour.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { startVillage, type Village } from '../../../services/village.ts';
import type { FederationView } from '../../../services/federation/federation.ts';
import { launchBrowser, type TestBrowser } from '../../helpers/browser.ts';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { realVillageConfig, tankReading } from '../federation/fixtures.ts';

const SHOTS = '/tmp/tend-shots';
const NAMES = ['hillside', 'riverside'];
let broker: Mosquitto;
let tmp: { dir: string; remove(): void };
const villages = new Map<string, Village>();
let browser: TestBrowser;
let page: Page;
const pageErrors: string[] = [];
const v = (id: string) => villages.get(id)!;
const federation = async (id: string) => (await fetch(`${v(id).webUrl}/api/federation`)).json() as Promise<FederationView>;

// markup in a neighbour's words must show as text
const NEED = '<b>water</b> for the clinic <img src=x onerror="window.__xss=1">';

beforeAll(async () => {
  tmp = tempDir('tend-page-fed-');
  broker = await startMosquitto({ users: Object.fromEntries(NAMES.map((n) => [n, `pw-${n}`])) });
  for (const n of NAMES) {
    villages.set(n, await startVillage({ config: realVillageConfig(n, broker.url), storageDir: `${tmp.dir}/${n}`, webPort: 0, brokerPort: 0, log: () => {} }));
  }
  browser = await launchBrowser();
  page = await browser.newPage({ width: 360, height: 740 });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const x of villages.values()) await x.stop().catch(() => {});
  await broker?.close();
  tmp?.remove();
}, 60_000);

describe('the federation section of the page', () => {
  it("shows a neighbour's need beside its offer and the fact where ours meets it; the need form posts ours", async () => {
    // Hillside holds 40,000 L: it can share about 21,000; Riverside says it needs 800 L
    await tankReading(v('hillside'), 1600);
    await tankReading(v('riverside'), 1600);
    const r = await fetch(`${v('riverside').webUrl}/api/federation/need`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${v('riverside').token}` },
      body: JSON.stringify({ need: NEED, water_liters: 800 }),
    });
    expect(r.status).toBe(200);
    await waitFor(
      async () => {
        const f = await federation('hillside');
        return f.matches.length === 1 && f.neighbours.find((n) => n.village === 'riverside')?.offer;
      },
      30_000,
      "Riverside's need and offer heard at Hillside",
    );

    await page.goto(`${v('hillside').webUrl}/?token=${v('hillside').token}`);
    const card = page.locator('#fed-body article[data-village="riverside"]');
    await waitFor(async () => (await card.locator('.need-text').textContent()) === `${NEED} (800 L of water)`, 15_000, "Riverside's need on the page");
    expect(await card.locator('.offer-text').textContent()).toBe('can share about 21,000 litres of water');
    expect(await page.locator('#fed-body .fed-matches li').allTextContents()).toEqual([
      'Hillside offers 21,000 L of water; Riverside has said it needs 800 L of water.',
    ]);
    expect(await page.locator('#fed-body b, #fed-body img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // the section, its cards and both forms pass axe-core (no serious or critical violation)
    await page.route('**/test-only/axe.min.js', (r) => r.fulfill({ path: 'node_modules/axe-core/axe.min.js', contentType: 'text/javascript' }));
    await page.addScriptTag({ url: '/test-only/axe.min.js' });
    const violations = await page.evaluate(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: axe is the script just added to the page
      const axe = (window as any).axe;
      const r = await axe.run('#federation', { resultTypes: ['violations'] });
      return (r.violations as { id: string; impact: string | null }[]).filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    });
    expect(violations).toEqual([]);

    mkdirSync(SHOTS, { recursive: true });
    await page.locator('#federation').screenshot({ path: `${SHOTS}/federation-needs.png` });

    // our own need, through the form beside the offer form
    expect(await page.locator('#need-now').textContent()).toBe('No need published.');
    await page.locator('#need-text').fill('hands for sandbags');
    await page.locator('#need-hands').fill('6');
    await page.locator('#need-form button[type="submit"]').click();
    await waitFor(
      async () => (await page.locator('#need-now').textContent()) === 'Now saying we need: hands for sandbags (the help of 6 people)',
      10_000,
      'own need shown',
    );
    expect((await federation('hillside')).own.need).toMatchObject({ text: 'hands for sandbags', quantities: { hands: 6 } });
    await waitFor(
      async () => (await federation('riverside')).neighbours.find((n) => n.village === 'hillside')?.need?.text === 'hands for sandbags',
      30_000,
      "Hillside's need at Riverside",
    );

    // and cleared again from the page
    await page.locator('#need-clear').click();
    await waitFor(async () => (await page.locator('#need-now').textContent()) === 'No need published.', 10_000, 'need cleared');
    expect((await federation('hillside')).own.need).toBeNull();

    // an edited offer can count what it shares too, so needs can be matched with it
    await page.locator('#offer-text').fill('two people for pipe repair');
    await page.locator('#offer-hands').fill('2');
    await page.locator('#offer-form button[type="submit"]').click();
    await waitFor(async () => (await page.locator('#offer-now').textContent()) === 'Now offered: two people for pipe repair', 10_000, 'own offer shown');
    expect((await federation('hillside')).own).toMatchObject({ offer: 'two people for pipe repair', offer_quantities: { hands: 2 } });
    expect(await page.locator('#offer-hands').inputValue()).toBe('');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
