// The village's words in the village's language (village.language, a BCP 47 tag).
// English is written in the code beside each key, so a text reads where it is used; every other
// language is one JSON file, language/<tag>.json: { "key": "text with {slot} names" }.
// A key missing from a language falls back to English (and a test lists what is missing).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Words = Record<string, string>;
export type Slots = Record<string, string | number>;
/** One village's way of saying things: say('alert.water_low.title', 'Water is low in {tank}', { tank }) */
export type Say = (key: string, english: string, slots?: Slots) => string;

export const LANGUAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'language');

const loaded = new Map<string, Words>();

/** The words of one language ('en' and unknown languages: none, English from the code). */
export function wordsOf(lang: string): Words {
  const base = lang.toLowerCase().split('-')[0] ?? 'en';
  let words = loaded.get(base);
  if (!words) {
    const file = join(LANGUAGE_DIR, `${base}.json`);
    words = base !== 'en' && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Words) : {};
    loaded.set(base, words);
  }
  return words;
}

/** Fill {slot} names; an unknown slot stays as written so a missing value is visible, not blank. */
export function fill(text: string, slots: Slots = {}): string {
  return text.replace(/\{(\w+)\}/g, (all, name: string) => (name in slots ? String(slots[name]) : all));
}

export function sayIn(lang: string): Say {
  const words = wordsOf(lang);
  return (key, english, slots) => fill(words[key] ?? english, slots);
}
