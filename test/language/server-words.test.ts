// The server's texts in the village's language: the alert book's titles and details, the CAP
// message and the spoken announcement of a village whose config says `language: es` or `fr`,
// through the real alert book and assembly on a fake clock (times are the only thing faked).
import { describe, expect, it } from 'vitest';
import { fmt } from '../../core/format.ts';
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
