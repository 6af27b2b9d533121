// The options before the assembly, as facts: what each choice would mean, computed from the live
// figures. Days of water at several litres a person a day (the village's own use, the configured
// levels, the minimum), with and without the water neighbours offer; hours of stored power at the
// current load and with known loads off; which cold units could take food from a failing one.
// Statements of fact only ("At 20 L a person a day the water lasts 2.0 days"): never advice, so
// nothing here ranks the choices or says which one to take.
import type { Config } from '../../config/schema.ts';
import { fmt } from '../../core/format.ts';
import type { Say } from '../../core/i18n.ts';
import type { ColdOption, NeighbourOffer, PowerOption, PromptOptions, ReserveStatus, WaterOption } from '../../core/types.ts';

export interface OptionsInput {
  config: Config;
  status: Pick<ReserveStatus, 'water' | 'power' | 'cold' | 'village'>;
  neighbours: NeighbourOffer[];
  now: number;
  say: Say;
}

/** Litres a neighbour offers: its counted quantity when it sends one, else a figure in its words ("12,000 L of water"). */
export function offeredLiters(n: NeighbourOffer): number {
  const q = (n as NeighbourOffer & { quantities?: { water_liters?: number } }).quantities?.water_liters;
  if (typeof q === 'number' && Number.isFinite(q) && q > 0) return q;
  const m = n.offer.match(/(\d[\d,]*(?:\.\d+)?)\s*(?:L|l|litres|liters)\b/);
  if (!m) return 0;
  const v = Number(m[1]!.replace(/,/g, ''));
  return Number.isFinite(v) && v > 0 ? v : 0;
}

const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

export function buildOptions(inp: OptionsInput): PromptOptions {
  const { config, status, say } = inp;
  const population = config.village.population;
  const liters = status.water.liters;
  const offered = inp.neighbours.reduce((sum, n) => sum + offeredLiters(n), 0);

  // water: the village's own use first, then the levels, then the minimum (each level once)
  const levels: WaterOption[] = [];
  const daily = status.water.daily_use_liters ?? null;
  const lasts = (lpd: number, extra = 0) => (liters === null ? null : round1((liters + extra) / (population * lpd)));
  const add = (lpd: number, basis: WaterOption['basis']) => {
    if (!(lpd > 0) || levels.some((l) => Math.abs(l.lpd - lpd) < 0.05)) return;
    const days = lasts(lpd);
    const withOffers = offered > 0 ? lasts(lpd, offered) : null;
    const slots = { lpd: fmt(lpd, 1), days: days === null ? '?' : fmt(days, 1), with: withOffers === null ? '' : fmt(withOffers, 1), offered: fmt(offered) };
    let text =
      basis === 'current'
        ? say('assembly.options.water_current', "At the village's use of the last day, about {lpd} L a person a day, the water lasts {days} days", slots)
        : basis === 'minimum'
          ? say('assembly.options.water_minimum', 'At the minimum of {lpd} L a person a day the water lasts {days} days', slots)
          : say('assembly.options.water_level', 'At {lpd} L a person a day the water lasts {days} days', slots);
    if (withOffers !== null) text += say('assembly.options.water_with_offers', '; with the {offered} L neighbours offer, {with} days', slots);
    levels.push({ lpd: Math.round(lpd * 10) / 10, basis, days, days_with_offers: withOffers, text: `${text}.` });
  };
  if (daily !== null && daily > 0) add(daily / population, 'current');
  for (const lpd of config.assembly.water_levels_lpd) add(lpd, lpd === config.village.minimum_water_lpd ? 'minimum' : 'level');
  add(config.village.minimum_water_lpd, 'minimum');

  // power: usable energy ÷ load, not counting solar (the cautious figure the status uses)
  const p = status.power;
  const choices: PowerOption[] = [];
  const hoursAt = (w: number) => (p.usable_kwh === null || !(w > 0) ? null : round1((p.usable_kwh * 1000) / w));
  if (p.load_w !== null && p.load_w > 0) {
    const h = hoursAt(p.load_w);
    const slots = { w: fmt(p.load_w), hours: h === null ? '?' : fmt(h, 1) };
    choices.push({
      off: [],
      load_w: Math.round(p.load_w),
      hours: h,
      text: `${say('assembly.options.power_current', 'At the current load of {w} W the stored power lasts about {hours} hours, not counting solar', slots)}.`,
    });
    const loads = config.assembly.loads.filter((l) => l.watts < p.load_w!);
    const offChoice = (names: string[], watts: number) => {
      const w = p.load_w! - watts;
      const hh = hoursAt(w);
      const s = { names: listWords(names, say), w: fmt(w), hours: hh === null ? '?' : fmt(hh, 1) };
      choices.push({
        off: names,
        load_w: Math.round(w),
        hours: hh,
        text: `${say('assembly.options.power_off', 'With the {names} off ({w} W) it lasts about {hours} hours', s)}.`,
      });
    };
    for (const l of loads) offChoice([l.name], l.watts);
    const all = loads.reduce((sum, l) => sum + l.watts, 0);
    if (loads.length > 1 && all < p.load_w)
      offChoice(
        loads.map((l) => l.name),
        all,
      );
  }

  // cold: a failing unit's food could go to a unit holding a safe temperature
  const failing = status.cold.units.filter(
    (u) => !u.stale && u.temp_c !== null && (u.temp_c > u.safe_max_c || u.status === 'critical' || u.status === 'strained'),
  );
  const units: ColdOption[] = [];
  if (failing.length) {
    for (const u of status.cold.units) {
      if (failing.includes(u)) continue;
      const spare = config.assembly.cold_spare_l[u.id] ?? null;
      const slots = { name: u.name, temp: u.temp_c === null ? '?' : fmt(u.temp_c, 1), safe: fmt(u.safe_max_c, 1), spare: spare === null ? '' : fmt(spare) };
      let text: string;
      if (u.stale || u.temp_c === null)
        text = say('assembly.options.cold_unknown', '{name}: no current reading, so whether it could take more food is not known', slots);
      else if (spare === null)
        text = say('assembly.options.cold_room_unknown', '{name} holds {temp} °C (safe up to {safe} °C); how much room it has is not recorded', slots);
      else text = say('assembly.options.cold_room', '{name} holds {temp} °C (safe up to {safe} °C) with about {spare} L of spare room, as recorded', slots);
      units.push({ unit: u.id, name: u.name, temp_c: u.temp_c, spare_l: spare, text: `${text}.` });
    }
    if (!units.length) {
      units.push({
        unit: '',
        name: '',
        temp_c: null,
        spare_l: null,
        text: `${say('assembly.options.cold_none', 'No other cold unit is known to the village')}.`,
      });
    }
  }

  return {
    at: new Date(inp.now).toISOString(),
    water: { liters: liters === null ? null : Math.round(liters), population, offered_liters: Math.round(offered), levels },
    power: { usable_kwh: p.usable_kwh, load_w: p.load_w, choices },
    cold: { failing: failing.map((u) => u.name), units },
    texts: [...levels.map((l) => l.text), ...choices.map((c) => c.text), ...units.map((u) => u.text)],
  };
}

/** "a, b and c" in the village's language */
function listWords(items: string[], say: Say): string {
  return items.length <= 1 ? items.join('') : say('assembly.list.and', '{first} and {last}', { first: items.slice(0, -1).join(', '), last: items.at(-1)! });
}
