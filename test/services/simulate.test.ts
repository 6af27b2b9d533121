// `tend simulate`: the storm scenario end to end through the real pipeline (simulated devices
// as MQTT clients → embedded broker → ingest → reserve → rules → incidents → prompts), and
// hand-written scenarios with --json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { checkAlert, checkPrompt, checkText } from '../../services/assembly/language.ts';
import { DEFAULT_START, parseScenario, runSimulate, Simulation, STORM_CONFIG, STORM_SCENARIO } from '../../services/simulate.ts';
import type { Alert, AssemblyPrompt, Incident, ReserveStatus } from '../../core/types.ts';
import { tempDir } from '../helpers/net.ts';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups.splice(0)) c();
});

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      buf += String(chunk);
      done();
    },
  });
  return { stream, text: () => buf };
}

type Ev = { t: number; event: string } & Record<string, unknown>;

describe('tend simulate storm (end to end over real MQTT)', () => {
  it('storm watch before damage, one crisis, one prompt updated to the all-clear, reserves equal /api/status, language rule', async () => {
    const config = loadConfig(STORM_CONFIG);
    const lines = parseScenario(readFileSync(STORM_SCENARIO, 'utf8'), STORM_SCENARIO, config);
    const out = sink();
    const compared: { prompt: string; version: number }[] = [];
    const mismatches: string[] = [];
    const sim = new Simulation(
      config,
      lines,
      {
        config: STORM_CONFIG,
        scenario: STORM_SCENARIO,
        speed: 0,
        json: true,
        start: Date.parse(DEFAULT_START),
        tickS: 120,
        storage: null,
        verbose: false,
        web: true,
        // at the moment a prompt is issued or updated, the page's /api/status shows the same figures
        afterPromptChange: async (village, prompts) => {
          const res = await fetch(`${village.webUrl}/api/status`);
          const status = (await res.json()) as ReserveStatus;
          for (const p of prompts) {
            if (p.status !== 'open') continue;
            const want = {
              water_days_current: status.water.days_left_current,
              water_days_minimum: status.water.days_left_minimum,
              power_hours_left: status.power.hours_left,
            };
            const got = {
              water_days_current: p.reserves.water_days_current,
              water_days_minimum: p.reserves.water_days_minimum,
              power_hours_left: p.reserves.power_hours_left,
            };
            if (JSON.stringify(want) !== JSON.stringify(got)) mismatches.push(`${p.id} v${p.version}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
            compared.push({ prompt: p.id, version: p.version });
          }
        },
      },
      out.stream,
    );
    try {
      expect(await sim.run()).toBe(0);
    } finally {
      await sim.close();
    }
    const events = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    const alerts = events.filter((e) => e.event === 'alert') as unknown as (Alert & { t: number })[];
    const incidents = events.filter((e) => e.event === 'incident') as unknown as (Incident & { t: number })[];
    const prompts = events.filter((e) => e.event === 'assembly') as unknown as (AssemblyPrompt & { t: number })[];
    const final = events.at(-1) as unknown as ReserveStatus & { event: string };

    // the storm watch rises from the pressure fall and gusts, before any damage
    const firstFiring = (rules: string[]) => alerts.find((a) => rules.includes(a.rule) && a.state === 'firing');
    const watch = firstFiring(['storm'])!;
    const damage = firstFiring(['tank_drop', 'power_unstable', 'cold_above_safe'])!;
    expect(watch.severity).toBe('watch');
    expect(watch.t).toBeLessThan(damage.t);
    expect(damage.t - watch.t).toBeGreaterThan(3 * 3600);

    // one crisis incident, one prompt, updated in place
    const crisis = new Set(incidents.filter((i) => i.crisis).map((i) => i.id));
    expect(crisis.size).toBe(1);
    const [crisisId] = [...crisis];
    expect(new Set(prompts.map((p) => p.id)).size).toBe(1);
    expect(prompts.every((p) => p.incident_id === crisisId)).toBe(true);
    expect(prompts[0]!.version).toBe(1);
    for (let i = 1; i < prompts.length; i++) expect(prompts[i]!.version).toBeGreaterThan(prompts[i - 1]!.version);
    expect(prompts.length).toBeGreaterThan(3);

    // the lists name the right tanks, power and cold units
    const any = (list: keyof AssemblyPrompt, re: RegExp) => prompts.some((p) => (p[list] as string[]).some((x) => re.test(x)));
    expect(any('damaged', /^North tank: losing about/)).toBe(true);
    expect(any('damaged', /^Power supply, unstable since .*: battery voltage swinging/)).toBe(true);
    expect(any('damaged', /^Kitchen fridge: /)).toBe(true);
    expect(any('working', /^School tank: /)).toBe(true);
    expect(any('working', /^Hill cistern: /)).toBe(true);
    expect(any('working', /^Clinic fridge: /)).toBe(true);
    expect(any('working', /^Community freezer: /)).toBe(true);
    expect(any('urgent', /^North tank would be empty/)).toBe(true);
    expect(any('urgent', /^Kitchen fridge: food/)).toBe(true);
    expect(any('can_wait', /^Weather mast: not reporting/)).toBe(true);
    expect(prompts.some((p) => p.damaged.some((d) => /School tank|Hill cistern|Clinic fridge/.test(d)))).toBe(false);
    expect(prompts.some((p) => p.reserves.cold_units_at_risk.includes('Kitchen fridge'))).toBe(true);

    // the all-clear closes it, and the village ends calm
    expect(prompts.at(-1)).toMatchObject({ status: 'closed' });
    expect(prompts.at(-1)!.headline).toMatch(/^All clear in Ashgrove/);
    expect(incidents.filter((i) => i.id === crisisId).at(-1)!.closed_at).not.toBeNull();
    expect(final.event).toBe('status');
    expect(final.alerts).toEqual([]);
    expect(final.assembly).toEqual([]);

    // the prompt's reserves equal /api/status at the moment of every open version
    expect(mismatches).toEqual([]);
    expect(compared.length).toBe(prompts.filter((p) => p.status === 'open').length);

    // the language rule, over every alert and prompt the storm produces
    const problems = [...alerts.flatMap(checkAlert), ...prompts.flatMap(checkPrompt)];
    expect(problems).toEqual([]);
  }, 600_000);
});

describe('tend simulate --config --scenario', () => {
  const tmp = tempDir('tend-sim-');
  cleanups.push(tmp.remove);
  const cfg = join(tmp.dir, 'village.yaml');
  writeFileSync(
    cfg,
    `version: 1
village: { id: elmfield, name: Elmfield, population: 40 }
devices:
  - { id: cold-node, secret: cold-secret-1, interval_s: 60 }
  - { id: mast, secret: mast-secret-1, interval_s: 60 }
sensors:
  - { id: fridge, name: Shop fridge, device: cold-node, metric: t, kind: cold_temp, cold: { safe_max_c: 5 } }
  - { id: gust, name: Gusts, device: mast, metric: g, kind: wind_gust }
alerts:
  rules: { storm: { hold_s: 0, clear_hold_s: 600 } }
`,
  );
  const scenario = join(tmp.dir, 'drill.jsonl');
  const rows: string[] = [];
  for (let t = 0; t <= 4 * 3600; t += 60) {
    const warm = t >= 1800 && t < 3 * 3600;
    rows.push(JSON.stringify({ t, device: 'cold-node', reading: { t: warm ? 8 : 3 } }));
    if (t === 7200) rows.push(JSON.stringify({ t, device: 'mast', status: 'offline' }));
    if (t < 7200 || t > 9000) rows.push(JSON.stringify({ t, device: 'mast', reading: { g: t >= 600 && t < 1500 ? 19 : 4 } }));
    if (t === 9060) rows.push(JSON.stringify({ t, device: 'mast', status: 'online' }));
  }
  writeFileSync(scenario, `${rows.join('\n')}\n`);

  it('prints one JSON object a line per alert, incident and assembly change, then the status', async () => {
    const out = sink();
    const code = await runSimulate(['--config', cfg, '--scenario', scenario, '--json', '--speed', '0'], out.stream);
    expect(code).toBe(0);
    const events = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    expect(events.every((e) => typeof e.t === 'number' && ['alert', 'incident', 'assembly', 'status'].includes(e.event))).toBe(true);
    expect(events.at(-1)!.event).toBe('status');
    const firing = events.filter((e) => e.event === 'alert' && e.state === 'firing');
    expect(firing.map((e) => e.rule)).toEqual(expect.arrayContaining(['storm', 'cold_above_safe', 'sensor_offline']));
    const storm = firing.find((e) => e.rule === 'storm')!;
    expect(storm.t).toBeGreaterThanOrEqual(600);
    expect(storm.t).toBeLessThan(900);
    // 2.5 h above safe: watch after 15 min, critical after 2 h (food safety)
    const cold = events.filter((e) => e.event === 'alert' && e.rule === 'cold_above_safe' && e.state === 'firing');
    expect(cold.map((e) => e.severity)).toEqual(['watch', 'critical']);
    expect(cold[1]!.t - cold[0]!.t).toBeGreaterThanOrEqual(105 * 60);
  }, 120_000);

  it('prints a readable timeline', async () => {
    const out = sink();
    expect(await runSimulate(['--config', cfg, '--scenario', scenario, '--speed', '0'], out.stream)).toBe(0);
    const text = out.text();
    expect(text).toMatch(/^Simulating Elmfield \(40 people\)/);
    expect(text).toMatch(/day 0 00:1\d {2}ALERT {5}\[watch\] Storm watch: gusts up to 19 m\/s/);
    expect(text).toMatch(/ALERT {5}\[watch\] Shop fridge is above its safe 5 °C/);
    expect(text).toMatch(/end of scenario/);
    for (const line of text.split('\n')) expect(checkText('timeline', line.replace(/^day \d+ \d\d:\d\d\s+\S+\s+/, ''))).toEqual([]);
  }, 120_000);

  /** the run's lines, parsed */
  async function simulate(...extra: string[]): Promise<Ev[]> {
    const out = sink();
    expect(await runSimulate(['--config', cfg, '--scenario', scenario, '--json', ...extra], out.stream)).toBe(0);
    return out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
  }
  const notStatus = (events: Ev[]) => events.filter((e) => e.event !== 'status');

  it('--status-every S adds the status every S simulated seconds, and changes no other line', async () => {
    const plain = await simulate('--speed', '0');
    // 450 s: every other line falls between two readings (they come once a minute)
    const sampled = await simulate('--speed', '0', '--status-every', '450');
    const statuses = sampled.filter((e) => e.event === 'status') as unknown as (ReserveStatus & { t: number })[];
    const end = 4 * 3600;
    const every: number[] = [];
    for (let t = 0; t <= end; t += 450) every.push(t);
    // one line at each S from the start to the end of the scenario, then the final status
    expect(statuses.map((e) => e.t)).toEqual([...every, end]);
    // each is the status of its moment, also between readings
    for (const e of statuses) expect(Date.parse(e.at)).toBe(Date.parse(DEFAULT_START) + e.t * 1000);
    const between = statuses.find((e) => e.t === 2250)!;
    expect(between.cold.units[0]).toMatchObject({ temp_c: 8, last_seen: '2026-11-20T00:37:00.000Z' });
    expect(between.cold.units[0]!.minutes_above_safe).toBeGreaterThanOrEqual(7);
    // the alert, incident and assembly lines are the run's without --status-every, exactly
    expect(notStatus(sampled)).toEqual(notStatus(plain));
    expect(notStatus(plain).map((e) => e.event)).toEqual(expect.arrayContaining(['alert', 'incident', 'assembly']));
  }, 120_000);

  it('--speed 0 produces the same alert, incident and assembly lines as a paced run', async () => {
    const fast = await simulate('--speed', '0');
    // 4 hours at 4,800× real time: 3 s of waiting between readings, as a live run would
    const paced = await simulate('--speed', '4800');
    expect(notStatus(fast).length).toBeGreaterThan(5);
    expect(notStatus(fast)).toEqual(notStatus(paced));
    expect(fast.at(-1)).toEqual(paced.at(-1));
  }, 120_000);

  it('prints the timeline in the village’s time zone', async () => {
    const lima = join(tmp.dir, 'lima.yaml');
    writeFileSync(lima, readFileSync(cfg, 'utf8').replace('population: 40 }', 'population: 40, timezone: America/Lima }'));
    const out = sink();
    expect(await runSimulate(['--config', lima, '--scenario', scenario, '--speed', '0'], out.stream)).toBe(0);
    const text = out.text();
    expect(text.split('\n')[0]).toMatch(/; times in America\/Lima$/);
    // 00:10 UTC on the start day is 19:10 the evening before in Lima, counted as day 0
    expect(text).toMatch(/day 0 19:1\d {2}ALERT {5}\[watch\] Storm watch/);
    expect(text).toMatch(/day 0 23:00 {2}end of scenario/);
    // the prompt's own times too
    expect(text).toMatch(/since about 19 Nov 19:30 GMT-5/);
    expect(text).not.toMatch(/ UTC/);
  }, 120_000);

  it('--status-every needs --json and a number of seconds', async () => {
    const out = sink();
    expect(await runSimulate(['--config', cfg, '--scenario', scenario, '--status-every', '60'], out.stream)).toBe(2);
    expect(out.text()).toContain('--status-every adds JSON lines: use it with --json');
    expect(await runSimulate(['--config', cfg, '--scenario', scenario, '--json', '--status-every', '0'], out.stream)).toBe(2);
    expect(out.text()).toContain('--status-every is a number of seconds ≥ 1');
  });

  it('a bad scenario line is a clear error with file and line, exit 2', async () => {
    const bad = join(tmp.dir, 'bad.jsonl');
    writeFileSync(
      bad,
      '{"t": 0, "device": "cold-node", "reading": {"t": 3}}\n{"t": 60, "device": "pump", "reading": {"x": 1}}\nnot json\n{"t": 10, "device": "mast", "status": "offline"}\n',
    );
    const out = sink();
    expect(await runSimulate(['--config', cfg, '--scenario', bad, '--json'], out.stream)).toBe(2);
    expect(out.text()).toContain(`${bad}:2: unknown device "pump"`);
    expect(out.text()).toContain(`${bad}:3: not JSON`);
    expect(out.text()).toContain(`${bad}:4: out of time order (t 10 after 60)`);
  });

  it('usage errors exit 2', async () => {
    const out = sink();
    expect(await runSimulate(['--speed', 'fast', 'storm'], out.stream)).toBe(2);
    expect(await runSimulate([], out.stream)).toBe(2);
    expect(out.text()).toMatch(/usage:/);
  });
});
