// Notes are capped on the way out, never in storage: a prompt carries the latest NOTES_SHOWN with
// the count of all, every note stays in SQLite and survives a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { NOTES_SHOWN } from '../../../core/limits.ts';
import { tempDir } from '../../helpers/net.ts';
import { harness, MIN } from '../alerts/harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A village on its own storage with a storm and a leak: one open crisis prompt. */
function stormWithLeakPrompt() {
  const tmp = tempDir('tend-notes-');
  cleanups.push(tmp.remove);
  const h = harness(undefined, { dir: tmp.dir });
  h.run(30 * MIN, 5 * MIN);
  h.run(30 * MIN, 5 * MIN, (w) => {
    w.tendency = -6.5;
    w.gust = 26;
  });
  h.run(60 * MIN, 5 * MIN, (w) => {
    w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
  });
  return { h, id: h.alerting.prompts()[0]!.id };
}

describe('notes on a busy prompt', () => {
  it('carries the latest notes and the count; keeps all 1,557 in storage across a restart', () => {
    const { h, id } = stormWithLeakPrompt();
    for (let i = 1; i <= 1557; i++) h.alerting.addNote(id, { author: `crew ${i % 7}`, text: `note ${i}: ${'x'.repeat(200)}` });

    const p = h.alerting.prompts()[0]!;
    expect(p.notes).toHaveLength(NOTES_SHOWN);
    expect(p.notes_total).toBe(1557);
    expect(p.notes.at(-1)!.text).toMatch(/^note 1557:/);
    expect(p.notes[0]!.text).toMatch(new RegExp(`^note ${1557 - NOTES_SHOWN + 1}:`));
    // what goes to the page, SSE and the retained topic stays small
    expect(JSON.stringify(h.alerting.prompts()).length).toBeLessThan(30_000);
    // the last announcement carries the same capped list
    expect(h.prompts.at(-1)!.notes).toHaveLength(NOTES_SHOWN);
    const all = h.assembly.notes(id).map((n) => n.text);
    expect(all).toHaveLength(1557);
    expect(all[0]).toMatch(/^note 1:/);

    const h2 = h.restart();
    expect(h2.assembly.notes(id).map((n) => n.text)).toEqual(all);
    expect(h2.alerting.prompt(id)).toMatchObject({ notes_total: 1557 });
    expect(h2.alerting.prompt(id)!.notes).toHaveLength(NOTES_SHOWN);
    h2.assembly.stop();
    h2.storage.close();
  });

  it('a prompt stored with all its notes inside (before the cap) moves them into the notes table once', () => {
    const { h, id } = stormWithLeakPrompt();
    h.assembly.stop();
    // rewrite the stored prompt the way an older tend kept it: 30 notes in its JSON, no count, no notes table rows
    const old = h.alerting.prompt(id)!;
    delete old.notes_total;
    old.notes = Array.from({ length: 30 }, (_, i) => ({ at: new Date(h.clock.now()).toISOString(), author: 'Lea', text: `old note ${i + 1}` }));
    h.storage.db.prepare('UPDATE assembly_prompts SET json = ? WHERE id = ?').run(JSON.stringify(old), id);
    h.storage.db.exec('DELETE FROM assembly_notes');
    const h2 = h.restart();
    expect(h2.assembly.notes(id).map((n) => n.text)).toEqual(old.notes.map((n) => n.text));
    expect(h2.alerting.prompt(id)).toMatchObject({ notes_total: 30 });
    expect(h2.alerting.prompt(id)!.notes).toHaveLength(NOTES_SHOWN);
    const h3 = h2.restart();
    expect(h3.assembly.notes(id)).toHaveLength(30);
    h3.assembly.stop();
    h3.storage.close();
  });
});
