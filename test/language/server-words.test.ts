// The server's texts in the village's language: the alert book's titles and details, the CAP
// message and the spoken announcement of a village whose config says `language: es` or `fr`,
// through the real alert book and assembly on a fake clock (times are the only thing faked).
import { describe, expect, it } from 'vitest';
import { fmt } from '../../core/format.ts';
import type { AssemblyPrompt } from '../../core/types.ts';
import { sayIn } from '../../core/i18n.ts';
import { speechText, voiceFor } from '../../services/assembly/speech.ts';
import { checkText } from '../../services/assembly/language.ts';
import { FakeClock, World, worldConfig } from '../services/alerts/world.ts';
import { harness, type Harness, MIN } from '../services/alerts/harness.ts';

function village(language: string): Harness {
  const config = worldConfig();
  config.village.language = language;
  const clock = new FakeClock();
  return harness(undefined, { clock, world: new World(config, clock) });
}

/** a storm, then the north tank losing water fast: a crisis with a prompt */
function stormWithLeak(h: Harness): void {
  h.run(30 * MIN, 5 * MIN);
  h.run(30 * MIN, 5 * MIN, (w) => {
    w.tendency = -6.5;
    w.gust = 26;
    w.pressure = 995;
  });
  h.run(60 * MIN, 5 * MIN, (w) => {
    w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
  });
}

describe('alerts, CAP and speech in the village language', () => {
  for (const [lang, storm, leak, event] of [
    ['es', 'Aviso de tormenta', 'pierde agua deprisa', 'Reservas del pueblo bajo presión'],
    ['fr', 'Alerte tempête', 'perd de l’eau vite', 'Réserves du village sous tension'],
  ] as const) {
    it(`says the alerts in ${lang}, informing and asking, never commanding`, () => {
      const h = village(lang);
      stormWithLeak(h);
      const alerts = h.alerting.alerts();
      const stormAlert = alerts.find((a) => a.rule === 'storm')!;
      const drop = alerts.find((a) => a.rule === 'tank_drop')!;
      expect(stormAlert.title.startsWith(storm)).toBe(true);
      expect(drop.title).toContain(`North tank ${leak}`);
      // the same text English speaks, in the other language (numbers filled in as they are)
      const say = sayIn(lang);
      expect(drop.title).toBe(say('alert.tank_drop.title', '', { tank: 'North tank', lph: fmt(drop.value!) }));
      for (const a of alerts) {
        expect(checkText(`${a.id} title`, a.title, lang)).toEqual([]);
        expect(checkText(`${a.id} detail`, a.detail, lang)).toEqual([]);
      }
      // the CAP message of the prompt the crisis opened
      const prompt = h.alerting.prompts()[0]!;
      const cap = h.alerting.cap(prompt.id);
      expect(cap).toContain(`<language>${lang}</language>`);
      expect(cap).toContain(`<event>${event}</event>`);
      expect(cap).toContain(say('cap.damaged', 'Damaged'));
      // the loudspeaker: the same words, and a voice of the language
      const spoken = speechText(prompt, 'UTC', lang);
      expect(spoken).toContain(say('speech.questions', 'Questions for the assembly: {questions}', { questions: '' }).trim());
      expect(voiceFor(lang)).toBe(lang);
    });
  }

  // English that must not be left in a prompt read in another language (the village's own names,
  // "North tank", "Kitchen fridge", "Ashgrove", are its own and stay as written)
  const ENGLISH = [
    ' the ',
    'tank is',
    'Who can',
    'Who is able',
    'would the assembly',
    'losing about',
    'hours left',
    'at minimum use',
    'charged',
    'reporting',
    'an account for',
    'Exercise',
    'Water:',
    'Sensors:',
    ' and ',
    'since about',
    'practice',
  ];
  const textsOf = (p: AssemblyPrompt) => [
    p.headline,
    ...p.situation.map((x) => x.text),
    ...p.damaged,
    ...p.working,
    ...p.urgent,
    ...p.can_wait,
    ...p.questions,
    ...(p.reserves.includes_stale ?? []),
  ];

  for (const [lang, crisis, question] of [
    ['es', 'un resumen para la asamblea', '¿Quién puede hacer un turno'],
    ['fr', 'un état des lieux pour l’assemblée', 'Qui peut prendre un tour'],
  ] as const) {
    it(`tells a crisis prompt (storm, tank loss, warm fridge) and an exercise in ${lang}, asking, never commanding`, () => {
      const h = village(lang);
      const say = sayIn(lang);
      h.run(30 * MIN, 5 * MIN);
      h.run(30 * MIN, 5 * MIN, (w) => {
        w.tendency = -6.5;
        w.gust = 26;
        w.pressure = 995;
        w.fridge = 9;
      });
      h.run(60 * MIN, 5 * MIN, (w) => {
        w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
      });
      const prompt = h.alerting.prompts().find((p) => !p.exercise)!;
      const rules = new Set(h.alerting.alerts().map((a) => a.rule));
      expect(rules).toEqual(new Set(['storm', 'tank_drop', 'cold_above_safe']));
      // the headline names the three troubles in the language, and every list is in it
      expect(prompt.headline).toContain(crisis);
      for (const what of ['storm', 'water_loss', 'cold_warming']) expect(prompt.headline).toContain(say(`assembly.what.${what}`, ''));
      expect(prompt.damaged.some((d) => d.startsWith('North tank: ') || d.startsWith('North tank : '))).toBe(true);
      expect(prompt.damaged.some((d) => d.startsWith('Kitchen fridge'))).toBe(true);
      expect(prompt.urgent.some((u) => u.startsWith('Kitchen fridge'))).toBe(true);
      expect(prompt.questions).toContainEqual(expect.stringContaining(question));
      expect(prompt.questions).toContain(say('assembly.question.storm', ''));
      expect(prompt.questions.some((q) => q.includes('North tank'))).toBe(true);
      expect(prompt.questions.some((q) => q.includes('Kitchen fridge'))).toBe(true);
      expect(prompt.working.length).toBeGreaterThan(0);
      for (const text of textsOf(prompt)) {
        for (const word of ENGLISH) expect(text, `"${word}" in: ${text}`).not.toContain(word);
        expect(checkText('prompt', text, lang)).toEqual([]);
      }
      // every question asks, in the language's way
      for (const q of prompt.questions) expect(q.trimEnd().endsWith('?'), q).toBe(true);
      // the CAP description carries the same words under the language's headings
      const cap = h.alerting.cap(prompt.id);
      expect(cap).toContain(say('cap.questions', 'Questions for the assembly'));
      expect(cap).toContain(prompt.damaged[0]!.replace(/&/g, '&amp;'));
      // the storm exercise: its practice alerts and its prompt in the language too
      h.run(120 * MIN, 5 * MIN, (w) => {
        w.tendency = 0;
        w.gust = 5;
        w.pressure = 1012;
        w.fridge = 3;
        w.liters.north = w.capacity.north! * 0.8;
      });
      expect(h.alerting.startDrill({ duration_s: 600 })).not.toBeNull();
      const drill = h.alerting.prompts().find((p) => p.exercise)!;
      expect(drill.headline.startsWith(say('assembly.exercise', 'Exercise: {text}', { text: '' }))).toBe(true);
      for (const a of h.alerting.alerts().filter((x) => x.exercise)) {
        for (const word of ENGLISH.filter((x) => x !== 'Exercise')) expect(a.title + a.detail).not.toContain(word);
        expect(checkText('drill', `${a.title}. ${a.detail}`, lang)).toEqual([]);
      }
      for (const text of textsOf(drill)) {
        for (const word of ENGLISH) expect(text, `"${word}" in: ${text}`).not.toContain(word);
        expect(checkText('exercise prompt', text, lang)).toEqual([]);
      }
      // the practice storm's first sentence says when it ends, even where a month is written "nov."
      expect(drill.situation[0]!.text).toMatch(/\d{2}:\d{2} UTC/);
      // its all-clear: what ended (the tank read back from its marked title, as in English) and the
      // recovery questions, in the language
      expect(h.assembly.stopDrill()).toBe(true);
      const ended = h.alerting.prompt(drill.id)!;
      expect(ended.status).toBe('closed');
      expect(ended.situation.map((x) => x.text)).toContain(`${say('assembly.resolved.storm', '')}.`);
      expect(ended.situation.map((x) => x.text)).toContain(
        `${say('assembly.resolved.tank_drop', '', { tank: say('assembly.exercise', '', { text: 'North tank' }) })}.`,
      );
      for (const text of textsOf(ended)) {
        for (const word of ENGLISH) expect(text, `"${word}" in: ${text}`).not.toContain(word);
        expect(checkText('all-clear', text, lang)).toEqual([]);
      }
      // the record of the exercise, as Markdown: its headings in the language too
      const record = h.assembly.recordMarkdown(drill.id);
      expect(record).toContain(`## ${say('assembly.record_md.seen', 'What was seen')}`);
      expect(record).not.toContain('What was seen');
      expect(record).not.toContain('Key figures');
    });
  }

  it('keeps English for an English village, and picks the voice by the language', () => {
    const h = village('en');
    stormWithLeak(h);
    const alerts = h.alerting.alerts();
    expect(alerts.find((a) => a.rule === 'storm')!.title).toMatch(/^Storm warning: pressure fell 6.5 hPa in 3 hours/);
    const cap = h.alerting.cap(h.alerting.prompts()[0]!.id);
    expect(cap).toContain('<language>en</language>');
    expect(cap).toContain('<event>Village reserves under strain</event>');
    expect(voiceFor('es-MX')).toBe('es');
    expect(voiceFor('en')).toBe('en');
  });
});
