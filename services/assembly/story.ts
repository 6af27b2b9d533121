// What the people of the storm scenario do with the assembly's tool (`tend simulate storm`), at
// simulated times, through the same calls the API makes: the founding text's fortnight as the
// village lives it beside the sensors. Day 1: the organiser Tomas says he is looking at the power
// supply and, that evening, the battery bank; nobody takes the warming kitchen fridge. Day 2
// morning: the assembly agrees to share water at 30 L a person a day, and use stays under it (about
// 21 L: the holed north tank is isolated); it tells the neighbours what Ashgrove needs: drinking
// water and hands for the north tank. That afternoon Millbrook offers a repair crew and water, and
// the prompt points out where the offer meets the need. Day 2 evening: Tomas has held the battery
// bank for more than a day, the prompt asks who can take over, and Ines does until the sun is back.
// Day 4: Millbrook's crew patches the north tank and its water reaches the school kitchen; Millbrook
// withdraws the offer it has kept, and Ashgrove says it needs nothing more. That evening the
// assembly stretches the water to 17 L a person a day; use stays near 21 L, and half a day after the
// plan's first full day the prompt asks whether it still fits. Day 7 the pump is back, the
// all-clear follows with its recovery questions, and the record is kept.
import type { AssemblyPrompt } from '../../core/types.ts';

/** The part of the assembly the story uses: what the API calls. */
export interface StoryAssembly {
  prompts(): AssemblyPrompt[];
  addDecision(id: string, body: Record<string, unknown>): unknown;
  take(id: string, item: string, body: Record<string, unknown>): unknown;
  release(id: string, item: string, body: Record<string, unknown>): unknown;
  addNote(id: string, note: { author: string; text: string }): unknown;
}

/** What a neighbouring village says on the federation at a step: an offer with what it counts, or that it is withdrawn. */
export type NeighbourNews = { offer: string; water_liters?: number; power_kwh?: number; freezer_liters?: number; hands?: number } | { withdrawn: true };

/** What the story acts through: the assembly and the federation as the API calls them, and the neighbours. */
export interface StoryWorld {
  assembly: StoryAssembly;
  /** what the assembly says the village needs from its neighbours (POST /api/federation/need) */
  need(body: Record<string, unknown>): unknown;
  /** a neighbouring village publishes its news on the federation; resolves once the village has heard it */
  neighbour(village: string, news: NeighbourNews): Promise<void>;
}

export interface StoryStep {
  /** seconds from the scenario's start */
  t: number;
  /** what happened, for the readable timeline */
  told: string;
  act(w: StoryWorld, prompt: string): unknown;
}

/**
 * A neighbouring village of the story, as the federation hears it: a member that publishes its
 * summary now and then and says what it offers at the story's steps. The storm passed it by, so
 * its figures stay steady.
 */
export interface StoryNeighbour {
  id: string;
  name: string;
  population: number;
  water_days_current: number;
  water_days_minimum: number;
  water_percent: number;
  power_hours_left: number;
  power_soc_percent: number;
}

export const MILLBROOK: StoryNeighbour = {
  id: 'millbrook',
  name: 'Millbrook',
  population: 240,
  water_days_current: 16.4,
  water_days_minimum: 27.8,
  water_percent: 83,
  power_hours_left: 41.5,
  power_soc_percent: 88,
};

/** The neighbours of the storm story. */
export const STORM_NEIGHBOURS: StoryNeighbour[] = [MILLBROOK];

const H = (day: number, hour: number) => (day * 24 + hour) * 3600;

export const STORM_STORY: StoryStep[] = [
  { t: H(1, 13), told: 'Tomas is looking at the power supply', act: (w, p) => w.assembly.take(p, 'power-supply', { by: 'Tomas' }) },
  { t: H(1, 20.25), told: 'Tomas is looking at the battery bank too', act: (w, p) => w.assembly.take(p, 'power-battery', { by: 'Tomas' }) },
  {
    t: H(2, 8),
    told: 'the morning assembly agrees to share water at 30 L a person a day',
    act: (w, p) =>
      w.assembly.addDecision(p, {
        text: 'Share water at 30 L a person a day until the spring pump is rebuilt; simpler meals from the school kitchen.',
        by: 'Morning assembly',
        plan: { water_lpd: 30 },
      }),
  },
  {
    t: H(2, 9),
    told: 'the assembly tells the neighbours that Ashgrove needs 3,000 L of drinking water and 4 people for the north tank repair',
    act: (w) => w.need({ need: 'drinking water for the school kitchen, and people for the north tank repair', water_liters: 3000, hands: 4 }),
  },
  {
    t: H(2, 15),
    told: 'Millbrook offers a repair crew and 5,000 L of water',
    act: (w) => w.neighbour('millbrook', { offer: 'a repair crew of 4 with tools, and 5,000 L of drinking water in containers', water_liters: 5000, hands: 4 }),
  },
  {
    t: H(2, 22),
    told: 'Ines takes over the battery bank so Tomas can rest',
    act: (w, p) => {
      w.assembly.take(p, 'power-battery', { by: 'Ines' });
      w.assembly.release(p, 'power-battery', { by: 'Tomas' });
    },
  },
  {
    t: H(3, 9),
    told: 'a note: Ines spoke with Millbrook on the radio',
    act: (w, p) =>
      w.assembly.addNote(p, {
        author: 'Ines',
        text: 'Spoke with Millbrook on the radio: their crew comes tomorrow morning with the water, and they ask nothing back.',
      }),
  },
  {
    t: H(3, 14),
    told: 'Ines is done with the battery bank: the sun is back and it charges',
    act: (w, p) => w.assembly.release(p, 'power-battery', { by: 'Ines' }),
  },
  {
    t: H(4, 11),
    told: "a note: Millbrook's crew patched the north tank",
    act: (w, p) =>
      w.assembly.addNote(p, { author: 'Repair crew', text: "Millbrook's crew patched the north tank; it can hold water again once the pump refills it." }),
  },
  {
    t: H(4, 15),
    told: "Millbrook's water has reached the school kitchen, and Millbrook withdraws its offer",
    act: (w) => w.neighbour('millbrook', { withdrawn: true }),
  },
  { t: H(4, 16), told: 'the assembly tells the neighbours that Ashgrove needs nothing more from them', act: (w) => w.need({ need: null }) },
  {
    t: H(4, 18),
    told: 'the assembly stretches the water to 17 L a person a day',
    act: (w, p) =>
      w.assembly.addDecision(p, {
        text: 'Stretch the water to 17 L a person a day: the spring pump needs three more days.',
        by: 'Evening assembly',
        plan: { water_lpd: 17 },
      }),
  },
];

/** Run the steps due by `seconds`; each runs once. Returns what was told, for the timeline. */
export async function runStory(steps: StoryStep[], w: StoryWorld, seconds: number, done: Set<StoryStep>): Promise<{ step: StoryStep; error: string | null }[]> {
  const out: { step: StoryStep; error: string | null }[] = [];
  for (const s of steps) {
    if (done.has(s) || s.t > seconds) continue;
    done.add(s);
    const open = w.assembly.prompts().find((p) => !p.exercise);
    try {
      if (!open) throw new Error('no prompt is open');
      await s.act(w, open.id);
      out.push({ step: s, error: null });
    } catch (err) {
      out.push({ step: s, error: (err as Error).message });
    }
  }
  return out;
}
