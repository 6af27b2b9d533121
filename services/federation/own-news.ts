// The village's own offer and need: what a person types on the page is checked here (one line,
// bounded, quantities finite and within QUANTITY_MAX), and the content each topic carries is
// chosen: an edited offer over the config's over the computed one; a need only when the
// assembly has said one.
import { computedOffer, type OfferPolicy } from './summary.ts';
import type { OwnNeed, OwnOffer } from './store.ts';
import { FED_LIMITS, QUANTITY_KINDS, QUANTITY_MAX, type FedNeed, type FedOffer, type Quantities } from './topics.ts';
import type { ReserveStatus } from '../../core/types.ts';

/** Bad input from the page (offer or need): a clear message for a 400 answer. */
export class FederationInputError extends Error {}

export type OfferContent = Omit<FedOffer, 'at' | 'v'>;
export type NeedContent = Omit<FedNeed, 'at' | 'v'>;

/** One line, no control characters: it is shown on other villages' pages and prompts. */
export function cleanLine(text: unknown, what: 'offer' | 'need'): string {
  if (typeof text !== 'string') throw new FederationInputError(`${what} text is not a string`);
  const clean = text
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const max = FED_LIMITS[what];
  if (clean.length > max) throw new FederationInputError(`${what} text is ${clean.length} characters; at most ${max}`);
  return clean;
}

/**
 * The quantities of a request body: each of water_liters, power_kwh, freezer_liters, hands may be
 * absent, null or a number from 0 to its bound (hands whole); 0 and null mean "not said".
 */
export function cleanQuantities(body: Record<string, unknown>): Quantities {
  const out: Quantities = {};
  for (const k of QUANTITY_KINDS) {
    const v = body[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FederationInputError(`${k} is not a number`);
    if (v < 0 || v > QUANTITY_MAX[k]) throw new FederationInputError(`${k} is ${v}; it is a number from 0 to ${QUANTITY_MAX[k].toLocaleString('en-US')}`);
    if (k === 'hands' && !Number.isInteger(v)) throw new FederationInputError(`hands is ${v}; it counts people, a whole number`);
    if (v > 0) out[k] = v;
  }
  return out;
}

/**
 * The village's edited offer from the page: a text replaces the computed one, `withdrawn`
 * publishes "no offer", and an empty text (not withdrawn) returns to the computed offer.
 */
export function readOffer(text: string | null, withdrawn: boolean, quantities: Quantities, at: string): OwnOffer | null {
  if (withdrawn) return { text: null, withdrawn: true, updated_at: at, quantities: {} };
  if (text === null || (typeof text === 'string' && text.trim() === '')) return null;
  return { text: cleanLine(text, 'offer'), withdrawn: false, updated_at: at, quantities };
}

/** The assembly's need: words (required; quantities alone say too little) and what it counts; null clears it. */
export function readNeed(text: string | null, quantities: Quantities, at: string): OwnNeed | null {
  if (text === null) return null;
  const clean = cleanLine(text, 'need');
  if (clean === '') {
    if (Object.keys(quantities).length) throw new FederationInputError('a need needs a few words beside its figures (what it is for)');
    return null;
  }
  return { text: clean, quantities, updated_at: at };
}

/** What the `offer` topic carries now. */
export function offerContent(own: OwnOffer | null, configured: string | undefined, status: ReserveStatus | null, policy: OfferPolicy): OfferContent {
  if (own?.withdrawn) return { text: null, withdrawn: true, source: 'edited' };
  if (own?.text) return { text: own.text, withdrawn: false, source: 'edited', ...own.quantities };
  if (configured) return { text: configured, withdrawn: false, source: 'config' };
  const c = status ? computedOffer(status, policy) : null;
  return c ? { text: c.text, withdrawn: false, source: 'computed', ...c.quantities } : { text: null, withdrawn: false, source: 'none' };
}

/** What the `need` topic carries now: text null says the village needs nothing from its neighbours. */
export function needContent(own: OwnNeed | null): NeedContent {
  return own ? { text: own.text, ...own.quantities } : { text: null };
}
