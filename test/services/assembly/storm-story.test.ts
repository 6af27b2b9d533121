// `tend simulate storm` walks the founding text's fortnight through the real pipeline (simulated
// devices over real MQTT → ingest → reserve → rules → prompts), with the people's steps of the
// storm story taken through the assembly as the API takes them: prompts, a rationing decision with
// a plan that use follows, a later plan that use strays from (and the question about it), an
// organiser holding items too long (and the question about rest), the all-clear with its recovery
// questions, and the record.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.ts';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';
import { checkPrompt, checkText } from '../../../services/assembly/language.ts';
import type { AssemblyRecord } from '../../../services/assembly/record.ts';
import { STORM_STORY } from '../../../services/assembly/story.ts';
import { DEFAULT_START, parseScenario, Simulation, STORM_CONFIG, STORM_SCENARIO } from '../../../services/simulate.ts';

type Ev = { t: number; event: string } & Record<string, unknown>;
const DAY = 86400;

describe('tend simulate storm: the fortnight with the assembly', () => {
  it('decisions, a plan followed and one strayed from, rest, the all-clear and the record', async () => {
    const config = loadConfig(STORM_CONFIG);
    const lines = parseScenario(readFileSync(STORM_SCENARIO, 'utf8'), STORM_SCENARIO, config);
    let buf = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        buf += String(chunk);
        done();
      },
    });
    const sim = new Simulation(
      config,
      lines,
      {
        config: STORM_CONFIG,
        scenario: STORM_SCENARIO,
        speed: 0,
        json: true,
        start: Date.parse(DEFAULT_START),
        tickS: 60,
        storage: null,
        verbose: false,
        story: STORM_STORY,
      },
      out,
    );
    try {
      expect(await sim.run()).toBe(0);
    } finally {
      await sim.close();
    }
    const events = buf
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);

    // every step of the story was taken
    const story = events.filter((e) => e.event === 'story');
    expect(story.map((e) => e.told)).toEqual(STORM_STORY.map((s) => s.told));
    expect(story.filter((e) => e.error !== null)).toEqual([]);

    const versions = events.filter((e) => e.event === 'assembly') as unknown as (AssemblyPrompt & { t: number })[];
    expect(new Set(versions.map((p) => p.id)).size).toBe(1);
    for (const p of versions) {
      expect(checkPrompt(p), `v${p.version}`).toEqual([]);
      for (const t of p.options?.texts ?? []) expect(checkText('option', t)).toEqual([]);
    }
    const asked = (re: RegExp) => versions.filter((p) => p.questions.some((q) => re.test(q)));

    // day 2 08:00: the rationing decision with its plan is in the next version, and use follows it
    const decided = versions.find((p) => (p.decisions ?? []).length === 1)!;
    expect(decided.t).toBe(2 * DAY + 8 * 3600);
    expect(decided.decisions![0]).toMatchObject({ by: 'Morning assembly', plan: { water_lpd: 30 } });
    expect(asked(/to 30 L a person a day, use has been/)).toEqual([]);

    // nobody took the warming kitchen fridge: after some hours it became a question
    const fridge = asked(/^Nobody has said they are looking at the Kitchen fridge since .*: who can look at it\?$/);
    expect(fridge.length).toBeGreaterThan(0);
    expect(fridge[0]!.t).toBeLessThan(1 * DAY + 23 * 3600);

    // rest comes first: Tomas held the battery bank for more than a day before Ines took over
    const rest = asked(/^Tomas has been looking after the battery bank for more than a day: who can take over, so they can rest\?$/);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest[0]!.t).toBeGreaterThan(2 * DAY + 20 * 3600);
    expect(rest[0]!.t).toBeLessThan(2 * DAY + 22 * 3600);

    // day 4 18:00: 17 L a person a day; use stays near 21 L, and the prompt asks about it
    const strayed = asked(
      /^Since the agreement of 24 Nov 18:00 UTC to 17 L a person a day, use has been about \d+ L a person a day\. Does the plan still fit\?$/,
    );
    expect(strayed.length).toBeGreaterThan(0);
    expect(strayed[0]!.t).toBeGreaterThan(5 * DAY + 18 * 3600 + 12 * 3600 - 1);

    // the all-clear: recovery questions, no plan in force any more
    const closed = versions.at(-1)!;
    expect(closed.status).toBe('closed');
    expect(closed.questions.some((q) => q.startsWith('What failed, and what held?'))).toBe(true);
    expect(closed.questions.some((q) => /^At the lowest the tanks held about [\d.]+ days at minimum use: what storage would have helped\?$/.test(q))).toBe(
      true,
    );
    const status = events.at(-1)! as unknown as ReserveStatus & Ev;
    expect(status.event).toBe('status');
    expect(status.plan).toBeUndefined();

    // and the record, kept for the recovery
    const record = events.find((e) => e.event === 'record') as unknown as AssemblyRecord;
    expect(record.complete).toBe(true);
    expect(record.decisions.map((d) => d.plan)).toEqual([{ water_lpd: 30 }, { water_lpd: 17 }]);
    expect(record.items.filter((h) => h.item === 'power-battery').map((h) => [h.by, h.ended])).toEqual([
      ['Tomas', 'released'],
      ['Ines', 'released'],
    ]);
    expect(record.notes.map((n) => n.author)).toContain('Repair crew');
    expect(record.versions).toHaveLength(closed.version);
    expect(record.figures.water_days_minimum.lowest).toBeLessThan(record.figures.water_days_minimum.first!);
  }, 300_000);

  it('the readable timeline prints each prompt version once, with the steps people take between them', async () => {
    const config = loadConfig(STORM_CONFIG);
    const lines = parseScenario(readFileSync(STORM_SCENARIO, 'utf8'), STORM_SCENARIO, config);
    let buf = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        buf += String(chunk);
        done();
      },
    });
    const sim = new Simulation(
      config,
      lines,
      {
        config: STORM_CONFIG,
        scenario: STORM_SCENARIO,
        speed: 0,
        json: false,
        start: Date.parse(DEFAULT_START),
        tickS: 60,
        storage: null,
        verbose: false,
        story: STORM_STORY,
      },
      out,
    );
    try {
      expect(await sim.run()).toBe(0);
    } finally {
      await sim.close();
    }
    const heads = buf.split('\n').filter((l) => / {2}(ASSEMBLY {2}prompt opened|update {4}prompt v\d+):/.test(l));
    const versions = heads.map((l) => /prompt v(\d+)/.exec(l)?.[1] ?? '1');
    expect(versions.length).toBeGreaterThan(10);
    expect(new Set(versions).size, heads.join('\n')).toBe(versions.length);
    expect(buf).toMatch(/PEOPLE {4}Tomas is looking at the power supply/);
  }, 120_000);
});
