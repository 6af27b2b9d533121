// The shed screen's and the sparklines' texts on the page inform and never command (the village's
// language rule): every t('page.tv.…' | 'page.spark.…' | 'page.tank.fill…', English) in app.js and
// data-t="page.tv.…" in index.html passes checkText.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAGE_DIR } from '../../../core/paths.ts';
import { checkText } from '../../../services/assembly/language.ts';

const AREAS = /^page\.(tv|spark|tank\.fill)/;

function pageTexts(): { key: string; text: string }[] {
  const js = readFileSync(join(PAGE_DIR, 'app.js'), 'utf8');
  const html = readFileSync(join(PAGE_DIR, 'index.html'), 'utf8');
  const out: { key: string; text: string }[] = [];
  for (const m of js.matchAll(/\bt[r]?\('([a-z0-9_.]+)',\s*'((?:[^'\\]|\\.)*)'/g)) out.push({ key: m[1]!, text: m[2]! });
  for (const m of html.matchAll(/data-t="([a-z0-9_.]+)">([^<]*)</g)) out.push({ key: m[1]!, text: m[2]! });
  return out.filter((x) => AREAS.test(x.key));
}

describe('shed screen and sparkline texts', () => {
  it('are found, and each informs or asks', () => {
    const texts = pageTexts();
    const keys = texts.map((x) => x.key);
    for (const k of ['page.tv.urgent_many', 'page.tv.pager_tanks', 'page.tv.open', 'page.spark.span_6h', 'page.spark.range', 'page.tank.fill']) {
      expect(keys, k).toContain(k);
    }
    const problems = texts.flatMap((x) => checkText(x.key, x.text));
    expect(problems).toEqual([]);
  });

  it('the check itself catches an order', () => {
    expect(checkText('sample', 'Check the tank now.')).not.toEqual([]);
  });
});
