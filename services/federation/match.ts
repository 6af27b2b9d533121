// Where a neighbour's offer could meet our need, or our offer a neighbour's: pointed out to both
// villages as a fact ("Riverside offers 2,000 L of water; Hillside has said it needs 1,500 L of
// water."), never as advice and never as a transfer. Only counted quantities are compared (the
// words of an offer or a need are the village's own and are not read for figures); an offer that
// covers part of a need is pointed out too, with both figures, for the assembly to weigh. Pure.
import { fmt, shortTime } from '../../core/format.ts';
import type { Say } from '../../core/i18n.ts';
import { QUANTITY_KINDS, type QuantityKind, type Quantities } from './topics.ts';

/** One village as matching sees it: what its offer and its need count. */
export interface MatchParty {
  village: string;
  /** the name people read (the summary's name, else the id) */
  name: string;
  offer: Quantities | null;
  need: Quantities | null;
  /** old news (our link down, or not heard lately): the fact says when it was heard */
  stale: boolean;
  heard_at: string | null;
}

export interface NeedMatch {
  offered_by: string;
  needed_by: string;
  what: QuantityKind;
  offered: number;
  needed: number;
  /** the offer covers the whole need */
  covers: boolean;
  /** one side's news is old */
  stale: boolean;
  /** the fact, in the village's language */
  text: string;
}

/** "2,000 L of water", "the help of 4 people" */
export function amountText(what: QuantityKind, n: number, say: Say): string {
  const v = fmt(n, what === 'power_kwh' ? 1 : 0);
  switch (what) {
    case 'water_liters':
      return say('federation.amount.water', '{n} L of water', { n: v });
    case 'power_kwh':
      return say('federation.amount.power', '{n} kWh of stored power', { n: v });
    case 'freezer_liters':
      return say('federation.amount.freezer', '{n} L of freezer space', { n: v });
    case 'hands':
      return n === 1 ? say('federation.amount.hands_one', 'the help of 1 person') : say('federation.amount.hands', 'the help of {n} people', { n: v });
  }
}

/** A quantity list in words: "1,500 L of water and the help of 4 people". */
export function quantitiesText(q: Quantities, say: Say): string {
  const parts = QUANTITY_KINDS.filter((k) => (q[k] ?? 0) > 0).map((k) => amountText(k, q[k]!, say));
  if (parts.length <= 1) return parts.join('');
  return say('federation.list', '{first} and {last}', { first: parts.slice(0, -1).join(', '), last: parts.at(-1)! });
}

/**
 * The matches between our village and each neighbour, both ways, ordered as the neighbours are.
 * `timeZone`: stale facts say when they were heard, in the village's zone.
 */
export function findMatches(own: MatchParty, neighbours: MatchParty[], say: Say, timeZone = 'UTC'): NeedMatch[] {
  const out: NeedMatch[] = [];
  for (const n of neighbours) {
    if (n.village === own.village) continue;
    out.push(...pair(n, own, say, timeZone), ...pair(own, n, say, timeZone));
  }
  return out;
}

function pair(offerer: MatchParty, needer: MatchParty, say: Say, timeZone: string): NeedMatch[] {
  if (!offerer.offer || !needer.need) return [];
  const out: NeedMatch[] = [];
  for (const what of QUANTITY_KINDS) {
    const offered = offerer.offer[what] ?? 0;
    const needed = needer.need[what] ?? 0;
    if (!(offered > 0 && needed > 0)) continue;
    let text = say('federation.match', '{offerer} offers {offered}; {needer} has said it needs {needed}.', {
      offerer: offerer.name,
      offered: amountText(what, offered, say),
      needer: needer.name,
      needed: amountText(what, needed, say),
    });
    // old news stays a fact about what was said, with when
    for (const side of [offerer, needer]) {
      if (side.stale)
        text += ` ${say('federation.match.old', 'This was last heard from {village} {time} and may be out of date.', {
          village: side.name,
          time: side.heard_at ? shortTime(side.heard_at, timeZone) : '?',
        })}`;
    }
    out.push({
      offered_by: offerer.village,
      needed_by: needer.village,
      what,
      offered,
      needed,
      covers: offered >= needed,
      stale: offerer.stale || needer.stale,
      text,
    });
  }
  return out;
}
