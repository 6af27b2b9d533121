// Headless Debian Chromium for page tests, through playwright-core (no browser download).
// Each launch gets its own temp profile dir, removed on close; close() never throws and kills
// the browser process if a graceful close hangs, so a failing test leaves nothing running.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './net.ts';

export const CHROMIUM_PATH = process.env.TEND_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/**
 * Headless Chromium lets audio start without a gesture; phone browsers do not. This init script
 * makes AudioContext behave like a phone's: suspended until a real (trusted) tap or key press.
 * (navigator.userActivation is no use here: playwright's evaluate counts as a gesture.)
 */
export const PHONE_AUTOPLAY_POLICY = `(() => {
  const Real = window.AudioContext;
  if (!Real) return;
  let tapped = false;
  for (const ev of ['pointerdown', 'keydown', 'touchstart']) {
    window.addEventListener(ev, (e) => { if (e.isTrusted) tapped = true; }, { capture: true });
  }
  window.AudioContext = class extends Real {
    get state() { return tapped ? super.state : 'suspended'; }
    resume() { return tapped ? super.resume() : Promise.reject(new Error('NotAllowedError')); }
  };
})();`;

export interface TestBrowser {
  context: BrowserContext;
  /** open a new page at the given viewport size */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Launch a persistent context so the temp user-data-dir is really used (and localStorage works). */
export async function launchBrowser(opts: { timeoutMs?: number; extraArgs?: string[] } = {}): Promise<TestBrowser> {
  const profile = tempDir('tend-chromium-');
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
      headless: true,
      timeout: opts.timeoutMs ?? 60_000,
      viewport: { width: 360, height: 740 },
    });
  } catch (err) {
    profile.remove();
    throw err;
  }
  let closed = false;
  return {
    context,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      if (closed) return;
      closed = true;
      const browser: Browser | null = context.browser();
      const graceful = context.close().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref());
      const ok = await Promise.race([graceful, timedOut]);
      if (!ok) {
        // close hung: kill the process tree playwright started
        try {
          await browser?.close();
        } catch {
          /* already gone */
        }
      }
      profile.remove();
    },
  };
}
