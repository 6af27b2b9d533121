// `tend simulate storm` walks the founding text's fortnight through the real pipeline (simulated
// devices over real MQTT → ingest → reserve → rules → prompts), with the people's steps of the
// storm story taken through the assembly as the API takes them: prompts, a rationing decision with
// a plan that use follows, a later plan that use strays from (and the question about it), an
// organiser holding items too long (and the question about rest), a neighbour's offer meeting the
// village's need (over the real federation, on a broker of the run's own), the all-clear with its
// recovery questions, and the record.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.ts';
import type { AssemblyPrompt, ReserveStatus } from '../../../core/types.ts';
import { checkPrompt, checkText } from '../../../services/assembly/language.ts';
import type { AssemblyRecord } from '../../../services/assembly/record.ts';
import { STORM_NEIGHBOURS, STORM_STORY } from '../../../services/assembly/story.ts';
import type { FederationView } from '../../../services/federation/federation.ts';
import { DEFAULT_START, parseScenario, type SimOptions, Simulation, STORM_CONFIG, STORM_SCENARIO } from '../../../services/simulate.ts';
import type { Village } from '../../../services/village.ts';
import { getJson } from '../../helpers/village.ts';

type Ev = { t: number; event: string } & Record<string, unknown>;
const DAY = 86400;

/** Run the storm fortnight with its story and neighbour; returns what it printed. */
async function runStorm(opts: Partial<SimOptions>, after?: (sim: Simulation) => Promise<void>): Promise<string> {
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
      neighbours: STORM_NEIGHBOURS,
      ...opts,
    },
    out,
  );
  try {
    expect(await sim.run()).toBe(0);
    await after?.(sim);
  } finally {
    await sim.close();
  }
  return buf;
}

describe('tend simulate storm: the fortnight with the assembly', () => {
  it("decisions, a plan followed and one strayed from, rest, a neighbour's offer meeting a need, the all-clear and the record", async () => {
    let village: Village | null = null;
    const federation: { t: number; view: FederationView }[] = [];
    const start = Date.parse(DEFAULT_START);
    let after: FederationView | undefined;
    const buf = await runStorm(
      {
        json: true,
        // GET /api/federation as the page reads it, whenever a prompt changed while Millbrook was heard
        web: true,
        afterPromptChange: async (v) => {
          village = v;
          const view = await getJson<FederationView>(`${v.webUrl}/api/federation`);
          if (view.neighbours.some((n) => n.offer !== null) || view.own.need) federation.push({ t: Math.round((v.clock.now() - start) / 1000), view });
        },
      },
      async () => {
        // the fortnight over: Millbrook's offer is withdrawn and Ashgrove needs nothing more
        after = await getJson<FederationView>(`${village!.webUrl}/api/federation`);
      },
    );
    const events = buf
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);

    // every step of the story was taken
    const story = events.filter((e) => e.event === 'story');
    expect(story.map((e) => e.told)).toEqual(STORM_STORY.map((s) => s.told));
    expect(story.filter((e) => e.error !== null)).toEqual([]);
    for (const e of story) expect(checkText('story', e.told as string)).toEqual([]);

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

    // days 2–5, help from neighbours. Day 2 09:00 the assembly posts its need; 15:00 Millbrook offers
    // a crew and water over the federation; the next version shows the offer and where it meets the need
    const toldAt = (re: RegExp) => story.find((e) => re.test(e.told as string))!.t;
    expect(toldAt(/^the assembly tells the neighbours that Ashgrove needs 3,000 L/)).toBe(2 * DAY + 9 * 3600);
    const offeredAt = toldAt(/^Millbrook offers a repair crew and 5,000 L of water$/);
    expect(offeredAt).toBe(2 * DAY + 15 * 3600);
    const heard = federation.find((f) => f.view.neighbours.some((n) => n.village === 'millbrook' && n.offer !== null))!;
    expect(heard.t).toBeGreaterThan(offeredAt);
    expect(heard.view.own.need).toMatchObject({ quantities: { water_liters: 3000, hands: 4 } });
    expect(heard.view.neighbours.find((n) => n.village === 'millbrook')).toMatchObject({
      name: 'Millbrook',
      stale: false,
      offer_quantities: { water_liters: 5000, hands: 4 },
      need: null,
    });
    const waterFact = 'Millbrook offers 5,000 L of water; Ashgrove has said it needs 3,000 L of water.';
    const handsFact = 'Millbrook offers the help of 4 people; Ashgrove has said it needs the help of 4 people.';
    expect(heard.view.matches.map((m) => [m.offered_by, m.needed_by, m.what, m.covers, m.text])).toEqual([
      ['millbrook', 'ashgrove', 'water_liters', true, waterFact],
      ['millbrook', 'ashgrove', 'hands', true, handsFact],
    ]);

    const matched = versions.filter((p) => p.neighbours.some((n) => (n.matches ?? []).length > 0));
    expect(matched.length).toBeGreaterThan(0);
    const first = matched[0]!;
    expect(first.t).toBeGreaterThan(offeredAt);
    expect(first.t).toBeLessThanOrEqual(offeredAt + 5 * 60);
    expect(first.neighbours).toHaveLength(1);
    expect(first.neighbours[0]).toMatchObject({ village: 'millbrook', quantities: { water_liters: 5000, hands: 4 }, matches: [waterFact, handsFact] });
    const question = `${waterFact} Would the assembly like to take this up with the neighbouring village?`;
    expect(first.questions).toContain(question);
    expect(first.questions.filter((q) => /Millbrook .*Ashgrove .*\?$/.test(q))).toHaveLength(2);
    for (const t of [first.neighbours[0]!.offer, ...first.neighbours[0]!.matches!, ...first.questions]) expect(checkText('neighbours', t)).toEqual([]);

    // the options' water lines with the neighbours' offers grow by the 5,000 L offered
    const before = versions[versions.indexOf(first) - 1]!;
    expect(before.options!.water.offered_liters).toBe(0);
    expect(before.options!.water.levels.every((l) => l.days_with_offers === null)).toBe(true);
    const water = first.options!.water;
    expect(water.offered_liters).toBe(5000);
    for (const l of water.levels) {
      expect(l.days_with_offers).toBeCloseTo((water.liters! + 5000) / (water.population * l.lpd), 1);
      expect(l.days_with_offers!).toBeGreaterThan(l.days!);
      expect(l.text).toContain('with the 5,000 L neighbours offer');
      expect(checkText('option', l.text)).toEqual([]);
    }

    // day 4 15:00 Millbrook's water has come and its offer is withdrawn: the next version lists no neighbour
    const withdrawnAt = toldAt(/Millbrook withdraws its offer$/);
    expect(withdrawnAt).toBe(4 * DAY + 15 * 3600);
    const last = matched.at(-1)!;
    expect(last.t).toBeLessThan(withdrawnAt);
    const gone = versions.find((p) => p.t > withdrawnAt)!;
    expect(gone.t).toBeLessThanOrEqual(withdrawnAt + 5 * 60);
    expect(gone.neighbours).toEqual([]);
    expect(gone.options!.water.offered_liters).toBe(0);
    expect(gone.questions.some((q) => q.includes('Millbrook'))).toBe(false);
    expect(after!.neighbours.find((n) => n.village === 'millbrook')).toMatchObject({ offer: null, stale: false });
    expect(after!.own.need).toBeNull();
    expect(after!.matches).toEqual([]);
  }, 300_000);

  it('the readable timeline prints each prompt version once, with the steps people take between them', async () => {
    const buf = await runStorm({});
    const heads = buf.split('\n').filter((l) => / {2}(ASSEMBLY {2}prompt opened|update {4}prompt v\d+):/.test(l));
    const versions = heads.map((l) => /prompt v(\d+)/.exec(l)?.[1] ?? '1');
    expect(versions.length).toBeGreaterThan(10);
    expect(new Set(versions).size, heads.join('\n')).toBe(versions.length);
    expect(buf).toMatch(/PEOPLE {4}Tomas is looking at the power supply/);
    // the neighbour's offer, when it comes and when it goes
    expect(buf).toMatch(/PEOPLE {4}Millbrook offers a repair crew and 5,000 L of water\n/);
    expect(buf).toMatch(/ {4}neighbours offer:\n {6}- Millbrook: a repair crew of 4 with tools, and 5,000 L of drinking water in containers\n/);
    expect(buf).toMatch(
      / {4}water with the neighbours' offers:\n( {6}- .*\n)*? {6}- At 30 L a person a day the water lasts [\d.]+ days; with the 5,000 L neighbours offer, [\d.]+ days\.\n/,
    );
    expect(buf).toMatch(/ {4}neighbours offer: nothing now\n/);
  }, 120_000);
});
