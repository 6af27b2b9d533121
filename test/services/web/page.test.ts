// The village page in headless Chromium against a fixture server (fixture-server.ts): figures,
// stale marking, live SSE updates and reconnects, the prompt banner with its lists and sound,
// escaping of note text, and the token-protected note form.
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launchBrowser, PHONE_AUTOPLAY_POLICY, type TestBrowser } from '../../helpers/browser.ts';
import { waitFor } from '../../helpers/net.ts';
import { fixtureAlert, fixturePrompt, fixtureStatus, iso, startFixtureServer, type FixtureServer } from './fixture-server.ts';

const SHOTS = '/tmp/tend-shots';
let browser: TestBrowser;
let srv: FixtureServer;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
}, 30_000);

beforeEach(async () => {
  srv = await startFixtureServer();
  errors.length = 0;
  page = await browser.newPage({ width: 360, height: 740 });
  page.on('pageerror', (e) => errors.push(String(e)));
}, 30_000);
afterEach(async () => {
  await page?.close().catch(() => {});
  await srv?.close();
});

const text = (sel: string) => page.locator(sel).first().textContent({ timeout: 10_000 });
async function open(path = '/') {
  await page.goto(srv.url + path);
  await waitFor(async () => (await text('#link-text')) === 'live', 15_000, 'live link');
  await waitFor(async () => (await text('[data-tank="north"] .liters')) === '9,876', 15_000, 'tank figure');
}

/**
 * Open the page with the answers to GET `path` held back: the page asks for it as it loads and
 * again as its stream opens, and both answers are made now, before anything the test pushes.
 * `deliverLate()` lets them through, after the test's events, and waits until both have come.
 */
async function openWithListHeld(path: string): Promise<{ deliverLate(): Promise<void> }> {
  const held = srv.hold(path);
  await page.goto(srv.url);
  await waitFor(() => held.asked() >= 2 && srv.streams() === 1, 15_000, `the page asked for ${path} twice, its stream open`);
  return {
    async deliverLate() {
      let answered = 0;
      page.on('response', (r) => {
        if (r.url().endsWith(path)) answered++;
      });
      held.release();
      await waitFor(() => answered >= 2, 10_000, `both late answers to ${path}`);
      // the page has applied them once their handlers ran
      await page.waitForTimeout(300);
    },
  };
}

describe('village page (fixture server)', () => {
  it('renders every domain readably on a 360 px phone', async () => {
    await open();
    expect(await text('#village-name')).toBe('Ashgrove');
    expect(await text('#water-liters')).toBe('30,800');
    expect(await text('#water-days-current')).toBe('9.2');
    expect(await text('#water-days-minimum')).toBe('11.4');
    expect(await text('[data-tank="north"] .percent')).toBe('79%');
    const fill = await page.locator('[data-tank="north"] .fill').evaluate((e) => (e as HTMLElement).style.width);
    expect(fill).toBe('78.6%');
    expect(await text('#power-hours')).toBe('11.0');
    expect(await text('#power-soc')).toBe('64%');
    expect(await text('#power-net-word')).toBe('charging');
    expect(await text('#power-net')).toBe('+700 W');
    expect(await text('#weather-pressure')).toBe('1004');
    expect(await text('#weather-tendency')).toContain('falling fast');
    expect(await text('#weather-gust')).toContain('gale force');
    expect(await text('[data-unit="fridge-kitchen"]')).toContain('22 min above safe');
    expect(await text('[data-unit="fridge-kitchen"]')).toContain('safe up to 5 °C');
    // last seen per sensor, live
    const ago = (await text('[data-sensor="north"] .seen')) ?? '';
    expect(ago).toMatch(/^\d+ s ago$/);
    expect(parseInt(ago, 10)).toBeGreaterThanOrEqual(12);
    // federation and device links
    expect(await text('#fed-body [data-village="Millbrook"]')).toContain('two people for pipe repair');
    expect(await text('[data-link="shed serial"]')).toContain('reconnecting');
    // sparkline drawn from /api/history
    await waitFor(() => page.locator('[data-tank="north"] .spark polyline').count(), 10_000, 'sparkline');
    // nothing sticks out sideways on a phone
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // the big figures are big enough to read
    const size = await page.locator('#water-liters').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
    expect(size).toBeGreaterThanOrEqual(32);
    expect(errors).toEqual([]);
  }, 60_000);

  it('marks a stale tank as stale, greyed, never as current', async () => {
    await open();
    const hill = page.locator('[data-tank="hill"]');
    expect(await hill.getAttribute('class')).toContain('stale');
    expect(await text('[data-tank="hill"] .stale-label')).toMatch(/^STALE — last seen 14 min ago$/);
    expect(await text('[data-tank="hill"] .tank-status')).toBe('STALE');
    const colour = await page.locator('[data-tank="hill"] .liters').evaluate((e) => getComputedStyle(e).color);
    const fresh = await page.locator('[data-tank="north"] .liters').evaluate((e) => getComputedStyle(e).color);
    expect(colour).not.toBe(fresh);
    expect(await text('[data-sensor="hill"]')).toContain('STALE — last seen 14 min ago');
    // a fresh tank carries no stale label
    expect(await page.locator('[data-tank="north"] .stale-label').isHidden()).toBe(true);
    // a device that said offline is shown as offline
    srv.state.sensors[0] = { ...srv.state.sensors[0], device_online: false, stale: true };
    await waitFor(async () => /^OFFLINE — last seen/.test((await text('[data-tank="north"] .stale-label')) ?? ''), 15_000, 'offline label');
  }, 60_000);

  it('updates a tank figure live over SSE and reconnects when the stream drops', async () => {
    await open();
    const s = fixtureStatus(Date.now());
    s.water.tanks[0] = { ...s.water.tanks[0], liters: 7_000, percent: 55.7, last_seen: iso(Date.now()) };
    srv.push('status', s);
    await waitFor(async () => (await text('[data-tank="north"] .liters')) === '7,000', 10_000, 'live tank update');
    expect(await text('[data-tank="north"] .percent')).toBe('56%');

    const mark = await page.evaluate(() => (window as unknown as { tend: { state: { linkLog: unknown[] } } }).tend.state.linkLog.length);
    srv.dropStreams();
    // the outage may be shorter than one poll on a busy machine: read the page's own link log
    await waitFor(
      () =>
        page.evaluate(
          (n) =>
            (window as unknown as { tend: { state: { linkLog: { state: string }[] } } }).tend.state.linkLog.slice(n).some((e) => e.state === 'reconnecting'),
          mark,
        ),
      10_000,
      'link showed reconnecting',
    );
    await waitFor(() => srv.streams() === 1, 15_000, 'stream reopened');
    await waitFor(async () => (await text('#link-text')) === 'live', 10_000, 'live again');
    // a fresh status: the page fetched /api/status on reconnecting, and never steps back in time
    s.at = iso(Date.now());
    s.water.tanks[0] = { ...s.water.tanks[0], liters: 6_500 };
    srv.push('status', s);
    await waitFor(async () => (await text('[data-tank="north"] .liters')) === '6,500', 10_000, 'update after reconnect');
  }, 60_000);

  it('keeps the newest sensor list when older answers to it come back after it', async () => {
    const held = srv.hold('/api/sensors');
    await page.goto(srv.url);
    await waitFor(() => held.asked() >= 2 && srv.streams() === 1, 15_000, 'the page asked for /api/sensors twice, its stream open');
    // a newer reading of the north tank, then a fresh ask (the stream reopens) that overtakes both
    srv.state.sensors = srv.state.sensors.map((s) => (s.id === 'north' ? { ...s, value: 6543, raw: 1400 } : s));
    held.letNewThrough();
    srv.dropStreams();
    const northValue = () => text('[data-sensor="north"] .sensor-value');
    await waitFor(async () => (await northValue())?.startsWith('6,543') === true, 15_000, 'the newer sensor list shown');
    let late = 0;
    page.on('response', (r) => {
      if (r.url().endsWith('/api/sensors')) late++;
    });
    held.release();
    await waitFor(() => late >= 2, 10_000, 'both old answers delivered');
    await page.waitForTimeout(300);
    // the answers asked before the one shown are older than it: they redraw nothing
    expect(await northValue()).toMatch(/^6,543/);
  });

  it('keeps a prompt whose event overtook the prompt list the page was still fetching', async () => {
    const list = await openWithListHeld('/api/assembly');
    const p = fixturePrompt(Date.now());
    srv.state.prompts = [p];
    srv.push('assembly', p);
    const banner = page.locator('.banner[data-prompt="p-1"]');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    await list.deliverLate();
    // the old list (no prompt in it) closes nothing the newer event opened
    expect(
      await page.evaluate(() => (window as unknown as { tend: { state: { prompts: Record<string, { status: string }> } } }).tend.state.prompts['p-1']?.status),
    ).toBe('open');
    expect(await banner.isVisible()).toBe(true);
  });

  it('shows a banner, the four lists and plays a sound when a prompt opens', async () => {
    await open();
    await page.mouse.click(5, 300); // browsers allow audio only after a user gesture
    const p = fixturePrompt(Date.now());
    srv.state.prompts = [p];
    srv.push('assembly', p);
    const banner = page.locator('.banner[data-prompt="p-1"]');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toContain('Storm damage: North tank losing water');
    expect(await banner.textContent()).not.toContain('EXERCISE');
    const list = (k: string) => page.locator(`#prompt-p-1 [data-list="${k}"] li`).allTextContents();
    expect(await list('damaged')).toEqual(['North tank (losing water far faster than use)']);
    expect(await list('working')).toEqual(['School tank', 'Hill cistern', 'Kitchen fridge']);
    expect(await list('urgent')).toEqual(['Battery bank: about 9 hours left at current load']);
    expect(await list('can_wait')).toEqual(['Clinic fridge is within its safe range']);
    expect((await list('situation')).join('\n')).toContain('Pressure fell 6.1 hPa in 3 hours.');
    expect(await list('questions')).toHaveLength(2);
    expect(await list('neighbours')).toEqual([expect.stringContaining('Millbrook: two people for pipe repair')]);
    expect(await text('#prompt-p-1 [data-list="reserves"]')).toContain('3.1days of water at current use');
    expect(await text('#prompt-p-1 [data-list="reserves"]')).toContain('Kitchen fridge');
    await waitFor(() => page.evaluate(() => document.body.dataset.soundPlays === '1'), 10_000, 'sound played');

    // an update keeps one prompt and one banner
    srv.push('assembly', { ...p, version: 2, updated_at: iso(Date.now()), urgent: [...p.urgent, 'Kitchen fridge above safe 2 h'] });
    await waitFor(async () => (await list('urgent')).length === 2, 10_000, 'updated prompt');
    expect(await page.locator('.banner[data-prompt]').count()).toBe(1);
    expect(await page.locator('article.prompt').count()).toBe(1);

    // closing removes the banner
    srv.push('assembly', { ...p, version: 3, status: 'closed', closed_at: iso(Date.now()) });
    await waitFor(async () => (await page.locator('.banner[data-prompt]').count()) === 0, 10_000, 'banner gone');
    expect(await page.locator('article.prompt').count()).toBe(0);
  }, 60_000);

  it('holds the sound until the first tap when a prompt is already open', async () => {
    const p = fixturePrompt(Date.now(), { exercise: true, id: 'drill-1' });
    srv.state.prompts = [p];
    // headless Chromium allows autoplay; a phone browser waits for the first tap
    await page.addInitScript(PHONE_AUTOPLAY_POLICY);
    await holdsSoundUntilTap();
  }, 60_000);

  async function holdsSoundUntilTap() {
    await open();
    const banner = page.locator('.banner[data-prompt="drill-1"]');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toContain('EXERCISE');
    expect(await text('#prompt-drill-1 .exercise-mark')).toContain('EXERCISE');
    await waitFor(() => banner.locator('.sound-hint').isVisible(), 10_000, 'sound hint');
    expect(await page.evaluate(() => document.body.dataset.soundPlays ?? '0')).toBe('0');
    await page.mouse.click(5, 400);
    await waitFor(() => page.evaluate(() => document.body.dataset.soundPlays === '1'), 10_000, 'sound after tap');
    expect(await banner.locator('.sound-hint').isHidden()).toBe(true);
  }

  it('renders markup from devices and notes as text, never as HTML', async () => {
    const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    srv.state.status.water.tanks[0].name = evil;
    srv.state.sensors[0].name = evil;
    const fed = srv.state.federation as { neighbours: { offer: string; village: string }[] };
    fed.neighbours[0].offer = evil;
    const p = fixturePrompt(Date.now(), {
      headline: evil,
      damaged: [evil],
      notes: [{ at: iso(Date.now()), author: '<b>mallory</b>', text: evil }],
    });
    srv.state.prompts = [p];
    await page.goto(`${srv.url}/`);
    await waitFor(async () => (await text('.note-text')) === evil, 15_000, 'note shown as text');
    await waitFor(async () => (await text('[data-tank="north"] .tank-name')) === evil, 15_000, 'tank name as text');
    await waitFor(async () => ((await text('#fed-body')) ?? '').includes(evil), 15_000, 'offer as text');
    expect(await text('.note-author')).toBe('<b>mallory</b>');
    expect(await text('.banner-headline')).toBe(evil);
    expect(await page.locator('main img, #banners img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  }, 60_000);

  it('takes the write key from ?token= once and uses it to add a note', async () => {
    const p = fixturePrompt(Date.now());
    srv.state.prompts = [p];
    await open(`/?token=${srv.token}`);
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate(() => localStorage.getItem('tend.token'))).toBe(srv.token);
    const form = page.locator('#prompt-p-1 form.note-form');
    await form.locator('input[name="author"]').fill('Ana');
    await form.locator('textarea[name="text"]').fill('The school tank pipe looks fine.');
    await form.locator('button[type="submit"]').click();
    await waitFor(
      async () => (await page.locator('#prompt-p-1 .note-text').allTextContents()).includes('The school tank pipe looks fine.'),
      10_000,
      'note shown',
    );
    expect(srv.posts).toEqual([
      { path: '/api/assembly/p-1/notes', auth: `Bearer ${srv.token}`, body: { author: 'Ana', text: 'The school tank pipe looks fine.' } },
    ]);
    expect(await form.locator('textarea').inputValue()).toBe('');

    // a wrong key is refused and says so
    await page.locator('#write-key').fill('wrong');
    await page.locator('#key-form button').click();
    await form.locator('textarea[name="text"]').fill('second');
    await form.locator('button[type="submit"]').click();
    await waitFor(async () => (await text('#prompt-p-1 .note-state')) === 'The write key was not accepted.', 10_000, 'refusal shown');
    expect(srv.posts[1].auth).toBe('Bearer wrong');
  }, 60_000);

  it('starts the storm exercise with the key after a confirming second tap', async () => {
    await open(`/?token=${srv.token}`);
    await page.locator('#drill-button').click();
    expect(srv.posts).toHaveLength(0);
    await page.locator('#drill-button').click();
    await waitFor(() => srv.posts.length === 1, 10_000, 'drill post');
    expect(srv.posts[0]).toMatchObject({ path: '/api/drill', auth: `Bearer ${srv.token}` });
    await waitFor(async () => ((await text('#drill-state')) ?? '').includes('EXERCISE'), 10_000, 'drill state');
  }, 60_000);

  it('shows neighbours and lets the village change what it offers them', async () => {
    await open(`/?token=${srv.token}`);
    const nb = page.locator('#fed-body [data-village="Millbrook"]');
    await nb.waitFor({ timeout: 10_000 });
    expect(await nb.locator('.nb-num').allTextContents()).toEqual(['12.5', '20.0', '30.0']);
    expect(await nb.locator('.seen').textContent()).toMatch(/^heard 1 min ago$/);
    expect(await text('#fed-state')).toBe('LINKED');
    expect(await text('#offer-now')).toBe('Now offered: 4,000 L of water (worked out from our reserves)');
    await page.locator('#offer-text').fill('two water carts');
    await page.locator('#offer-form button[type="submit"]').click();
    await waitFor(async () => (await text('#offer-now')) === 'Now offered: two water carts', 10_000, 'own offer shown');
    expect(srv.posts.at(-1)).toEqual({ path: '/api/federation/offer', auth: `Bearer ${srv.token}`, body: { offer: 'two water carts' } });
    await page.locator('#offer-withdraw').click();
    await waitFor(async () => (await text('#offer-now')) === 'Now offering nothing.', 10_000, 'withdrawn');
    expect(srv.posts.at(-1)!.body).toEqual({ withdrawn: true });

    // a neighbour not heard for an hour is shown as stale, not as current
    const fed = srv.state.federation as { neighbours: { heard_at: string }[] };
    fed.neighbours[0].heard_at = iso(Date.now() - 3600_000);
    await page.reload();
    await waitFor(
      async () => (await nb.locator('.stale-label').textContent({ timeout: 10_000 })) === 'STALE — last seen 1 h 0 min ago',
      10_000,
      'stale neighbour',
    );
  }, 60_000);

  it('says so when the village is in no federation', async () => {
    srv.state.federation = { village: 'ashgrove', connected: false, neighbours: [] };
    await open();
    await waitFor(async () => (await text('#fed-state')) === 'OFF', 10_000, 'federation off');
    expect(await text('#fed-empty')).toBe('This village is not in a federation.');
    expect(await page.locator('#offer-form').isHidden()).toBe(true);
  }, 60_000);

  it('lists active alerts, the most severe first, and drops resolved ones', async () => {
    await open();
    expect(await page.locator('#alerts').isHidden()).toBe(true);
    srv.push('alert', fixtureAlert('a:1', 'watch', 'Kitchen fridge is above its safe temperature'));
    srv.push('alert', fixtureAlert('a:2', 'critical', 'Battery bank is low: 8% charged'));
    await waitFor(async () => (await page.locator('#alert-list li').count()) === 2, 10_000, 'two alerts');
    expect(await page.locator('#alert-list li .alert-title').allTextContents()).toEqual([
      'Battery bank is low: 8% charged',
      'Kitchen fridge is above its safe temperature',
    ]);
    srv.push('alert', { ...fixtureAlert('a:2', 'critical', 'Battery bank is low: 8% charged'), state: 'resolved', resolved_at: iso(Date.now()) });
    await waitFor(async () => (await page.locator('#alert-list li').count()) === 1, 10_000, 'resolved alert gone');
  }, 60_000);

  it('keeps an alert whose event overtook the alert list the page was still fetching', async () => {
    const list = await openWithListHeld('/api/alerts');
    srv.push('alert', fixtureAlert('a:1', 'warning', 'Kitchen fridge is above its safe temperature'));
    await waitFor(async () => (await page.locator('#alert-list li').count()) === 1, 10_000, 'the alert shown');
    await list.deliverLate();
    // the old, empty list does not take away the newer alert
    expect(await page.locator('#alert-list li').count()).toBe(1);
  });

  it('greys the page when its own link is down for long', async () => {
    await open();
    srv.state.status.at = iso(Date.now());
    await page.evaluate(() => {
      (window as unknown as { tend: { state: { statusReceived: number } } }).tend.state.statusReceived = Date.now() - 60_000;
    });
    await srv.close(); // the server goes away entirely
    await waitFor(() => page.locator('#page-stale').isVisible(), 15_000, 'page-stale bar');
    expect(await text('#page-stale')).toContain('may be out of date');
    expect(await text('#link-text')).toContain('reconnecting');
    expect(await page.evaluate(() => document.body.classList.contains('page-old'))).toBe(true);

    // the village comes back on the same address: the page reconnects by itself
    const port = Number(new URL(srv.url).port);
    srv = await startFixtureServer({ port });
    await waitFor(async () => (await text('#link-text')) === 'live', 30_000, 'live again');
    await waitFor(() => page.locator('#page-stale').isHidden(), 10_000, 'page-stale bar gone');
    const s = fixtureStatus(Date.now());
    s.water.tanks[0] = { ...s.water.tanks[0], liters: 4_321 };
    srv.push('status', s);
    await waitFor(async () => (await text('[data-tank="north"] .liters')) === '4,321', 10_000, 'update after the village came back');
  }, 90_000);

  it('screenshots at 360 px and 1920 px; the shed screen keeps the figures in view with a prompt open', async () => {
    mkdirSync(SHOTS, { recursive: true });
    await open();
    await page.screenshot({ path: `${SHOTS}/fixture-360-calm.png`, fullPage: true });
    await page.setViewportSize({ width: 1920, height: 1080 });
    const bigPx = () => page.locator('#water-liters').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
    expect(await bigPx()).toBeGreaterThanOrEqual(56); // readable from across the shed
    await page.screenshot({ path: `${SHOTS}/fixture-1920-calm.png` });

    const p = fixturePrompt(Date.now());
    srv.state.prompts = [p];
    srv.push('assembly', p);
    await page.locator('.banner[data-prompt="p-1"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: `${SHOTS}/fixture-1920.png` });
    expect(await bigPx()).toBeGreaterThanOrEqual(44);
    // prompt and water figures side by side, both on the first screen
    const water = await page.locator('#water-liters').boundingBox();
    const prompt = await page.locator('#prompt-p-1 .prompt-headline').boundingBox();
    expect(water!.y + water!.height).toBeLessThan(1080);
    expect(prompt!.y).toBeLessThan(1080);
    expect(water!.x).toBeGreaterThan(prompt!.x + prompt!.width);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: `${SHOTS}/fixture-1920-dark.png`, fullPage: true });
    await page.setViewportSize({ width: 360, height: 740 });
    await page.screenshot({ path: `${SHOTS}/fixture-360-dark.png`, fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: `${SHOTS}/fixture-360.png`, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  }, 60_000);
});
