// Honest restarts: tend stopping (and devices going offline because it stops) raises no alerts;
// a device counts as not reporting only when it is missing while tend runs, after the start-up
// grace; an alert that comes back after it was resolved says when it came back. On the alert-book
// harness (a restart keeps the SQLite file) and on a real village with the demo's devices,
// stopped the way Ctrl-C stops `tend demo`.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.ts';
import { DEMO_CONFIG } from '../../../core/paths.ts';
import type { Alert } from '../../../core/types.ts';
import { startDemoDevices } from '../../../firmware-bridge/simulator/demo-village.ts';
import { checkAlert } from '../../../services/assembly/language.ts';
import { startVillage } from '../../../services/village.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { harness, HOUR, MIN } from './harness.ts';
import { FakeClock } from './world.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SEC = 1000;

describe('sensor_offline across restarts (alert-book harness)', () => {
  it('a device that says offline as tend stops raises nothing, then or after the restart', () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const h = harness(undefined, { dir: tmp.dir });
    h.run(10 * MIN, MIN);
    // tend is stopping: the node's will says offline a moment before the book stops
    h.step(2 * SEC, (w) => w.offline.add('tank-north'));
    const h2 = h.restart();
    expect(h2.alerting.alerts()).toEqual([]);
    // back a minute later with the node still offline: it reconnects within the start-up grace
    h2.step(MIN);
    h2.step(MIN, (w) => w.offline.delete('tank-north'));
    h2.run(HOUR, MIN);
    expect([...h.alerts, ...h2.alerts].filter((a) => a.rule === 'sensor_offline')).toEqual([]);
  });

  it('a device missing while tend runs is named once missing_s has passed, and after the start-up grace', () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const h = harness(undefined, { dir: tmp.dir });
    h.run(10 * MIN, MIN);
    h.step(SEC, (w) => w.offline.add('cold-store'));
    h.run(50 * SEC, 10 * SEC);
    expect(h.ids('sensor_offline')).toEqual([]);
    h.run(20 * SEC, 10 * SEC);
    expect(h.alerting.alerts()).toMatchObject([{ rule: 'sensor_offline', subject: 'cold-store', state: 'firing' }]);

    // a node that dropped as tend stopped and never came back: named only after the grace
    h.world.offline.delete('cold-store');
    h.run(5 * MIN, MIN);
    h.world.offline.add('weather-mast');
    const h2 = h.restart();
    h2.run(4 * MIN, MIN);
    expect(h2.ids('sensor_offline')).toEqual([]);
    h2.run(2 * MIN, MIN);
    expect(h2.alerting.alerts().filter((a) => a.rule === 'sensor_offline')).toMatchObject([{ subject: 'weather-mast', state: 'firing' }]);
  });

  it('an offline alert from before a restart stays as it was while the device is still missing, and resolves once it reports', () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const h = harness(undefined, { dir: tmp.dir });
    h.run(10 * MIN, MIN);
    h.world.offline.add('cold-store');
    h.run(10 * MIN, MIN);
    const before = h.alerting.alerts();
    expect(before).toMatchObject([{ rule: 'sensor_offline', subject: 'cold-store', state: 'firing' }]);
    const h2 = h.restart();
    h2.run(10 * MIN, MIN);
    expect(h2.alerting.alerts()).toEqual(before);
    expect(h2.alerts).toEqual([]);
    h2.world.offline.delete('cold-store');
    h2.run(5 * MIN, MIN);
    expect(h2.alerting.alerts()).toEqual([]);
    expect(h2.alerts.map((a) => `${a.id} ${a.state}`)).toEqual([`${before[0]!.id} resolved`]);
  });
});

describe('a reopened alert says when it came back', () => {
  it('keeps its id and first time, and shows reopened_at and "Again since …" leading its detail (the fact a prompt keeps)', () => {
    const h = harness({ rules: { storm: { clear_hold_s: 600 } } });
    h.run(5 * MIN, MIN, (w) => {
      w.gust = 26;
      w.tendency = -6.5;
    });
    const first = h.alerting.alerts().find((a) => a.rule === 'storm')!;
    expect(first).toMatchObject({ state: 'firing', reopened_at: null });
    expect(first.detail).not.toMatch(/Again since/);
    // calm: resolved once the gusts are out of their 30-minute window and 10 calm minutes have
    // passed; storm again 20 minutes later (within reopen_s): the same alert goes on
    h.run(60 * MIN, MIN, (w) => {
      w.gust = 5;
      w.tendency = 0;
    });
    expect(h.alerting.alerts().filter((a) => a.rule === 'storm')).toEqual([]);
    h.run(3 * MIN, MIN, (w) => {
      w.gust = 26;
    });
    const again = h.alerting.alerts().find((a) => a.rule === 'storm')!;
    expect(again.id).toBe(first.id);
    expect(again.fired_at).toBe(first.fired_at);
    expect(again.reopened_at).toBe(new Date(h.clock.now() - 2 * MIN).toISOString());
    expect(again.detail).toMatch(/^Again since 20 Nov 01:0\d UTC, first raised 20 Nov 00:0\d UTC\. /);
    // the event announcing it carries the same, and it reads as information
    const announced = h.alerts.filter((a) => a.id === first.id).at(-1) as Alert;
    expect(announced).toMatchObject({ state: 'firing', reopened_at: again.reopened_at });
    expect(announced.detail).toMatch(/^Again since /);
    expect(checkAlert(announced)).toEqual([]);
    // it says so while it goes on
    h.run(5 * MIN, MIN);
    expect(h.alerting.alerts().find((a) => a.rule === 'storm')!.detail).toMatch(/^Again since /);
  });
});

describe('a real village restart with the demo devices (Ctrl-C, then start again)', () => {
  it('raises no "not reporting" alert on the way down or on the way up', async () => {
    const tmp = tempDir('tend-restart-');
    cleanups.push(tmp.remove);
    const config = loadConfig(DEMO_CONFIG);
    const clock = new FakeClock(Date.parse('2026-11-20T08:00:00Z'));
    const offline: Alert[] = [];
    const start = async () => {
      const v = await startVillage({ config, clock, storageDir: tmp.dir, brokerPort: 0, web: false, tick: false, log: () => {} });
      v.events.on('alert', (a) => {
        if (a.rule === 'sensor_offline') offline.push(a);
      });
      const devices = await startDemoDevices({ config, brokerUrl: v.brokerUrl, clock, intervalMs: 100 });
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        // as `tend demo` stops on Ctrl-C: the devices first (each says offline), then the village
        await devices.stop();
        await v.stop();
      };
      cleanups.push(stop);
      // every device has reported
      await waitFor(() => v.sensors().every((s) => s.value !== null && !s.stale), 15_000, 'every demo device to report');
      return { v, stop };
    };
    /** run the village for `minutes` of its clock, the devices reporting all along */
    const run = async (v: Awaited<ReturnType<typeof start>>['v'], minutes: number) => {
      for (let m = 0; m < minutes; m++) {
        clock.advance(MIN);
        await new Promise((r) => setTimeout(r, 150));
        v.refresh();
      }
    };

    const first = await start();
    await run(first.v, 10);
    expect(first.v.alerts.alerts().filter((a) => a.rule === 'sensor_offline')).toEqual([]);
    await first.stop();
    expect(offline).toEqual([]);

    // started again two minutes later: the devices were offline when it stopped, and reconnect
    clock.advance(2 * MIN);
    const second = await start();
    expect(second.v.alerts.alerts()).toEqual([]);
    await run(second.v, 10);
    expect(second.v.alerts.alerts().filter((a) => a.rule === 'sensor_offline')).toEqual([]);
    expect(offline).toEqual([]);
    await second.stop();
  }, 60_000);
});
