// The generated Grafana dashboards: committed JSON equals the generator's output, their colours
// are the alert rules' thresholds (the defaults, and a village's overrides through
// `tend dashboards --config`), and every panel, variable and annotation query runs against a real
// influxd after a simulated day of history written by History, with $timeFilter, $__interval and
// the template variables substituted the way Grafana's InfluxDB data source does.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboards, dashboardJson, generateDashboards, DASHBOARD_FILES } from '../../dashboards/generate.ts';
import { RULE_DEFAULTS, ruleParams } from '../../config/rules.ts';
import { dashboardSettings, DEMO_CONFIG } from '../../services/cli.ts';
import { POWER_HOURS_LEFT } from '../../services/reserve/levels.ts';
import { History } from '../../services/history/index.ts';
import { Storage } from '../../services/storage.ts';
import { VillageEventHub } from '../../services/events.ts';
import type { Reading, SensorKind } from '../../core/types.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { tempDir, waitFor } from '../helpers/net.ts';
import { alert, historyConfig, incident, status } from '../services/history/fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DAY0 = Date.parse('2026-11-20T00:00:00Z');
const DAY = 24 * 3600_000;

interface Target {
  query: string;
  resultFormat?: string;
}
interface Panel {
  type: string;
  title: string;
  id?: number;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  timeFrom?: string;
}

describe('dashboards as code', () => {
  it('the committed JSON equals what `tend dashboards` generates', async () => {
    const tmp = tempDir('tend-dash-');
    try {
      const files = await generateDashboards(tmp.dir, dashboardSettings(null));
      expect(files.map((f) => f.split('/').pop()).sort()).toEqual([...DASHBOARD_FILES].sort());
      const committed = readdirSync(join(ROOT, 'dashboards', 'json'))
        .filter((f) => f.endsWith('.json'))
        .sort();
      expect(committed).toEqual([...DASHBOARD_FILES].sort());
      for (const f of DASHBOARD_FILES) {
        expect(readFileSync(join(ROOT, 'dashboards', 'json', f), 'utf8'), `${f} is stale: run tend dashboards`).toBe(readFileSync(join(tmp.dir, f), 'utf8'));
      }
    } finally {
      tmp.remove();
    }
  });

  it('uses the datasource variable, village/tank variables, $__interval and no hard-coded ids', () => {
    const all = buildDashboards(dashboardSettings(null));
    expect(Object.values(all).map((d) => d.title)).toEqual(['Village reserves', 'Water', 'Power', 'Cold storage', 'Sensors']);
    for (const [file, d] of Object.entries(all)) {
      const json = JSON.parse(dashboardJson(d)) as {
        panels: Panel[];
        templating: { list: { name: string }[] };
        annotations: { list: { name: string; enable: boolean; filter?: unknown }[] };
        id?: unknown;
      };
      expect(json.id ?? null, file).toBeNull();
      const vars = json.templating.list.map((v) => v.name);
      expect(vars.slice(0, 2), file).toEqual(['datasource', 'village']);
      if (file === 'water.json') expect(vars).toContain('tank');
      // alert and incident annotations, on for every panel (no panel filter)
      const anns = json.annotations.list;
      expect(
        anns.map((a) => a.name),
        file,
      ).toEqual(['Alerts', 'Incidents']);
      expect(anns.every((a) => a.enable && !a.filter)).toBe(true);
      expect(json.panels.length).toBeGreaterThan(2);
      for (const p of json.panels) {
        expect(p.id, `${file} ${p.title}`).toBeUndefined();
        // biome-ignore lint/suspicious/noTemplateCurlyInString: '${datasource}' is Grafana's variable syntax, kept literally in the JSON
        expect(p.datasource, `${file} ${p.title}`).toEqual({ type: 'influxdb', uid: '${datasource}' });
        for (const t of p.targets ?? []) {
          expect(t.query).toContain('$timeFilter');
          expect(t.query).toContain('/^$village$/');
          if (p.type === 'timeseries') expect(t.query).toContain('GROUP BY time($__interval)');
          expect(t.query).not.toMatch(/ashgrove|tank-north|\bnorth\b/);
        }
      }
    }
  });
});

// ---- colours from the rules ------------------------------------------------------------------

type Step = { value: number | null; color: string };
interface ColouredPanel {
  title: string;
  fieldConfig?: { defaults?: { thresholds?: { steps: Step[] } } };
}

/** file → panel title → its threshold steps as [value, colour] */
function thresholdsIn(dir: string): Record<string, Record<string, [number | null, string][]>> {
  const out: Record<string, Record<string, [number | null, string][]>> = {};
  for (const f of DASHBOARD_FILES) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { panels: ColouredPanel[] };
    out[f] = Object.fromEntries(
      d.panels.map((p) => [p.title, (p.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => [s.value, s.color] as [number | null, string])]),
    );
  }
  return out;
}

/** What the panels must show for a village's rules: red below critical, orange below warning, yellow below watch. */
function expectRuleColours(t: ReturnType<typeof thresholdsIn>, rules: ReturnType<typeof ruleParams>, lpd: number) {
  const w = rules.water_low;
  const b = rules.battery_low;
  const c = rules.cold_above_safe;
  const days = w.enabled
    ? [
        [null, 'red'],
        [w.critical_days_minimum, 'orange'],
        [w.warning_days_minimum, 'yellow'],
        [w.watch_days_minimum, 'green'],
      ]
    : [[null, 'blue']];
  const reserves = t['village-reserves.json']!;
  expect(reserves['Water days at current use']).toEqual(days);
  expect(reserves[`Water days at minimum use (${lpd} L/person/day)`]).toEqual(days);
  expect(reserves['Battery charge']).toEqual(
    b.enabled
      ? [
          [null, 'red'],
          [b.critical_percent, 'orange'],
          [b.warning_percent, 'yellow'],
          [b.watch_percent, 'green'],
        ]
      : [[null, 'blue']],
  );
  expect(reserves['Power hours left']).toEqual([
    [null, 'red'],
    [POWER_HOURS_LEFT.critical, 'orange'],
    [POWER_HOURS_LEFT.strained, 'yellow'],
    [POWER_HOURS_LEFT.watch, 'green'],
  ]);
  expect(reserves['Time above safe per cold unit']).toEqual([
    [null, 'green'],
    [c.hold_s / 60, 'yellow'],
    [c.critical_after_s / 60, 'red'],
  ]);
  expect(t['water.json']!['Tanks now (% full)']).toEqual([
    [null, 'red'],
    [w.critical_percent, 'orange'],
    [w.warning_percent, 'yellow'],
    [w.watch_percent, 'green'],
  ]);
  // time series carry the same thresholds as lines
  expect(t['power.json']!['State of charge']).toEqual(
    b.enabled
      ? [
          [null, 'transparent'],
          [b.critical_percent, 'red'],
          [b.warning_percent, 'orange'],
          [b.watch_percent, 'yellow'],
        ]
      : [],
  );
  expect(t['cold-storage.json']!['Minutes above safe']).toEqual([
    [null, 'transparent'],
    [c.hold_s / 60, 'yellow'],
    [c.critical_after_s / 60, 'red'],
  ]);
}

describe('dashboard colours are the alert rules’ thresholds', () => {
  it('the committed dashboards use the rule defaults', () => {
    expect(RULE_DEFAULTS.water_low.watch_days_minimum).toBe(7);
    expectRuleColours(thresholdsIn(join(ROOT, 'dashboards', 'json')), ruleParams(undefined), 15);
  });

  it('`tend dashboards --config FILE` uses the village’s overrides, and no colours for a rule turned off', async () => {
    const tmp = tempDir('tend-dash-config-');
    try {
      const config = join(tmp.dir, 'village.yaml');
      const overrides = {
        water_low: { watch_days_minimum: 10, warning_days_minimum: 4, critical_days_minimum: 2, watch_percent: 50, warning_percent: 30, critical_percent: 15 },
        battery_low: { enabled: false },
        cold_above_safe: { hold_s: 600, critical_after_s: 5400 },
      };
      const demo = readFileSync(DEMO_CONFIG, 'utf8').replace(/minimum_water_lpd: 15/, 'minimum_water_lpd: 20');
      expect(demo).toContain('minimum_water_lpd: 20');
      writeFileSync(config, `${demo}\nalerts:\n  rules: ${JSON.stringify(overrides)}\n`);
      const out = join(tmp.dir, 'json');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'dashboards', '--config', config, '--out', out], {
        cwd: ROOT,
      });
      expect(stdout).toContain(`wrote 5 dashboards to ${out} with the alert thresholds of ${config}`);
      const t = thresholdsIn(out);
      expectRuleColours(t, ruleParams(overrides), 20);
      expect(t['village-reserves.json']!['Water days at minimum use (20 L/person/day)']![1]).toEqual([2, 'orange']);
      expect(t['village-reserves.json']!['Battery charge']).toEqual([[null, 'blue']]);
      const cold = JSON.parse(readFileSync(join(out, 'cold-storage.json'), 'utf8')) as { description: string };
      expect(cold.description).toContain('watch after 10 min, critical after 90 min above safe');
    } finally {
      tmp.remove();
    }
  }, 60_000);
});

// ---- the simulated day ---------------------------------------------------------------------

function* simulatedReadings(): Generator<Reading> {
  const sensors: [string, string, SensorKind, (h: number) => [number, number]][] = [
    ['north', 'tank-north', 'tank_distance', (h) => [700 + 20 * h, 9000 - 150 * h]],
    ['school', 'tank-school', 'tank_pressure', (h) => [12 - h * 0.2, 8000 - 100 * h]],
    ['battery', 'power-shed', 'battery_soc', (h) => [60 + 10 * Math.sin(h), 60 + 10 * Math.sin(h)]],
    ['fridge-kitchen', 'cold-store', 'cold_temp', (h) => [3 + Math.sin(h), 3 + Math.sin(h)]],
    ['freezer-door', 'cold-store', 'door_open', (h) => [h % 6 < 0.2 ? 1 : 0, h % 6 < 0.2 ? 1 : 0]],
    ['pressure', 'weather-mast', 'pressure', (h) => [1010 - h, 1010 - h]],
  ];
  for (let t = DAY0; t < DAY0 + DAY; t += 5 * 60_000) {
    const h = (t - DAY0) / 3600_000;
    for (const [sensor, device, kind, f] of sensors) {
      const [raw, value] = f(h);
      yield { sensor, device, kind, raw, value, ts: t, received: t, source: 'mqtt' };
    }
  }
}

describe('every panel query returns data after a simulated day', () => {
  let influx: Influxd;
  const tmp = tempDir('tend-dash-day-');
  beforeAll(async () => {
    influx = await startInfluxd();
    let now = DAY0;
    const config = historyConfig(tmp.dir, influx.url);
    const storage = new Storage(tmp.dir);
    const events = new VillageEventHub();
    const history = new History({
      config,
      clock: { now: () => now },
      storage,
      events,
      links: () => [
        { name: 'broker', kind: 'broker', state: 'listening', last_error: null, since: new Date(now).toISOString() },
        {
          name: 'shed-uno',
          kind: 'serial',
          state: now > DAY0 + 12 * 3600_000 ? 'reconnecting' : 'connected',
          last_error: null,
          since: new Date(now).toISOString(),
        },
      ],
    });
    history.start();
    try {
      const readings = simulatedReadings();
      for (let t = DAY0; t < DAY0 + DAY; t += 60_000) {
        now = t;
        for (;;) {
          const r = readings.next();
          if (r.done) break;
          events.emit('reading', r.value);
          if (r.value.ts >= t) break;
        }
        const leak = t >= DAY0 + 10 * 3600_000 && t < DAY0 + 11 * 3600_000;
        const a = alert(DAY0 + 10 * 3600_000, leak ? {} : { state: 'resolved', resolved_at: new Date(DAY0 + 11 * 3600_000).toISOString() });
        events.emit('status', status(t, { leak, alerts: leak ? [a] : [] }));
        if (t === DAY0 + 10 * 3600_000) {
          events.emit('alert', a);
          events.emit('incident', incident(t));
        }
        if (t === DAY0 + 11 * 3600_000) {
          events.emit('alert', a);
          events.emit('incident', incident(DAY0 + 10 * 3600_000, { closed_at: new Date(t).toISOString() }));
        }
        if (t === DAY0 + 3 * 3600_000) events.emit('device', { device: 'weather-mast', online: false, at: t });
        if (t === DAY0 + 4 * 3600_000) events.emit('device', { device: 'weather-mast', online: true, at: t });
        if (t % (2 * 3600_000) === 0) events.emit('reject', { device: 'tank-north', reason: 'not_json', detail: 'x', at: t });
        if (t % 600_000 === 0) storage.commitNow();
      }
      storage.commitNow();
      await history.flush();
      await waitFor(() => history.stats().outbox_rows === 0, 60_000, 'outbox drained');
    } finally {
      await history.stop();
      storage.close();
    }
  }, 180_000);
  afterAll(async () => {
    await influx?.close();
    tmp.remove();
  });

  const regexEscape = (s: string) => s.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

  /** Grafana's InfluxDB interpolation: values in /^$var$/ are regex-escaped; several become (a|b). */
  // the dashboard looks at the simulated day: to = its end; a panel's relative time override
  // (timeFrom: '15m') moves `from` as Grafana does
  const TO = DAY0 + DAY;
  const span = (s: string) => Number(/^(\d+)([mhd])$/.exec(s)![1]) * { m: 60_000, h: 3600_000, d: DAY }[/^(\d+)([mhd])$/.exec(s)![2] as 'm' | 'h' | 'd'];
  function substitute(query: string, vars: Record<string, string[]>, interval: string, timeFrom?: string): string {
    const from = timeFrom ? TO - span(timeFrom) : DAY0;
    return query
      .replace(/\$timeFilter/g, `time >= ${from}ms and time <= ${TO}ms`)
      .replace(/\$__interval/g, interval)
      .replace(/\$(\w+)/g, (m, name: string) => {
        const v = vars[name];
        if (!v) return m;
        return v.length === 1 ? regexEscape(v[0]!) : `(${v.map(regexEscape).join('|')})`;
      });
  }

  async function tagValues(query: string, vars: Record<string, string[]>): Promise<string[]> {
    const res = await influx.query(substitute(query, vars, '1m'));
    return (res.results[0]?.series?.[0]?.values ?? []).map((v) => String(v[1]));
  }

  for (const file of DASHBOARD_FILES) {
    it(`${file}: variables resolve and every panel and annotation query returns data`, async () => {
      const d = JSON.parse(dashboardJson(buildDashboards(dashboardSettings(null))[file]!)) as {
        templating: { list: { name: string; type: string; query: string; includeAll?: boolean }[] };
        annotations: { list: { name: string; target: Target }[] };
        panels: Panel[];
      };
      // resolve variables in order, as Grafana does; "All" for multi variables
      const vars: Record<string, string[]> = {};
      for (const v of d.templating.list) {
        if (v.type !== 'query') continue;
        const values = await tagValues(v.query, vars);
        expect(values.length, `${file}: variable ${v.name} has values`).toBeGreaterThan(0);
        vars[v.name] = v.includeAll ? values : [values[0]!];
      }
      expect(vars.village).toEqual(['ashgrove']);
      const checks: [string, Target, string | undefined][] = [
        ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => [`panel "${p.title}"`, t, p.timeFrom] as [string, Target, string | undefined])),
        ...d.annotations.list.map((a) => [`annotation "${a.name}"`, a.target, undefined] as [string, Target, undefined]),
      ];
      for (const interval of ['1m', '10s']) {
        for (const [what, t, timeFrom] of checks) {
          const q = substitute(t.query, vars, interval, timeFrom);
          expect(q, what).not.toMatch(/\$\w/);
          const res = await influx.query(q);
          const series = res.results[0]?.series ?? [];
          const values = series.flatMap((s) => s.values.flatMap((row) => row.slice(1))).filter((x) => x !== null);
          expect(values.length, `${file} ${what} returned no data: ${q}`).toBeGreaterThan(0);
        }
      }
    });
  }
});
