// A village's water as it really behaves, for the water rules' tests: people draw water with
// peaks at breakfast and in the evening (each tank's neighbourhood a little earlier or later,
// each day a little more or less), pumps refill the tanks, sensors are noisy, and a leak can be
// added to any tank. It writes what the tank sensors would read into a World on each step.
import type { WorldVillage } from './world.ts';
import type { Harness } from './harness.ts';
import { localParts } from '../../../core/format.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface WaterVillageOptions {
  population: number;
  /** litres a person a day */
  lpd: number;
  tanks: number;
  /** each tank's share of the village's use (default equal) */
  shares?: number[];
  /** each tank's capacity in litres (default: 1.5 days of its share, at least 2,000 L) */
  capacities?: number[];
  timezone?: string;
  /** standard deviation of sensor noise, litres (default 25) */
  noise?: number;
  /**
   * how tanks are refilled: 'float' a pump switched on below 40–55% and off at 90%, any time of day;
   * 'night' a timed pump in the small hours (pumpHours, local) that stops when the tank is full
   */
  pump?: 'float' | 'night';
  pumpHours?: [number, number];
  /** besides: a short top-up every night (local hours from–to, at this many L/h) */
  topUp?: { from: number; to: number; lph: number };
  /** how often someone fills a bucket (10–20 L) at any hour, per tank and hour (default 0.1) */
  buckets?: number;
  seed?: number;
}

/**
 * How a day's use is spread over the local hours: a breakfast peak (04:30–09:30, highest at
 * 07:00), an evening peak (16:00–22:00), a little at noon, and a trickle at night.
 */
function useShape(hour: number): number {
  const bump = (h0: number, half: number) => {
    const d = Math.min(Math.abs(hour - h0), 24 - Math.abs(hour - h0));
    return d >= half ? 0 : Math.cos(((d / half) * Math.PI) / 2) ** 2;
  };
  return 0.05 + 1.6 * bump(7, 2.5) + 1.2 * bump(19, 3) + 0.5 * bump(13, 3);
}
const SHAPE_SUM = Array.from({ length: 2400 }, (_, i) => useShape(i / 100)).reduce((a, b) => a + b, 0) / 100;
/** the village's use at a local hour, as a fraction of its daily use per hour */
export const useShare = (hour: number): number => useShape(((hour % 24) + 24) % 24) / SHAPE_SUM;

function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tank {
  id: string;
  name: string;
  share: number;
  capacity: number;
  liters: number;
  /** this neighbourhood's peaks come this many hours earlier or later */
  offset: number;
  /** a float pump switches on below this fraction of the capacity */
  low: number;
  pumping: boolean;
}

export class WaterVillage {
  readonly tanks: Tank[];
  /** extra loss (L/h) of each tank at an instant: a leak */
  leak: (tank: number, t: number) => number = () => 0;
  readonly daily: number;
  private readonly rand: () => number;
  private readonly dayFactor = new Map<string, number>();

  constructor(readonly o: WaterVillageOptions) {
    this.rand = mulberry32(o.seed ?? 7);
    this.daily = o.population * o.lpd;
    const names = ['North tank', 'School tank', 'Hill cistern', 'Market tank', 'Clinic tank', 'River tank'];
    this.tanks = Array.from({ length: o.tanks }, (_, i) => {
      const share = o.shares?.[i] ?? 1 / o.tanks;
      const capacity = o.capacities?.[i] ?? Math.max(2000, Math.round(1.5 * this.daily * share));
      return {
        id: `t${i}`,
        name: names[i] ?? `Tank ${i}`,
        share,
        capacity,
        liters: capacity * (0.6 + 0.3 * this.rand()),
        offset: (this.rand() - 0.5) * 0.5,
        low: 0.4 + 0.15 * this.rand(),
        pumping: false,
      };
    });
  }

  /** the World's village: these tanks, this many people, this zone */
  get village(): WorldVillage {
    return {
      population: this.o.population,
      timezone: this.o.timezone ?? 'UTC',
      tanks: this.tanks.map((t) => ({ id: t.id, name: t.name, capacity: t.capacity })),
    };
  }

  /** a tank's mean use, L/h */
  meanLph(i: number): number {
    return (this.daily * this.tanks[i]!.share) / 24;
  }

  private gauss(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rand())) * Math.cos(2 * Math.PI * this.rand());
  }

  /** how much more or less water a tank's people use on a given day (±10%), and when (±15 min) */
  private day(i: number, t: number): { factor: number; shift: number } {
    const key = `${i}:${Math.floor(t / DAY)}`;
    let f = this.dayFactor.get(key);
    if (f === undefined) this.dayFactor.set(key, (f = this.rand()));
    return { factor: 0.9 + 0.2 * f, shift: (f - 0.5) * 0.5 };
  }

  /** Advance `dtMs` to `now` and set what each tank's sensor reads. */
  step(liters: Record<string, number>, now: number, dtMs: number): void {
    const d = localParts(now, this.o.timezone ?? 'UTC');
    const hour = d.hour + d.minute / 60;
    const dtH = dtMs / HOUR;
    const [pumpFrom, pumpTo] = this.o.pumpHours ?? [23, 1.5];
    this.tanks.forEach((k, i) => {
      const { factor, shift } = this.day(i, now);
      // households draw in bursts: the hour's use, unevenly over its minutes; now and then
      // someone fills a bucket at night
      const use = this.daily * k.share * useShare(hour - k.offset - shift) * factor * (0.4 + 1.2 * this.rand());
      k.liters -= (use + this.leak(i, now)) * dtH;
      if (this.rand() < (this.o.buckets ?? 0.1) * dtH) k.liters -= 10 + 10 * this.rand();
      if (this.o.pump === 'night') {
        // a timed pump puts back a little more than a day's use
        const hours = (pumpTo - pumpFrom + 24) % 24 || 24;
        const pumpRate = (1.3 * this.daily * k.share) / hours;
        const on = pumpFrom < pumpTo ? hour >= pumpFrom && hour < pumpTo : hour >= pumpFrom || hour < pumpTo;
        if (on) k.liters = Math.min(0.95 * k.capacity, k.liters + pumpRate * dtH);
      } else {
        if (k.liters < k.low * k.capacity) k.pumping = true;
        if (k.liters >= 0.9 * k.capacity) k.pumping = false;
        // a pump sized well above the peak draw (about 2.5 times it), as a borehole pump for a village tank is
        if (k.pumping) k.liters += Math.max(400, 10 * this.meanLph(i)) * dtH;
      }
      const top = this.o.topUp;
      if (top && hour >= top.from && hour < top.to) k.liters += top.lph * dtH;
      k.liters = Math.max(0, Math.min(k.capacity, k.liters));
      liters[k.id] = Math.max(0, Math.min(k.capacity, k.liters + (this.o.noise ?? 25) * this.gauss()));
    });
  }

  /** Run the harness for `ms`, a reading from every tank each `every` ms. */
  drive(h: Harness, ms: number, every: number): void {
    h.run(ms, every, (w) => this.step(w.liters, h.clock.now(), every));
  }
}
