// The scenario library (firmware-bridge/simulator/scenarios/library/) through the real pipeline:
// every scenario is replayed by `tend simulate --json --speed 0` in this process (devices as MQTT
// clients → embedded broker → ingest → reserve → rules → incidents → prompts), several at once
// since each mostly waits on its broker and disk, and judged against its `<name>.expect.json`.
// The expectations are what a village needs; a failing scenario names what tend said or missed.
//   npx vitest run test/scenarios
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { expectText, generate, START } from '../../firmware-bridge/simulator/scenarios/library/generate.ts';
import { SCENARIOS } from '../../firmware-bridge/simulator/scenarios/library/scenarios.ts';
import { DEFAULT_START, parseScenario } from '../../services/simulate.ts';
import { figures, judge, LIBRARY_DIR, loadLibrary, type RunResult, startRuns, type Verdict } from './harness.ts';

const lib = loadLibrary();
/** runs at once: each waits mostly on MQTT round trips and the SQLite commit; 4 keep 2 cores busy */
const CONCURRENCY = Number(process.env.TEND_SCENARIO_CONCURRENCY ?? 4);
let runs: Map<string, Promise<RunResult>>;
const verdicts = new Map<string, Verdict>();
const results = new Map<string, RunResult>();

beforeAll(() => {
  runs = startRuns(lib, CONCURRENCY);
});

describe('scenario library: the files', () => {
  it('has at least twelve damage and quiet scenarios and at least 30 ordinary days, in villages of 100–300 people using 15–80 L', () => {
    expect(lib.filter((e) => e.kind !== 'ordinary').length).toBeGreaterThanOrEqual(12);
    expect(lib.filter((e) => e.kind === 'ordinary').reduce((s, e) => s + e.days, 0)).toBeGreaterThanOrEqual(30);
    const people = new Set(lib.map((e) => loadConfig(join(LIBRARY_DIR, e.village)).village.population));
    expect(Math.min(...people)).toBeLessThanOrEqual(100);
    expect(Math.max(...people)).toBeGreaterThanOrEqual(300);
    const lpd = SCENARIOS.map((s) => s.params.lpd);
    expect(Math.min(...lpd)).toBeLessThanOrEqual(15);
    expect(Math.max(...lpd)).toBeGreaterThanOrEqual(80);
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    expect(lib.map((e) => e.name).sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
  });

  it('the committed scenarios and sidecars are what generate.ts writes (regenerate: npx tsx firmware-bridge/simulator/scenarios/library/generate.ts)', () => {
    // they start where `tend simulate` starts without --start, so the CLI replays them as this test does
    expect(Date.parse(START)).toBe(Date.parse(DEFAULT_START));
    for (const def of SCENARIOS) {
      const g = generate(def);
      const jsonl = readFileSync(join(LIBRARY_DIR, `${def.name}.jsonl`), 'utf8');
      expect(jsonl === g.jsonl, `${def.name}.jsonl differs from what generate.ts writes`).toBe(true);
      expect(readFileSync(join(LIBRARY_DIR, `${def.name}.expect.json`), 'utf8')).toBe(expectText(g.expect));
      // a valid scenario for its village (every device in the config, time order) and small
      expect(() => parseScenario(jsonl, def.name, loadConfig(join(LIBRARY_DIR, def.village)))).not.toThrow();
      expect(jsonl.length).toBeLessThan(2 * 1024 * 1024);
    }
  });
});

describe('scenario library through the real pipeline (tend simulate --json)', () => {
  for (const e of lib) {
    it(`${e.name}: ${e.title} [${e.kind}]`, async () => {
      const r = await runs.get(e.name)!;
      results.set(e.name, r);
      const v = judge(e, r);
      verdicts.set(e.name, v);
      expect(r.code, r.other.join('\n')).toBe(0);
      expect(r.events.at(-1)?.event).toBe('status');
      expect(v.problems, `${e.name}: ${e.proves}\nfired: ${v.fired.join(', ') || 'nothing'}`).toEqual([]);
    }, 900_000);
  }

  it('ordinary days: no assembly prompt, at most one warning per 30 ordinary days', async () => {
    const ordinary = lib.filter((e) => e.kind === 'ordinary');
    for (const e of ordinary) if (!verdicts.has(e.name)) verdicts.set(e.name, judge(e, await runs.get(e.name)!));
    const f = figures(
      ordinary,
      ordinary.map((e) => verdicts.get(e.name)!),
      [...results.values()],
    );
    expect(f.ordinary_days).toBeGreaterThanOrEqual(30);
    expect(f.false_prompts_per_30_days).toBe(0);
    expect(f.false_warnings_per_30_days).toBeLessThanOrEqual(1);
  }, 900_000);
});
