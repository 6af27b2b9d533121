// /metrics of a real village, scraped over HTTP and parsed as the Prometheus text format:
// per-sensor gauges with village and sensor labels, unknown figures absent (never 0), and
// alerts an exercise raised labelled exercise="true".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { waitFor } from '../../helpers/net.ts';
import { connectDevice, startTestVillage } from '../../helpers/village.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format (0.0.4): comments, then `name{l="v",…} value` lines. */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l = re.exec(m[2] ?? ''); l; l = re.exec(m[2] ?? '')) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_a, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === 'NaN' ? Number.NaN : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

const series = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = series(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
};

describe('/metrics of the demo village', () => {
  let village: Awaited<ReturnType<typeof startTestVillage>>;
  const scrape = async () => parseMetrics(await (await fetch(`${village.webUrl}/metrics`)).text());
  beforeAll(async () => {
    village = await startTestVillage();
  });
  afterAll(async () => {
    await village?.cleanup();
  });

  it('before any reading: no per-sensor figure and no village figure is exported, not even 0', async () => {
    const m = await scrape();
    for (const name of [
      'tend_water_liters',
      'tend_water_percent',
      'tend_power_hours_left',
      'tend_power_soc_percent',
      'tend_tank_liters',
      'tend_tank_percent',
      'tend_battery_percent',
      'tend_cold_temperature_celsius',
      'tend_sensor_last_seen_age_seconds',
    ]) {
      expect(series(m, name), name).toEqual([]);
    }
    // what is known is there: each tank's capacity, with the village and sensor labels
    expect(one(m, 'tend_tank_capacity_liters', { village: 'ashgrove', sensor: 'school' })).toBeCloseTo(10_800, 0);
  });

  it('per-sensor gauges carry the latest values with village and sensor labels', async () => {
    const north = await connectDevice(village, 'tank-north');
    const power = await connectDevice(village, 'power-shed');
    const cold = await connectDevice(village, 'cold-store');
    try {
      await north.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: 1100 }), { qos: 1 });
      await power.publishAsync('tend/ashgrove/dev/power-shed/reading', JSON.stringify({ soc_pct: 64, load_w: 2000, voltage_v: 51 }), { qos: 1 });
      await cold.publishAsync('tend/ashgrove/dev/cold-store/reading', JSON.stringify({ fridge1_c: 3.5, freezer_c: -18 }), { qos: 1 });
      await waitFor(() => village.refresh().power.soc_percent === 64 && village.refresh().water.liters !== null, 10_000, 'readings in the status');
      const status = village.refresh();
      const tank = status.water.tanks.find((t) => t.id === 'north')!;
      const m = await scrape();
      expect(one(m, 'tend_tank_liters', { village: 'ashgrove', sensor: 'north' })).toBeCloseTo(tank.liters!, 3);
      expect(one(m, 'tend_tank_percent', { sensor: 'north' })).toBeCloseTo(tank.percent!, 3);
      expect(one(m, 'tend_battery_percent', { village: 'ashgrove', sensor: 'battery' })).toBe(64);
      expect(one(m, 'tend_cold_temperature_celsius', { sensor: 'fridge-kitchen' })).toBe(3.5);
      expect(one(m, 'tend_cold_temperature_celsius', { sensor: 'freezer' })).toBe(-18);
      // tanks and units never heard from stay absent
      expect(series(m, 'tend_tank_liters', { sensor: 'school' })).toEqual([]);
      expect(series(m, 'tend_cold_temperature_celsius', { sensor: 'fridge-clinic' })).toEqual([]);
      // last seen: an age in seconds for the sensors heard from, none for the others
      const age = one(m, 'tend_sensor_last_seen_age_seconds', { sensor: 'north' });
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
      expect(series(m, 'tend_sensor_last_seen_age_seconds', { sensor: 'hill' })).toEqual([]);
      expect(one(m, 'tend_sensor_stale', { sensor: 'north' })).toBe(0);
      // the village totals now that they are known
      expect(one(m, 'tend_water_liters', { village: 'ashgrove' })).toBeCloseTo(status.water.liters!, 3);
      expect(one(m, 'tend_power_soc_percent', { village: 'ashgrove' })).toBe(64);
      expect(one(m, 'tend_power_hours_left')).toBeCloseTo(status.power.hours_left!, 3);
    } finally {
      await Promise.all([north, power, cold].map((c) => c.endAsync(true)));
    }
  });

  it('alerts an exercise raised are labelled exercise="true"; the real ones "false"', async () => {
    const before = await scrape();
    expect(one(before, 'tend_alerts_active', { exercise: 'true' })).toBe(0);
    const res = await fetch(`${village.webUrl}/api/drill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${village.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    let m: Sample[] = [];
    await waitFor(
      async () => {
        m = await scrape();
        return series(m, 'tend_alert', { exercise: 'true' }).length > 0;
      },
      10_000,
      'exercise alerts on /metrics',
    );
    const drill = series(m, 'tend_alert', { exercise: 'true' });
    expect(drill.every((s) => s.value === 1 && s.labels.village === 'ashgrove' && s.labels.rule)).toBe(true);
    expect(one(m, 'tend_alerts_active', { exercise: 'true' })).toBe(drill.length);
    // no alert of the drill is counted as real
    expect(series(m, 'tend_alert', { exercise: 'false' }).some((s) => s.labels.rule === 'storm')).toBe(false);
    await fetch(`${village.webUrl}/api/drill/end`, { method: 'POST', headers: { authorization: `Bearer ${village.token}` } });
  });
});

describe('/metrics of a village without a power sensor', () => {
  it('exports no power figure at all, where it used to say 0', async () => {
    const village = await startTestVillage({
      config: parseConfig({
        version: 1,
        village: { id: 'dryridge', name: 'Dry Ridge', population: 150 },
        devices: [{ id: 'well', secret: 'well-secret-1' }],
        sensors: [
          { id: 'well-tank', device: 'well', metric: 'level_mm', kind: 'tank_level', tank: { shape: 'box', length_mm: 2000, width_mm: 2000, height_mm: 2000 } },
        ],
      }),
    });
    try {
      const well = await connectDevice(village, 'well');
      await well.publishAsync('tend/dryridge/dev/well/reading', JSON.stringify({ level_mm: 1000 }), { qos: 1 });
      await waitFor(() => village.refresh().water.liters !== null, 10_000, 'the well reading');
      await well.endAsync(true);
      const m = parseMetrics(await (await fetch(`${village.webUrl}/metrics`)).text());
      expect(series(m, 'tend_power_hours_left')).toEqual([]);
      expect(series(m, 'tend_power_soc_percent')).toEqual([]);
      expect(series(m, 'tend_battery_percent')).toEqual([]);
      expect(one(m, 'tend_water_liters', { village: 'dryridge' })).toBeCloseTo(4000, 3);
      expect(one(m, 'tend_tank_percent', { village: 'dryridge', sensor: 'well-tank' })).toBeCloseTo(50, 3);
    } finally {
      await village.cleanup();
    }
  });
});
