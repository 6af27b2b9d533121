// The village's words in the village's language (village.language, a BCP 47 tag).
// English is written in the code beside each key, so a text reads where it is used; every other
// language is one JSON file, language/<tag>.json: { "key": "text with {slot} names" }.
// A key missing from a language falls back to English (and a test lists what is missing).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Words = Record<string, string>;
export type Slots = Record<string, string | number>;
/** One village's way of saying things: say(key, 'Water is low in {tank}', { tank }), the key dotted and lowercase */
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

// one Say per language: the rules and the status ask for it on every judgement
const sayers = new Map<string, Say>();

export function sayIn(lang: string): Say {
  let say = sayers.get(lang);
  if (!say) {
    const words = wordsOf(lang);
    const local = localNumbers(lang);
    say = (key, english, slots) => fill(words[key] ?? english, local && slots ? local(slots) : slots);
    sayers.set(lang, say);
  }
  return say;
}

/** "4,000" or "6.5" as the figures code writes them (core/format.ts: en-GB), and nothing else */
const WRITTEN_NUMBER = /^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/;
/** "26 Nov 03:27 UTC" as shortTime() writes a time (core/format.ts) */
const WRITTEN_TIME = /^(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)( \d{2}:\d{2}.*)$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Numbers and times in a slot read the village's way: "4,000 L" is four litres to a Spanish
 * reader and "6.5" is a French typo, so figures the code formatted are written again in the
 * language's locale ("4000", "6,5"; "40.000" and "40 000"), and the month of a shortTime() in
 * its words ("26 nov 03:27 UTC"). English keeps them as they are.
 */
function localNumbers(lang: string): ((slots: Slots) => Slots) | null {
  const base = lang.toLowerCase().split('-')[0] ?? 'en';
  if (base === 'en') return null;
  const formats = new Map<number, Intl.NumberFormat>();
  const format = (n: number, digits: number) => {
    let f = formats.get(digits);
    if (!f) formats.set(digits, (f = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
    return f.format(n);
  };
  const month = new Intl.DateTimeFormat(lang, { month: 'short', timeZone: 'UTC' });
  const months = MONTHS.map((_, i) => month.format(Date.UTC(2026, i, 15)));
  return (slots) => {
    const out: Slots = {};
    for (const [k, v] of Object.entries(slots)) {
      if (typeof v === 'number') out[k] = Number.isFinite(v) ? format(v, Number.isInteger(v) ? 0 : Math.min(3, String(v).split('.')[1]?.length ?? 0)) : v;
      else if (WRITTEN_NUMBER.test(v)) out[k] = format(Number(v.replace(/,/g, '')), v.split('.')[1]?.length ?? 0);
      else out[k] = v.replace(WRITTEN_TIME, (_all, d: string, m: string, rest: string) => `${d} ${months[MONTHS.indexOf(m)]}${rest}`);
    }
    return out;
  };
}

/** The languages the village can be read in: English (built in) and every language/<tag>.json. */
export function languages(): string[] {
  let files: string[] = [];
  try {
    files = readdirSync(LANGUAGE_DIR)
      .filter((f) => /^[a-z]{2,3}\.json$/.test(f))
      .map((f) => f.slice(0, -5));
  } catch {
    /* no language folder: English only */
  }
  return ['en', ...files.filter((t) => t !== 'en').sort()];
}

/** A language's own name for itself ("español", "français"), for a viewer choosing one. */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames([tag], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The words the page needs for a tag: {} for English, null for a language tend does not have. */
export function pageWords(tag: string): Words | null {
  if (!languages().includes(tag.toLowerCase().split('-')[0] ?? '')) return null;
  return wordsOf(tag);
}
