// Manual readings through the real API of a real village: a dipstick on a tank without a sensor
// (manual: true, read once a day), a dipstick check of a tank that has a sensor, and the refusals.
// The village clock is injected, so staleness is tested without waiting; history goes to a real
// influxd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import type { Config } from '../../../config/schema.ts';
import { checkText } from '../../../services/assembly/language.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';
import { waitFor } from '../../helpers/net.ts';
import { connectDevice, getJson, SCHOOL_DIPSTICK_TANK, startTestVillage } from '../../helpers/village.ts';

const T0 = Date.parse('2026-11-29T08:00:00Z');
let now = T0;
const clock = { now: () => now };

function manualConfig(influxUrl: string): Config {
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180, timezone: 'UTC' },
    influx: { url: influxUrl, database: 'manual' },
    devices: [{ id: 'tank-north', secret: 'north-secret-1', interval_s: 30 }],
    sensors: [
      {
        id: 'north',
        name: 'North tank',
        device: 'tank-north',
        metric: 'distance_mm',
        kind: 'tank_distance',
        tank: { shape: 'vertical_cylinder', diameter_mm: 2000, height_mm: 2000, sensor_height_mm: 2200 },
      },
      // the school's tank has no sensor: the crew reads a dipstick each morning
      SCHOOL_DIPSTICK_TANK,
      // a meter read by hand, with a plausible range
      { id: 'battery', name: 'Battery', manual: true, kind: 'battery_soc', battery: { capacity_kwh: 20 }, range: [0, 100] },
    ],
  });
}

let influx: Influxd;
let village: Awaited<ReturnType<typeof startTestVillage>>;

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.query('CREATE DATABASE manual');
  village = await startTestVillage({ config: manualConfig(influx.url), clock });
});
afterAll(async () => {
  await village?.cleanup();
  await influx?.close();
});

async function post(body: unknown, token: string | null = village.token) {
  const res = await fetch(`${village.webUrl}/api/readings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const sensor = async (id: string) => (await getJson(`${village.webUrl}/api/sensors`)).sensors.find((s: { id: string }) => s.id === id);

describe('POST /api/readings', () => {
  it('takes a dipstick level for a tank with no device, calibrated into litres and shown as manual with who and when', async () => {
    const r = await post({ sensor: 'school', value: 750, by: 'Ana', note: 'morning dipstick' });
    expect(r.status).toBe(201);
    // a 2 m × 1 m box at 750 mm holds 1,500 L
    expect(r.body).toMatchObject({ sensor: 'school', entered: 750, value: 1500, level_mm: 750, by: 'Ana', note: 'morning dipstick', flag: null });
    expect(r.body.at).toBe(new Date(T0).toISOString());
    const s = await sensor('school');
    expect(s).toMatchObject({ manual: true, source: 'manual', value: 1500, stale: false, last_manual: { by: 'Ana', at: new Date(T0).toISOString() } });
    const status = village.refresh();
    expect(status.water.tanks.find((t) => t.id === 'school')).toMatchObject({ liters: 1500, level_mm: 750, stale: false });
  });

  it('keeps a daily dipstick current for its own interval, and calls it stale once a reading is half a day late', async () => {
    now = T0 + 2 * 60_000;
    expect((await sensor('school')).stale).toBe(false);
    now = T0 + 30 * 3_600_000;
    expect((await sensor('school')).stale).toBe(false);
    now = T0 + 37 * 3_600_000;
    expect((await sensor('school')).stale).toBe(true);
    expect(village.refresh().water.tanks.find((t) => t.id === 'school')).toMatchObject({ stale: true, status: 'unknown', liters: 1500 });
    // no device to be offline: a late dipstick is no sensor_offline alert
    expect(village.alerts.alerts().filter((a) => a.rule === 'sensor_offline' && a.subject === '(manual)')).toEqual([]);
  });

  it('keeps and flags a dipstick far from the sensor, and takes one close to it without a flag', async () => {
    now = T0 + 40 * 3_600_000;
    const dev = await connectDevice(village, 'tank-north');
    try {
      // sensor face 2200 mm above the bottom, 1200 mm to the water: level 1000 mm, 3,141.6 L
      await dev.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: 1200 }), { qos: 1 });
      await waitFor(async () => (await sensor('north')).value !== null, 5000, 'the device reading');
    } finally {
      await dev.endAsync();
    }
    expect((await sensor('north')).source).toBe('device');
    const close = await post({ sensor: 'north', value: 1050, by: 'Kofi' });
    expect(close.status).toBe(201);
    expect(close.body.flag).toBeNull();
    // 1,500 mm is 4,712 L: 1,571 L from the sensor's own value, more than a tenth of the tank
    const far = await post({ sensor: 'north', value: 1500, by: 'Kofi', note: 'dipstick at the hatch' });
    expect(far.status).toBe(201);
    expect(far.body.flag).toMatch(/3,142 L/);
    expect(far.body.flag).toMatch(/\?$/);
    expect(checkText('manual flag', far.body.flag)).toEqual([]);
    // kept: it is the tank's value now, and the page shows the flag
    const s = await sensor('north');
    expect(s).toMatchObject({ source: 'manual', raw: 700, last_manual: { flag: far.body.flag, by: 'Kofi' } });
    expect(Math.round(s.value)).toBe(4712);
  });

  it('refuses bad input with a clear reason, and writes nothing without the token', async () => {
    const cases: [unknown, RegExp][] = [
      [{ sensor: 'nowhere', value: 3 }, /no sensor "nowhere"/],
      [{ value: 3 }, /name a sensor/],
      [{ sensor: 'school', value: 'lots' }, /not a number/],
      [{ sensor: 'school', value: null }, /not a number/],
      [{ sensor: 'school', value: 1600 }, /outside this tank \(0…1500 mm\)/],
      [{ sensor: 'school', value: -5 }, /outside this tank/],
      [{ sensor: 'battery', value: 140 }, /outside battery's range 0…100/],
      [{ sensor: 'battery', value: 60, by: 'x'.repeat(61) }, /by: longer than 60/],
    ];
    for (const [body, reason] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    expect((await post({ sensor: 'battery', value: 60 }, null)).status).toBe(401);
    expect((await post({ sensor: 'battery', value: 60 }, 'wrong')).status).toBe(401);
    expect((await sensor('battery')).value).toBeNull();
    // a number sent as text by a form counts
    const ok = await post({ sensor: 'battery', value: '61.5' });
    expect(ok.status).toBe(201);
    expect((await sensor('battery')).value).toBe(61.5);
    // counted: the refusals above, and the readings taken so far
    const metrics = await (await fetch(`${village.webUrl}/metrics`)).text();
    expect(metrics).toMatch(/^tend_manual_readings_refused{village="ashgrove"} 8$/m);
    expect(metrics).toMatch(/^tend_manual_readings_taken{village="ashgrove"} 4$/m);
  });

  it('goes to history as a reading with source=manual, with who and the note', async () => {
    await waitFor(
      async () => (await influx.rows(`SELECT count("value") AS n FROM "reading" WHERE "source" = 'manual'`, 'manual'))[0]?.n === 4,
      30_000,
      'four manual readings in InfluxDB',
    );
    const rows = await influx.rows(`SELECT "value", "by", "note", "sensor" FROM "reading" WHERE "source" = 'manual' AND "sensor" = 'school'`, 'manual');
    expect(rows).toEqual([expect.objectContaining({ value: 1500, by: 'Ana', note: 'morning dipstick', sensor: 'school' })]);
    // the device's own reading stays in its series, without the tag
    const device = await influx.rows(`SELECT count("value") AS n FROM "reading" WHERE "sensor" = 'north' AND "source" = ''`, 'manual');
    expect(device[0]?.n).toBe(1);
  });
});

describe('a manual sensor in the config', () => {
  const base = { version: 1, village: { id: 'ashgrove', name: 'Ashgrove', population: 180 } };
  const problems = (sensor: Record<string, unknown>) => {
    try {
      parseConfig({ ...base, sensors: [sensor] });
      return [];
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
  };
  const tank = { kind: 'tank_level', tank: { shape: 'box', length_mm: 1000, width_mm: 1000, height_mm: 1000 } };

  it('needs no device, metric or secret; without manual: true a device is still needed, with its path', () => {
    expect(problems({ id: 'a', manual: true, ...tank })).toEqual([]);
    expect(problems({ id: 'a', ...tank })).toContain('sensors[0].device: name its device (or set manual: true for a sensor people read)');
    expect(problems({ id: 'a', manual: true, interval_s: 0, ...tank })).toEqual([expect.stringMatching(/^sensors\[0\]\.interval_s: /)]);
    // two manual sensors are two sensors, not one metric read twice
    const two = parseConfig({
      ...base,
      sensors: [
        { id: 'a', manual: true, ...tank },
        { id: 'b', manual: true, ...tank },
      ],
    });
    expect(two.sensors.map((s) => s.device)).toEqual(['(manual)', '(manual)']);
  });
});
