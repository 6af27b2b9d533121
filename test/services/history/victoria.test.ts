// History against a real VictoriaMetrics (Debian victoria-metrics on a free port, own temp dir):
// the same writer and outbox as for InfluxDB, with no switch in the config, just the URL.
// VictoriaMetrics turns each line-protocol field into a series `<measurement>_<field>` and the
// `db` of /write?db= into a `db` label, so each test writes to a database of its own.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../../../services/history/index.ts';
import { flushHistory } from '../../../services/history/flush-cli.ts';
import { Storage } from '../../../services/storage.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { startVictoria, type Victoria } from '../../helpers/victoria.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { historyConfig, reading, status } from './fixtures.ts';

let vm: Victoria;
beforeAll(async () => {
  vm = await startVictoria();
});
afterAll(async () => {
  await vm?.close();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup(database: string, extra: Record<string, unknown> = {}) {
  const t = tempDir('tend-history-vm-');
  const config = historyConfig(t.dir, vm.url, { ...extra, influx: { database, ...(extra.influx as object | undefined) } });
  const storage = new Storage(t.dir);
  const events = new VillageEventHub();
  const logs: string[] = [];
  const history = new History({
    config,
    clock: { now: () => 1_700_000_000_000 },
    storage,
    events,
    log: (m) => logs.push(m),
    writer: { minBackoffMs: 50, maxBackoffMs: 500 },
  });
  cleanups.push(() => t.remove());
  cleanups.push(() => storage.close());
  cleanups.push(() => history.stop());
  return { history, storage, events, logs };
}

/** raw samples of one reading field in one database (every sample, duplicates included) */
const readingSamples = (db: string, field = 'value', more = '') => vm.samples(`{__name__="reading_${field}",db="${db}"${more}}`);

describe('History → VictoriaMetrics', () => {
  it('writes readings and reserve samples as series with the village, sensor, device and kind labels', async () => {
    const { history, events, storage } = setup('vm_schema');
    history.start();
    for (let i = 0; i < 30; i++) events.emit('reading', reading(i));
    events.emit('status', status(1_700_000_000_000));
    storage.commitNow();
    await waitFor(async () => history.stats().outbox_rows === 0 && (await readingSamples('vm_schema')) === 30, 20_000, 'readings in VictoriaMetrics');

    const [north] = await vm.series('{__name__="reading_value",db="vm_schema",sensor="north"}');
    expect(north!.metric).toEqual({
      __name__: 'reading_value',
      db: 'vm_schema',
      village: 'ashgrove',
      sensor: 'north',
      device: 'tank-north',
      kind: 'tank_distance',
    });
    expect(north!.timestamps[0]).toBe(1_700_000_000_000);
    expect(north!.values[0]).toBe(5000);
    expect(await readingSamples('vm_schema', 'raw')).toBe(30);
    expect(await readingSamples('vm_schema', 'level_mm')).toBe(10); // only tank readings carry a level
    const [school] = await vm.series('{__name__="tank_liters",db="vm_schema",tank="school"}');
    expect(school!.values).toHaveLength(1);
    // levels as numbers Grafana can colour
    const [code] = await vm.series('{__name__="tank_status_code",db="vm_schema",tank="school"}');
    expect(code!.values).toEqual([0]);
    // text fields are not kept: VictoriaMetrics (1.79, Debian's) stores each as a series of zeros,
    // whatever the text said (docs/scale.md tells people to read the *_code fields)
    events.emit('status', status(1_700_000_030_000, { leak: true })); // school: watch
    storage.commitNow();
    await waitFor(async () => (await vm.samples('{__name__="tank_status",db="vm_schema",tank="school"}')) === 2, 20_000, 'second tank sample');
    const [text] = await vm.series('{__name__="tank_status",db="vm_schema",tank="school"}');
    expect(text!.values).toEqual([0, 0]);
    const [watch] = await vm.series('{__name__="tank_status_code",db="vm_schema",tank="school"}');
    expect(watch!.values).toEqual([0, 1]);
    expect(history.stats()).toMatchObject({ rejected_total: 0, dropped_total: 0, connected: true, last_error: null });
  });

  it('VictoriaMetrics stopped mid-stream and restarted: every accepted reading lands once', async () => {
    const { history, events, storage } = setup('vm_outage');
    history.start();
    const N = 6000;
    try {
      for (let i = 0; i < N; i++) {
        events.emit('reading', reading(i));
        if (i % 200 === 199) {
          await new Promise<void>((resolve) => storage.commitSoon(() => resolve())); // "PUBACK" point
          if (i === 1999) await vm.stop();
          if (i === 2999) await waitFor(() => !history.stats().connected && history.stats().last_error, 30_000, 'writer sees the outage');
          if (i === 3999) {
            expect(history.stats().connected).toBe(false);
            expect(history.stats().outbox_rows).toBeGreaterThan(0);
            await vm.start();
          }
        }
      }
    } finally {
      if (!vm.running()) await vm.start();
    }
    await waitFor(async () => history.stats().outbox_rows === 0 && (await readingSamples('vm_outage')) >= N, 60_000, 'all points after restart');
    // give a wrongly repeated write time to show
    await new Promise((r) => setTimeout(r, 1500));
    // raw samples: a point sent twice would be two samples here (nothing is deduplicated)
    expect(await readingSamples('vm_outage')).toBe(N);
    const times = (await vm.series('{__name__="reading_value",db="vm_outage"}')).flatMap((s) => s.timestamps);
    expect(new Set(times).size).toBe(N);
    expect(history.stats().last_error).toBeNull();
  }, 120_000);

  it('6,000 readings of one sensor in 3 ms are 6,000 samples (VictoriaMetrics keeps ms, so they share 3 times)', async () => {
    const { history, events, storage } = setup('vm_same_ms');
    history.start();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 6000; i++) {
      events.emit('reading', reading(0, { ts: t0 + Math.floor(i / 2000), received: t0 + Math.floor(i / 2000), value: i, seq: undefined }));
      if (i % 1500 === 0) storage.commitNow();
    }
    storage.commitNow();
    await waitFor(async () => history.stats().outbox_rows === 0 && (await readingSamples('vm_same_ms')) >= 6000, 60_000, 'outbox drained');
    const series = await vm.series('{__name__="reading_value",db="vm_same_ms"}');
    expect(series.flatMap((s) => s.values).sort((a, b) => a - b)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    expect(new Set(series.flatMap((s) => s.timestamps))).toEqual(new Set([t0, t0 + 1, t0 + 2]));
  }, 120_000);

  it('a line VictoriaMetrics cannot read is skipped by it (it answers 204): the rest land, nothing blocks', async () => {
    const { history, events, storage } = setup('vm_reject');
    history.start();
    for (let i = 0; i < 100; i++) events.emit('reading', reading(i));
    history.outbox.add({ cls: 0, line: 'this is not line protocol' });
    for (let i = 100; i < 200; i++) events.emit('reading', reading(i));
    storage.commitNow();
    await waitFor(async () => history.stats().outbox_rows === 0 && (await readingSamples('vm_reject')) === 200, 30_000, 'good points');
    // unlike InfluxDB's 400, nothing comes back for tend to set aside: VictoriaMetrics logs it
    expect(history.stats()).toMatchObject({ written_total: 201, rejected_total: 0 });
    await waitFor(() => /cannot unmarshal InfluxDB line "this is not line protocol"/.test(vm.log()), 10_000, 'VictoriaMetrics log line');
  });

  it('`tend history flush` drains what a stopped tend left in the outbox into VictoriaMetrics', async () => {
    const t = tempDir('tend-history-vm-cli-');
    cleanups.push(() => t.remove());
    const storage = new Storage(t.dir);
    const events = new VillageEventHub();
    const h = new History({
      config: historyConfig(t.dir, 'http://127.0.0.1:9', { influx: { database: 'vm_cli' } }),
      clock: { now: () => 0 },
      storage,
      events,
      writer: { minBackoffMs: 60_000 },
    });
    h.start();
    for (let i = 0; i < 2500; i++) events.emit('reading', reading(i));
    await h.stop();
    storage.close();

    const out: string[] = [];
    const err: string[] = [];
    const code = await flushHistory(
      historyConfig(t.dir, vm.url, { influx: { database: 'vm_cli', batch_points: 500 } }),
      { write: (s: string) => out.push(s) },
      { write: (s: string) => err.push(s) },
    );
    expect(code, err.join('')).toBe(0);
    expect(out.join('')).toContain('sent 2500 points; 0 left');
    await waitFor(async () => (await readingSamples('vm_cli')) === 2500, 20_000, '2500 samples');
  });
});
