// What the people of the storm scenario do with the assembly's tool (`tend simulate storm`), at
// simulated times, through the same calls the API makes: the founding text's fortnight as the
// village lives it beside the sensors. Day 1: the organiser Tomas says he is looking at the power
// supply and, that evening, the battery bank; nobody takes the warming kitchen fridge. Day 2
// morning: the assembly agrees to share water at 30 L a person a day, and use stays under it (about
// 21 L: the holed north tank is isolated). Day 2 evening: Tomas has held the battery bank for more
// than a day, the prompt asks who can take over, and Ines does until the sun is back. Day 4: a
// neighbour's crew patches the north tank, and the assembly stretches the water to 17 L a person a
// day; use stays near 21 L, and half a day after the plan's first full day the prompt asks whether
// it still fits. Day 7 the pump is back, the all-clear follows with its recovery questions, and the
// record is kept.
import type { AssemblyPrompt } from '../../core/types.ts';

/** The part of the assembly the story uses: what the API calls. */
export interface StoryAssembly {
  prompts(): AssemblyPrompt[];
  addDecision(id: string, body: Record<string, unknown>): unknown;
  take(id: string, item: string, body: Record<string, unknown>): unknown;
  release(id: string, item: string, body: Record<string, unknown>): unknown;
  addNote(id: string, note: { author: string; text: string }): unknown;
}

export interface StoryStep {
  /** seconds from the scenario's start */
  t: number;
  /** what happened, for the readable timeline */
  told: string;
  act(a: StoryAssembly, prompt: string): void;
}

const H = (day: number, hour: number) => (day * 24 + hour) * 3600;

export const STORM_STORY: StoryStep[] = [
  { t: H(1, 13), told: 'Tomas is looking at the power supply', act: (a, p) => a.take(p, 'power-supply', { by: 'Tomas' }) },
  { t: H(1, 20.25), told: 'Tomas is looking at the battery bank too', act: (a, p) => a.take(p, 'power-battery', { by: 'Tomas' }) },
  {
    t: H(2, 8),
    told: 'the morning assembly agrees to share water at 30 L a person a day',
    act: (a, p) =>
      a.addDecision(p, {
        text: 'Share water at 30 L a person a day until the spring pump is rebuilt; simpler meals from the school kitchen.',
        by: 'Morning assembly',
        plan: { water_lpd: 30 },
      }),
  },
  {
    t: H(2, 22),
    told: 'Ines takes over the battery bank so Tomas can rest',
    act: (a, p) => {
      a.take(p, 'power-battery', { by: 'Ines' });
      a.release(p, 'power-battery', { by: 'Tomas' });
    },
  },
  { t: H(3, 14), told: 'Ines lets go of the battery bank: the sun is back and it charges', act: (a, p) => a.release(p, 'power-battery', { by: 'Ines' }) },
  {
    t: H(4, 11),
    told: "a note: Millbrook's crew patched the north tank",
    act: (a, p) => a.addNote(p, { author: 'Repair crew', text: "Millbrook's crew patched the north tank; it can hold water again once the pump refills it." }),
  },
  {
    t: H(4, 18),
    told: 'the assembly stretches the water to 17 L a person a day',
    act: (a, p) =>
      a.addDecision(p, {
        text: 'Stretch the water to 17 L a person a day: the spring pump needs three more days.',
        by: 'Evening assembly',
        plan: { water_lpd: 17 },
      }),
  },
];

/** Run the steps due by `seconds`; each runs once. Returns what was told, for the timeline. */
export function runStory(steps: StoryStep[], a: StoryAssembly, seconds: number, done: Set<StoryStep>): { step: StoryStep; error: string | null }[] {
  const out: { step: StoryStep; error: string | null }[] = [];
  for (const s of steps) {
    if (done.has(s) || s.t > seconds) continue;
    done.add(s);
    const open = a.prompts().find((p) => !p.exercise);
    try {
      if (!open) throw new Error('no prompt is open');
      s.act(a, open.id);
      out.push({ step: s, error: null });
    } catch (err) {
      out.push({ step: s, error: (err as Error).message });
    }
  }
  return out;
}
