// What the page tests share: a real village (the demo config unless told), its devices connected
// and reporting once, and a headless Chromium page. Each test file then goes to its own URL.
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import type { Config } from '../../config/schema.ts';
import type { Clock } from '../../core/types.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { waitFor } from './net.ts';
import { closeDevices, connectDevices, getJson, startTestVillage } from './village.ts';

export type TestVillage = Awaited<ReturnType<typeof startTestVillage>>;
export type Readings = Record<string, Record<string, number>>;

export interface PageVillage {
  village: TestVillage;
  browser: TestBrowser;
  page: Page;
  devices: Map<string, MqttClient>;
  /** what the page threw (uncaught errors), for a test to check there were none */
  pageErrors: string[];
  /** one QoS 1 reading, resolved once tend has acknowledged it */
  publish(device: string, reading: Record<string, number>): Promise<void>;
  /**
   * Every device in `readings` (as they are now) reports once, at the village clock's time;
   * resolves when each of their sensors has that reading and the status is computed again.
   */
  reportAll(except?: string[]): Promise<void>;
  api<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startPageVillage(o: {
  /** device → its reading; the same object is read again by each reportAll, so a test may change it */
  readings: Readings;
  config?: Config;
  clock?: Clock;
  viewport?: { width: number; height: number };
}): Promise<PageVillage> {
  const village = await startTestVillage({ ...(o.config ? { config: o.config } : {}), ...(o.clock ? { clock: o.clock } : {}) });
  let devices = new Map<string, MqttClient>();
  let browser: TestBrowser | undefined;
  const close = async () => {
    await browser?.close();
    await closeDevices(devices);
    await village.cleanup();
  };
  try {
    devices = await connectDevices(village, Object.keys(o.readings));
    const publish = (device: string, reading: Record<string, number>) =>
      devices
        .get(device)!
        .publishAsync(`tend/${village.config.village.id}/dev/${device}/reading`, JSON.stringify(reading), { qos: 1 })
        .then(() => undefined);
    const reportAll = async (except: string[] = []) => {
      const reporting = Object.keys(o.readings).filter((d) => !except.includes(d));
      // taken before sending: on a real clock each reading is stamped at or after it
      const at = new Date(village.clock.now()).toISOString();
      for (const d of reporting) await publish(d, o.readings[d]!);
      await waitFor(
        () => village.sensors().every((s) => !reporting.includes(s.device) || (s.last_seen !== null && s.last_seen >= at)),
        10_000,
        'readings landed',
      );
      village.refresh();
    };
    await reportAll();
    browser = await launchBrowser();
    const page = await browser.newPage(o.viewport ?? { width: 360, height: 740 });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    return { village, browser, page, devices, pageErrors, publish, reportAll, api: (path) => getJson(village.webUrl + path), close };
  } catch (err) {
    await close();
    throw err;
  }
}
