// Volunteers, not assignments: a person says "I'm looking at it" for a damaged or urgent item of a
// prompt, and says when they let it go; everyone sees who holds what and since when. tend asks,
// never assigns: an item nobody has taken for some hours becomes a question ("Who can look at the
// North tank?"), and when the same one or two people have held items for more than a day, it asks
// who can take over from them, so they can rest. These questions stay in the village: prompts are
// not sent to the federation.
import { shortTime } from '../../core/format.ts';
import type { Say } from '../../core/i18n.ts';
import { NOTE_LIMITS } from '../../core/limits.ts';
import type { ItemHolder, PromptItem } from '../../core/types.ts';
import type { Storage } from '../storage.ts';

/** an item nobody has taken for this long becomes a question */
export const UNHELD_ASK_MS = 3 * 3600_000;
/** holding items for longer than this is a long stretch: the prompt asks who can take over */
export const REST_ASK_MS = 24 * 3600_000;

export interface Hold {
  prompt: string;
  item: string;
  /** the item's name when it was taken, for the record */
  name: string;
  by: string;
  since: string;
  until: string | null;
  /** how the hold ended: let go by the person, the item no longer listed, the prompt closed */
  ended: 'released' | 'done' | 'closed' | null;
}

export class VolunteerInputError extends Error {}

export function parseBy(body: Record<string, unknown>): string {
  const by = typeof body.by === 'string' ? body.by.replace(/[\u0000-\u001f\u007f]/g, ' ').trim() : '';
  if (!by) throw new VolunteerInputError('say who is looking at it: {"by": "a name or a group"}');
  if (by.length > NOTE_LIMITS.author) throw new VolunteerInputError(`by is too long (${by.length} characters, at most ${NOTE_LIMITS.author})`);
  return by;
}

export class Volunteers {
  private readonly holds: Hold[] = [];
  private dirty = new Set<Hold>();
  private inFlight = new Set<Hold>();
  private put: { run(...p: unknown[]): unknown } | null = null;

  constructor(private readonly storage: Storage) {}

  start(): void {
    const db = this.storage.db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS assembly_holds (prompt_id TEXT NOT NULL, item_id TEXT NOT NULL, name TEXT NOT NULL, by TEXT NOT NULL, since TEXT NOT NULL, until TEXT, ended TEXT, PRIMARY KEY (prompt_id, item_id, by, since))',
    );
    this.put = db.prepare('INSERT OR REPLACE INTO assembly_holds (prompt_id, item_id, name, by, since, until, ended) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of db.prepare('SELECT prompt_id, item_id, name, by, since, until, ended FROM assembly_holds ORDER BY since').all() as {
      prompt_id: string;
      item_id: string;
      name: string;
      by: string;
      since: string;
      until: string | null;
      ended: Hold['ended'];
    }[]) {
      this.holds.push({ prompt: r.prompt_id, item: r.item_id, name: r.name, by: r.by, since: r.since, until: r.until, ended: r.ended });
    }
    this.storage.register({ flush: () => this.flush(), rolledBack: () => this.rolledBack() });
  }

  /** Every hold of a prompt, ended ones too, oldest first (for the record). */
  all(prompt: string): Hold[] {
    return this.holds.filter((h) => h.prompt === prompt).map((h) => ({ ...h }));
  }

  holders(prompt: string, item: string): ItemHolder[] {
    return this.holds.filter((h) => h.prompt === prompt && h.item === item && h.until === null).map((h) => ({ by: h.by, since: h.since }));
  }

  /** false when this person already holds it */
  take(prompt: string, item: PromptItem, by: string, now: number): boolean {
    if (this.holds.some((h) => h.prompt === prompt && h.item === item.id && h.until === null && h.by.toLowerCase() === by.toLowerCase())) return false;
    const h: Hold = { prompt, item: item.id, name: item.name, by, since: new Date(now).toISOString(), until: null, ended: null };
    this.holds.push(h);
    this.dirty.add(h);
    return true;
  }

  /** false when this person did not hold it */
  release(prompt: string, item: string, by: string, now: number): boolean {
    const h = this.holds.find((x) => x.prompt === prompt && x.item === item && x.until === null && x.by.toLowerCase() === by.toLowerCase());
    if (!h) return false;
    this.end(h, now, 'released');
    return true;
  }

  /** End the holds of items no longer listed (or all of them when the prompt closes). */
  endMissing(prompt: string, listed: Set<string> | null, now: number): void {
    for (const h of this.holds) {
      if (h.prompt !== prompt || h.until !== null) continue;
      if (listed === null) this.end(h, now, 'closed');
      else if (!listed.has(h.item)) this.end(h, now, 'done');
    }
  }

  /** Since when nobody has held the item: the later of when it was listed and when its last hold ended; null while held. */
  freeSince(prompt: string, item: PromptItem): number | null {
    let since = Date.parse(item.listed_since);
    for (const h of this.holds) {
      if (h.prompt !== prompt || h.item !== item.id) continue;
      if (h.until === null) return null;
      since = Math.max(since, Date.parse(h.until));
    }
    return since;
  }

  /** Items nobody has taken for UNHELD_ASK_MS, each with since when. */
  unheld(prompt: string, items: PromptItem[], now: number): { item: PromptItem; since: number }[] {
    const out: { item: PromptItem; since: number }[] = [];
    for (const item of items) {
      const since = this.freeSince(prompt, item);
      if (since !== null && now - since >= UNHELD_ASK_MS) out.push({ item, since });
    }
    return out;
  }

  /** People holding items of this prompt without a break for more than REST_ASK_MS, with what they hold. */
  tired(prompt: string, now: number): { by: string; items: string[] }[] {
    const people = new Map<string, { since: number; items: string[] }>();
    for (const h of this.holds) {
      if (h.prompt !== prompt || h.until !== null) continue;
      const key = h.by.toLowerCase();
      const p = people.get(key) ?? { since: Infinity, items: [] };
      p.since = Math.min(p.since, Date.parse(h.since));
      p.items.push(h.name);
      people.set(key, p);
    }
    const tired: { by: string; items: string[] }[] = [];
    for (const [key, p] of people) {
      if (now - p.since > REST_ASK_MS) tired.push({ by: this.holds.find((h) => h.by.toLowerCase() === key)!.by, items: p.items });
    }
    return tired;
  }

  private end(h: Hold, now: number, why: NonNullable<Hold['ended']>): void {
    h.until = new Date(now).toISOString();
    h.ended = why;
    this.dirty.add(h);
  }

  private flush(): void {
    this.inFlight = this.dirty;
    this.dirty = new Set();
    for (const h of this.inFlight) this.put!.run(h.prompt, h.item, h.name, h.by, h.since, h.until, h.ended);
  }

  private rolledBack(): void {
    for (const h of this.inFlight) this.dirty.add(h);
    this.inFlight = new Set();
  }
}

/** The questions the volunteers' state raises, in the village's language; each ends with "?". */
export function volunteerQuestions(v: Volunteers, prompt: string, items: PromptItem[], now: number, say: Say, tz: string): string[] {
  const out: string[] = [];
  for (const { item, since } of v.unheld(prompt, items, now)) {
    out.push(
      say('assembly.volunteers.unheld', 'Nobody has said they are looking at the {item} since {time}: who can look at it?', {
        item: item.name,
        time: shortTime(since, tz),
      }),
    );
  }
  const tired = v.tired(prompt, now);
  // rest comes first: one or two people carrying the items for more than a day
  if (tired.length) {
    const slots = {
      names: listWords(
        tired.map((t) => t.by),
        say,
      ),
      items: listWords([...new Set(tired.flatMap((t) => t.items.map((item) => say('assembly.volunteers.the_item', 'the {item}', { item }))))], say),
    };
    out.push(
      tired.length === 1
        ? say('assembly.volunteers.rest_one', '{names} has been looking after {items} for more than a day: who can take over, so they can rest?', slots)
        : say('assembly.volunteers.rest', '{names} have been looking after {items} for more than a day: who can take over from them, so they can rest?', slots),
    );
  }
  return out;
}

/** "a, b and c" in the village's language */
function listWords(items: string[], say: Say): string {
  return items.length <= 1 ? items.join('') : say('assembly.list.and', '{first} and {last}', { first: items.slice(0, -1).join(', '), last: items.at(-1)! });
}
