// Every text villagers read, in every language the village may choose: no key missing from a
// language file, no key there that nothing uses, the same {slots} as the English, and the same
// rule everywhere (inform and ask, never command; a suggestion is a question).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fill, LANGUAGE_DIR, languages, pageWords, sayIn, wordsOf } from '../../core/i18n.ts';
import { checkText } from '../../services/assembly/language.ts';
import { scanSources, slotsOf, type Use } from './scan.ts';

const uses = scanSources();
const english = new Map<string, Use>();
for (const u of uses) if (!english.has(u.key)) english.set(u.key, u);
const files = readdirSync(LANGUAGE_DIR).filter((f) => f.endsWith('.json'));
const translations = files.map((f) => ({ tag: f.slice(0, -5), words: JSON.parse(readFileSync(join(LANGUAGE_DIR, f), 'utf8')) as Record<string, unknown> }));
/** keys of texts that name the viewer's own action on a button ("Save"): a verb there is no order */
const controls = new Set(uses.filter((u) => u.control).map((u) => u.key));

describe('the village language files', () => {
  it('finds the texts in the sources (the scan itself works)', () => {
    // a few texts known to go through the language, one from each kind of source
    expect(english.get('page.level.ok')?.english).toBe('OK');
    expect(english.get('page.water.title')?.english).toBe('Water');
    expect(english.get('alert.water_low.title')?.english).toBe('Water reserve is low: {percent}% full');
    expect(english.get('cap.event.strain')?.english).toBe('Village reserves under strain');
    expect(english.size).toBeGreaterThan(100);
  });

  it('has one English text for each key', () => {
    const differ: string[] = [];
    for (const u of uses) {
      const first = english.get(u.key)!;
      if (first.english !== u.english) differ.push(`${u.key}: "${first.english}" (${first.where}) vs "${u.english}" (${u.where})`);
    }
    expect(differ).toEqual([]);
  });

  it('holds es and fr at least, each a flat object of texts', () => {
    expect(languages()).toEqual(expect.arrayContaining(['en', 'es', 'fr']));
    for (const { tag, words } of translations) {
      const notText = Object.entries(words).filter(([, v]) => typeof v !== 'string');
      expect(notText.map(([k]) => `${tag}: ${k}`)).toEqual([]);
    }
  });

  for (const { tag, words } of translations) {
    describe(`language/${tag}.json`, () => {
      it('has every key the code uses', () => {
        const missing = [...english.keys()].filter((k) => !(k in words)).map((k) => `${k}  (${english.get(k)!.where}: "${english.get(k)!.english}")`);
        expect(missing).toEqual([]);
      });
      it('has no key that no code uses', () => {
        expect(Object.keys(words).filter((k) => !english.has(k))).toEqual([]);
      });
      it('uses the same {slots} as the English', () => {
        const differ = Object.entries(words)
          .filter(([k, v]) => english.has(k) && typeof v === 'string')
          .filter(([k, v]) => slotsOf(v as string).join() !== slotsOf(english.get(k)!.english).join())
          .map(([k, v]) => `${k}: {${slotsOf(english.get(k)!.english).join('},{')}} vs "${v}"`);
        expect(differ).toEqual([]);
      });
      it('informs and asks, never commands', () => {
        const problems = Object.entries(words)
          .filter(([k, v]) => english.has(k) && !controls.has(k) && typeof v === 'string')
          .flatMap(([k, v]) => checkText(k, v as string, tag))
          .map((p) => `${p.where}: ${p.problem}`);
        expect(problems).toEqual([]);
      });
    });
  }

  it('keeps the same rule in English', () => {
    const problems = [...english.values()]
      .filter((u) => !controls.has(u.key))
      .flatMap((u) => checkText(u.key, u.english))
      .map((p) => `${p.where}: ${p.problem}`);
    expect(problems).toEqual([]);
  });
});

describe('the language rule in each language', () => {
  it('finds orders in Spanish and French, and lets information and questions through', () => {
    expect(checkText('x', 'Todos deben hervir el agua.', 'es').length).toBeGreaterThan(0);
    expect(checkText('x', 'Es obligatorio ahorrar agua.', 'es').length).toBeGreaterThan(0);
    expect(checkText('x', 'Hierva el agua antes de beberla.', 'es').length).toBeGreaterThan(0);
    expect(checkText('x', 'Deberíamos racionar el agua.', 'es').length).toBeGreaterThan(0);
    expect(checkText('x', '¿Deberíamos racionar el agua?', 'es')).toEqual([]);
    expect(checkText('x', 'El depósito norte pierde agua.', 'es')).toEqual([]);
    expect(checkText('x', 'Il faut économiser l’eau.', 'fr').length).toBeGreaterThan(0);
    expect(checkText('x', 'Fermez la vanne immédiatement.', 'fr').length).toBeGreaterThan(0);
    expect(checkText('x', 'Nous devrions rationner l’eau.', 'fr').length).toBeGreaterThan(0);
    expect(checkText('x', 'Devrions-nous rationner l’eau ?', 'fr')).toEqual([]);
    expect(checkText('x', 'La citerne nord perd de l’eau.', 'fr')).toEqual([]);
    expect(checkText('x', 'N’oubliez pas la réunion.', 'fr').length).toBeGreaterThan(0);
    // English keeps its own words
    expect(checkText('x', 'Everyone must boil water.').length).toBeGreaterThan(0);
  });
});

describe('say() and the page words', () => {
  it('says a text in the village language with its slots, English when a key is missing', () => {
    const key = 'alert.water_low.title';
    const es = wordsOf('es')[key];
    expect(typeof es).toBe('string');
    expect(sayIn('es')(key, 'Water reserve is low: {percent}% full', { percent: 12 })).toBe(fill(es!, { percent: 12 }));
    expect(sayIn('es-MX')(key, 'x {percent}', { percent: 12 })).toBe(fill(es!, { percent: 12 }));
    expect(sayIn('en')(key, 'Water reserve is low: {percent}% full', { percent: 12 })).toBe('Water reserve is low: 12% full');
    expect(sayIn('es')('no.such.key', 'Only in English {x}', { x: 1 })).toBe('Only in English 1');
    // a language tend does not have reads English, and the page is told there is none
    expect(sayIn('de')(key, 'Water reserve is low: {percent}% full', { percent: 3 })).toBe('Water reserve is low: 3% full');
    expect(pageWords('de')).toBeNull();
    expect(pageWords('en')).toEqual({});
  });

  it('writes the figures and times in a slot the language’s way; English keeps them', () => {
    const text = '{n} L on {time}, {x}';
    const slots = { n: '40,000', time: '26 Nov 03:27 UTC', x: '6.5' };
    expect(sayIn('en')('no.such.key', text, slots)).toBe('40,000 L on 26 Nov 03:27 UTC, 6.5');
    expect(sayIn('es')('no.such.key', text, slots)).toBe('40.000 L on 26 nov 03:27 UTC, 6,5');
    expect(sayIn('fr')('no.such.key', text, { ...slots, n: 1234.5 })).toBe('1\u202f234,5 L on 26 nov. 03:27 UTC, 6,5');
    // a name that only looks a little like a number stays as it is
    expect(sayIn('es')('no.such.key', '{a} {b}', { a: 'Tank 2', b: '1.2.3' })).toBe('Tank 2 1.2.3');
  });
});
