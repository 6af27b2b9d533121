// Needs beside offers, the pure parts: the wire format refuses what no village could need, the
// page's input is checked with a reason, the neighbour book keeps the newest need, and matching
// states facts both ways (whole and part of a need), marking old news with when it was heard.
import { describe, expect, it } from 'vitest';
import { sayIn } from '../../../core/i18n.ts';
import { checkText } from '../../../services/assembly/language.ts';
import { findMatches, quantitiesText, type MatchParty } from '../../../services/federation/match.ts';
import { NeighbourBook } from '../../../services/federation/neighbours.ts';
import { FederationInputError, cleanQuantities, needContent, offerContent, readNeed } from '../../../services/federation/own-news.ts';
import { decodeFed, FedPayloadError } from '../../../services/federation/topics.ts';
import { makeStatus } from './fixtures.ts';

const say = sayIn('en');
const T0 = Date.parse('2026-11-20T06:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const party = (village: string, over: Partial<MatchParty> = {}): MatchParty => ({
  village,
  name: village[0]!.toUpperCase() + village.slice(1),
  offer: null,
  need: null,
  stale: false,
  heard_at: iso(T0),
  ...over,
});

function refused(kind: 'need' | 'offer', body: unknown): string {
  try {
    decodeFed(kind, Buffer.from(JSON.stringify(body)));
  } catch (err) {
    if (err instanceof FedPayloadError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('the need on the wire', () => {
  const need = { v: 1, at: iso(T0), text: 'drinking water', water_liters: 1500, hands: 2 };

  it('takes a need with its quantities, and an empty one (text null)', () => {
    expect(decodeFed('need', Buffer.from(JSON.stringify(need))).body).toEqual(need);
    expect(decodeFed('need', Buffer.from(JSON.stringify({ v: 1, at: iso(T0), text: null }))).body).toEqual({ v: 1, at: iso(T0), text: null });
  });

  it('refuses needs and offers no village could have: too long, negative, huge, fractional people, not numbers', () => {
    expect(refused('need', { ...need, text: 'x'.repeat(501) })).toBe('bad_fields');
    expect(refused('need', { ...need, water_liters: -1 })).toBe('bad_fields');
    expect(refused('need', { ...need, water_liters: 1e9 })).toBe('bad_fields');
    expect(refused('need', { ...need, hands: 2.5 })).toBe('bad_fields');
    expect(refused('need', { ...need, power_kwh: '12' })).toBe('bad_fields');
    expect(refused('offer', { v: 1, at: iso(T0), text: 'water', freezer_liters: -3 })).toBe('bad_fields');
    // JSON's 1e400 is Infinity once parsed
    expect(() => decodeFed('need', Buffer.from(`{"v":1,"at":"${iso(T0)}","text":"x","power_kwh":1e400}`))).toThrow(FedPayloadError);
  });
});

describe("the village's own need and offer", () => {
  it('checks the figures a person typed, with the reason', () => {
    expect(cleanQuantities({ water_liters: 1500, hands: 0, power_kwh: null, freezer_liters: '' })).toEqual({ water_liters: 1500 });
    expect(() => cleanQuantities({ hands: 2.5 })).toThrow(/whole number/);
    expect(() => cleanQuantities({ water_liters: -1 })).toThrow(FederationInputError);
    expect(() => cleanQuantities({ power_kwh: Number.NaN })).toThrow(/not a number/);
  });

  it('keeps a need on one line, refuses figures without words, and clears with null', () => {
    expect(readNeed('  water\nfor the\tschool ', { water_liters: 10 }, iso(T0))).toEqual({
      text: 'water for the school',
      quantities: { water_liters: 10 },
      updated_at: iso(T0),
    });
    expect(() => readNeed('  ', { hands: 3 }, iso(T0))).toThrow(/a few words/);
    expect(readNeed(null, {}, iso(T0))).toBeNull();
    expect(needContent(null)).toEqual({ text: null });
  });

  it('the computed offer counts the water it shares; an edited one what the village said', () => {
    const policy = { population: 180, minimum_lpd: 15, margin_days: 7 };
    expect(offerContent(null, undefined, makeStatus('a', T0), policy)).toEqual({
      text: 'can share about 35,000 litres of water',
      withdrawn: false,
      source: 'computed',
      water_liters: 35_000,
    });
    const edited = { text: 'two water carts', withdrawn: false, updated_at: iso(T0), quantities: { water_liters: 2000 } };
    expect(offerContent(edited, undefined, makeStatus('a', T0), policy)).toEqual({
      text: 'two water carts',
      withdrawn: false,
      source: 'edited',
      water_liters: 2000,
    });
  });
});

describe("a neighbour's need in the book", () => {
  it('keeps the newest need, clears it with an empty payload, and shows it with its figures', () => {
    const book = new NeighbourBook('ashgrove');
    const f = { now: T0 + 1000, connected: true, linkDownAt: null, staleAfterMs: 600_000 };
    book.apply('birchwell', { kind: 'need', body: { v: 1, at: iso(T0), text: 'hands', hands: 4 } }, T0, false);
    // an older copy arriving late does not replace it
    book.apply('birchwell', { kind: 'need', body: { v: 1, at: iso(T0 - 60_000), text: 'old need', water_liters: 5 } }, T0 + 500, false);
    expect(book.view(f)[0]!.need).toEqual({ text: 'hands', quantities: { hands: 4 }, at: iso(T0) });
    book.apply('birchwell', { kind: 'need', body: { v: 1, at: iso(T0 + 100), text: null } }, T0 + 600, false);
    expect(book.view(f)[0]!.need).toBeNull();
    book.apply('birchwell', { kind: 'need', body: { v: 1, at: iso(T0 + 200), text: 'water', water_liters: 900 } }, T0 + 700, false);
    book.apply('birchwell', { kind: 'need', body: null }, T0 + 800, true);
    expect(book.view(f)[0]!.need).toBeNull();
  });
});

describe('where an offer could meet a need', () => {
  it('states the fact both ways, for each quantity both name, whole or part of the need', () => {
    const own = party('hillside', { offer: { hands: 3 }, need: { water_liters: 1500 } });
    const river = party('riverside', { offer: { water_liters: 2000, power_kwh: 5 }, need: { hands: 6 } });
    const m = findMatches(own, [river], say);
    expect(m.map((x) => x.text)).toEqual([
      'Riverside offers 2,000 L of water; Hillside has said it needs 1,500 L of water.',
      'Hillside offers the help of 3 people; Riverside has said it needs the help of 6 people.',
    ]);
    expect(m.map((x) => x.covers)).toEqual([true, false]);
    for (const x of m) expect(checkText('match', x.text)).toEqual([]);
  });

  it('says nothing where quantities differ in kind or are missing', () => {
    const own = party('hillside', { need: { freezer_liters: 300 } });
    expect(findMatches(own, [party('riverside', { offer: { water_liters: 2000 } }), party('meadow', { need: { hands: 2 } })], say)).toEqual([]);
    expect(findMatches(party('hillside'), [party('riverside', { offer: { water_liters: 10 } })], say)).toEqual([]);
  });

  it('marks old news with when it was heard, in the village zone', () => {
    const own = party('hillside', { need: { power_kwh: 12.5 } });
    const old = party('riverside', { offer: { power_kwh: 20 }, stale: true, heard_at: '2026-11-20T06:15:00Z' });
    const [m] = findMatches(own, [old], say, 'America/Lima');
    expect(m!.stale).toBe(true);
    expect(m!.text).toBe(
      'Riverside offers 20 kWh of stored power; Hillside has said it needs 12.5 kWh of stored power. This was last heard from Riverside 20 Nov 01:15 GMT-5 and may be out of date.',
    );
    expect(checkText('match', m!.text)).toEqual([]);
  });

  it('lists quantities in words', () => {
    expect(quantitiesText({ water_liters: 1500, freezer_liters: 200, hands: 1 }, say)).toBe(
      '1,500 L of water, 200 L of freezer space and the help of 1 person',
    );
    expect(quantitiesText({}, say)).toBe('');
  });
});
