// The language rule: inform and ask, never command; suggestions are questions.
import { describe, expect, it } from 'vitest';
import { checkPrompt, checkText, COMMAND_WORDS } from '../../../services/assembly/language.ts';
import type { AssemblyPrompt } from '../../../core/types.ts';

describe('language check', () => {
  it('flags every command word', () => {
    for (const w of COMMAND_WORDS) expect(checkText('t', `People ${w} the shed.`).length).toBeGreaterThan(0);
    expect(checkText('t', 'Report to the hall.')).not.toEqual([]);
    expect(checkText('t', 'You need to boil water.')).not.toEqual([]);
  });

  it('flags orders and suggestions that are not questions, and passes facts and questions', () => {
    expect(checkText('t', 'Boil drinking water.')).not.toEqual([]);
    expect(checkText('t', 'The village should ration water.')).not.toEqual([]);
    expect(checkText('t', 'Please stay indoors.')).not.toEqual([]);
    expect(checkText('t', 'Should the village share water at 15 L a person a day?')).toEqual([]);
    expect(checkText('t', 'North tank: 4,100 L (33%). Usable energy left: 12 kWh.')).toEqual([]);
    expect(checkText('t', 'Gusts up to 26 m/s; the mast is still standing.')).toEqual([]);
    // "mustard" is not "must"
    expect(checkText('t', 'The mustard crop was flattened.')).toEqual([]);
  });

  it('a question item has to ask', () => {
    const p = {
      id: 'p',
      headline: 'Ashgrove: storm',
      situation: [],
      damaged: [],
      working: [],
      urgent: [],
      can_wait: [],
      questions: ['Who can look at the north tank?', 'Ration water until Friday.'],
    } as unknown as AssemblyPrompt;
    const problems = checkPrompt(p);
    expect(problems.map((x) => x.where)).toEqual(['prompt p questions[1]', 'prompt p questions[1]']);
  });
});
