// Pure logic on a fake clock: the options with neighbours' water offers, and following a plan
// (when use counts as well above it, and for how long).
import { describe, expect, it } from 'vitest';
import { sayIn } from '../../../core/i18n.ts';
import type { NeighbourOffer, PlanInForce, ReserveStatus } from '../../../core/types.ts';
import { buildOptions, offeredLiters } from '../../../services/assembly/options.ts';
import { checkText } from '../../../services/assembly/language.ts';
import { PlanFollower } from '../../../services/reserve/plan.ts';
import { demoConfig } from '../../helpers/village.ts';

const HOUR = 3600_000;
const T0 = Date.parse('2026-11-24T08:00:00Z');

function figures(daily: number | null, liters = 36_000, load = 2000): Pick<ReserveStatus, 'water' | 'power' | 'cold' | 'village'> {
  return {
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    water: {
      liters,
      capacity_liters: 42_000,
      percent: 85,
      draw_lph: 0,
      days_left_current: null,
      days_left_minimum: liters / 2700,
      daily_use_liters: daily,
      status: 'ok',
      tanks: [],
    },
    power: {
      soc_percent: 50,
      stored_kwh: 30,
      usable_kwh: 24,
      load_w: load,
      solar_w: 0,
      net_w: -load,
      hours_left: 12,
      voltage_v: 51,
      status: 'ok',
      stale: false,
    },
    cold: {
      status: 'critical',
      units: [
        {
          id: 'fridge-kitchen',
          name: 'Kitchen fridge',
          temp_c: 9,
          safe_max_c: 5,
          minutes_above_safe: 40,
          door_open: null,
          status: 'critical',
          last_seen: null,
          stale: false,
        },
        {
          id: 'freezer',
          name: 'Community freezer',
          temp_c: -18,
          safe_max_c: -15,
          minutes_above_safe: 0,
          door_open: false,
          status: 'ok',
          last_seen: null,
          stale: false,
        },
        {
          id: 'fridge-clinic',
          name: 'Clinic fridge',
          temp_c: 4,
          safe_max_c: 8,
          minutes_above_safe: 0,
          door_open: null,
          status: 'ok',
          last_seen: null,
          stale: false,
        },
      ],
    },
  };
}

describe('options', () => {
  it('adds what neighbours offer in litres, names the cold units that could take food, and states only facts', () => {
    const config = demoConfig();
    config.assembly.cold_spare_l = { freezer: 120 };
    const offers: NeighbourOffer[] = [
      { village: 'millbrook', offer: 'A tanker of 12,000 L of water on Thursday', heard_at: new Date(T0).toISOString() },
      { village: 'fernhill', offer: 'Two people for repairs', heard_at: new Date(T0).toISOString() },
    ];
    expect(offeredLiters(offers[0]!)).toBe(12_000);
    expect(offeredLiters(offers[1]!)).toBe(0);
    expect(offeredLiters({ ...offers[1]!, quantities: { water_liters: 5000 } } as NeighbourOffer)).toBe(5000);
    const o = buildOptions({ config, status: figures(5400), neighbours: offers, now: T0, say: sayIn('en') });
    // the village's own use (5,400 L a day = 30 L a person) is the same as the 30 L level: shown once
    expect(o.water.levels.map((l) => [l.lpd, l.basis])).toEqual([
      [30, 'current'],
      [50, 'level'],
      [20, 'level'],
      [15, 'minimum'],
    ]);
    const at20 = o.water.levels.find((l) => l.lpd === 20)!;
    expect(at20.days).toBe(10);
    expect(at20.days_with_offers).toBe(13.3);
    expect(at20.text).toBe('At 20 L a person a day the water lasts 10 days; with the 12,000 L neighbours offer, 13.3 days.');
    expect(o.cold.failing).toEqual(['Kitchen fridge']);
    expect(o.cold.units.map((u) => u.text)).toEqual([
      'Community freezer holds -18 °C (safe up to -15 °C) with about 120 L of spare room, as recorded.',
      'Clinic fridge holds 4 °C (safe up to 8 °C); how much room it has is not recorded.',
    ]);
    for (const t of o.texts) expect(checkText('option', t)).toEqual([]);
  });
});

describe('following a plan', () => {
  const plan: PlanInForce = { prompt_id: 'prompt-1', decision_id: 'decision-1', since: new Date(T0).toISOString(), water_lpd: 20 };

  it('judges water use only once the last 24 h lie within the plan, and says since when it has been well above', () => {
    const f = new PlanFollower();
    // the day before the plan weighs in the first 24 h: not judged, however high
    let s = f.follow(plan, figures(180 * 40), T0 + 23 * HOUR)!;
    expect(s).toMatchObject({ water_lpd: 20, actual_lpd: 40, days_left_plan: 10, water_above_since: null });
    s = f.follow(plan, figures(180 * 26), T0 + 25 * HOUR)!;
    expect(s.water_above_since).toBe(new Date(T0 + 25 * HOUR).toISOString());
    s = f.follow(plan, figures(180 * 26), T0 + 40 * HOUR)!;
    expect(s.water_above_since).toBe(new Date(T0 + 25 * HOUR).toISOString());
    // within 15% of the plan is not "well above": the spell ends
    s = f.follow(plan, figures(180 * 22), T0 + 41 * HOUR)!;
    expect(s.water_above_since).toBeNull();
    // a new decision starts afresh
    const next = { ...plan, decision_id: 'decision-2', since: new Date(T0 + 41 * HOUR).toISOString() };
    expect(f.follow(next, figures(180 * 26), T0 + 42 * HOUR)!.water_above_since).toBeNull();
    expect(f.follow(null, figures(180 * 26), T0 + 43 * HOUR)).toBeUndefined();
  });

  it('smooths the load, so an evening peak is not a strayed power plan', () => {
    const f = new PlanFollower();
    const p: PlanInForce = { ...plan, water_lpd: undefined, load_w: 1500 };
    let s = f.follow(p, figures(null, 36_000, 1400), T0)!;
    expect(s).toMatchObject({ water_lpd: null, load_w: 1500, actual_load_w: 1400, hours_left_plan: 16 });
    s = f.follow(p, figures(null, 36_000, 3000), T0 + 4 * HOUR)!;
    // a jump in the load moves the smoothed load only part of the way
    expect(s.actual_load_w).toBeGreaterThan(1400);
    expect(s.actual_load_w).toBeLessThan(3000);
  });
});
