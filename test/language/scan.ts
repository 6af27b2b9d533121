// Find every text villagers read that goes through the village's language: say('key', 'English', …)
// on the server, t('key', 'English', …) (and tr, tEl) on the page, and data-t="key" in index.html.
// Used by keys.test.ts; `npx tsx test/language/scan.ts` prints them as JSON for translators.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['core', 'config', 'firmware-bridge', 'services', 'dashboards/src'];
const KEY = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

export interface Use {
  key: string;
  english: string;
  /** file:line */
  where: string;
  /** a button or other control: the viewer's own action, named by a verb ("Save") */
  control: boolean;
}

function files(dir: string, out: string[] = []): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|js|mjs|html)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** A string literal (or literals joined by +) at `i`; null when it is not static text. */
function literal(src: string, i: number): { text: string; end: number } | null {
  let text = '';
  let pos = i;
  for (;;) {
    while (/\s/.test(src[pos] ?? '')) pos++;
    const q = src[pos];
    if (q !== "'" && q !== '"' && q !== '`') return null;
    pos++;
    let s = '';
    while (pos < src.length && src[pos] !== q) {
      if (src[pos] === '\\') {
        const c = src[pos + 1] ?? '';
        s += c === 'n' ? '\n' : c === 't' ? '\t' : c;
        pos += 2;
        continue;
      }
      if (q === '`' && src[pos] === '$' && src[pos + 1] === '{') return null;
      s += src[pos];
      pos++;
    }
    text += s;
    pos++;
    let next = pos;
    while (/\s/.test(src[next] ?? '')) next++;
    if (src[next] === '+') {
      pos = next + 1;
      continue;
    }
    return { text, end: pos };
  }
}

const lineOf = (src: string, i: number) => src.slice(0, i).split('\n').length;

function scanCode(file: string, src: string, out: Use[]): void {
  const where = (i: number) => `${relative(ROOT, file)}:${lineOf(src, i)}`;
  // say('key', 'English'…), t('key', …), tr('key', …)
  for (const m of src.matchAll(/(?<![\w$])(say|t|tr)\(/g)) {
    const ke = keyThenEnglish(src, m.index + m[0].length);
    if (ke) out.push({ ...ke, where: where(m.index), control: false });
  }
  // tEl('tag', cls, 'key', 'English'): an element that follows a language switch
  for (const m of src.matchAll(/(?<![\w$])tEl\(\s*'(\w+)'\s*,\s*(?:null|'[^']*')\s*,/g)) {
    const ke = keyThenEnglish(src, m.index + m[0].length);
    if (ke) out.push({ ...ke, where: where(m.index), control: m[1] === 'button' });
  }
}

/** At `at`: a key literal, a comma, and the English literal after it; null when it is not that. */
function keyThenEnglish(src: string, at: number): { key: string; english: string } | null {
  const k = literal(src, at);
  if (!k || !KEY.test(k.text)) return null;
  let p = k.end;
  while (/\s/.test(src[p] ?? '')) p++;
  if (src[p] !== ',') return null;
  const e = literal(src, p + 1);
  return e ? { key: k.text, english: e.text } : null;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
const decode = (s: string) => s.replace(/&(\w+);/g, (all, n: string) => ENTITIES[n] ?? all);

function scanHtml(file: string, src: string, out: Use[]): void {
  const where = (i: number) => `${relative(ROOT, file)}:${lineOf(src, i)}`;
  for (const m of src.matchAll(/<(\w+)([^>]*)>([^<]*)/g)) {
    const [, tag, attrs, inner] = m as unknown as [string, string, string, string];
    const control = tag === 'button' || tag === 'option';
    const t = attrs.match(/\bdata-t="([^"]+)"/);
    if (t) out.push({ key: t[1]!, english: decode(inner), where: where(m.index), control });
    for (const a of attrs.matchAll(/\bdata-t-(placeholder|title|aria-label)="([^"]+)"/g)) {
      const value = attrs.match(new RegExp(`(?:^|\\s)${a[1]}="([^"]*)"`));
      out.push({ key: a[2]!, english: decode(value?.[1] ?? ''), where: where(m.index), control: false });
    }
  }
}

/** Every use of a key in the sources, in file order. */
export function scanSources(root = ROOT): Use[] {
  const out: Use[] = [];
  for (const dir of SOURCE_DIRS) {
    for (const file of files(join(root, dir))) {
      const src = readFileSync(file, 'utf8');
      if (file.endsWith('.html')) scanHtml(file, src, out);
      else scanCode(file, src, out);
    }
  }
  return out;
}

/** The {slot} names of a text, sorted. */
export function slotsOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const byKey: Record<string, string> = {};
  for (const u of scanSources()) byKey[u.key] ??= u.english;
  console.log(JSON.stringify(byKey, null, 2));
}
