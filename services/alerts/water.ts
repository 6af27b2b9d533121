// The water rules that read a tank's readings over time (defaults in config/rules.ts):
//
// - tank_drop: a tank losing water several times faster than what is observed — what the
//   village's other tanks draw right now, scaled to what this tank usually serves, and its own
//   draw at this time on earlier days. All tanks falling together is a morning peak; one tank
//   falling alone, well above its sensor's noise, is a leak or damage. A rise is a refill.
// - night_flow: minimum night flow, the way water utilities find leaks. In the quiet hours of
//   the night (local time) almost nobody draws water, so each tank's fall then is measured, night
//   by night, with refills cut out; a fall clearly above the earlier nights', two nights running,
//   is a possible slow leak (a failed valve of ~18 L/h that a pump refill hides by day).
//
// What is learned lives in the rule memory (RuleMemory.tanks), which the alert book persists.
import { fmt, localParts } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';
import type { Severity, TankStatus } from '../../core/types.ts';
import { firstAfter, firstAtOrAfter, keepBeside } from './samples.ts';
import type { Condition, RuleInput, Sample, TankMemory } from './rule-types.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** a refill is a rise over this long, clearly above the sensor's noise */
const RISE_SPAN_MS = 30 * 60_000;
/** the minutes either side of a refill are left out too (a pump starting or stopping mid-way) */
const RISE_EDGE_MS = 5 * 60_000;
/** a gap longer than this between readings breaks a measured stretch */
const MAX_GAP_MS = 30 * 60_000;
/** "above the sensor's noise": this many standard errors */
const NOISE_SIGMAS = 3;
/** a rise is a refill when it is this many standard errors above what noise could make (it is tested every few minutes) */
const RISE_SIGMAS = 5;
/** a tank below this fraction of its capacity is empty: what it draws says nothing about use */
const EMPTY = 0.05;
/** judged nights kept per tank */
const KEEP_NIGHTS = 30;

export const newTankMemory = (): TankMemory => ({ recent: [], buckets: [], bucketStart: null, lastSeen: null });

const fresh = (t: TankStatus): boolean => !t.stale && t.liters !== null && t.last_seen !== null;

/** Take each tank's new reading into memory: the recent samples and the night being measured. */
export function observeTanks({ status, config, params, mem }: RuleInput): void {
  const windowMs = params.tank_drop.window_s * 1000;
  const nf = params.night_flow;
  for (const t of status.water.tanks) {
    const m = (mem.tanks[t.id] ??= newTankMemory());
    if (!fresh(t) || t.last_seen === m.lastSeen) continue;
    m.lastSeen = t.last_seen;
    const ts = Date.parse(t.last_seen!);
    if (ts - (m.recent.at(-1)?.t ?? -Infinity) >= 60_000) m.recent.push({ t: ts, v: t.liters! });
    const keepFrom = Math.min(ts - 2 * windowMs, m.bucketStart ?? ts);
    while (m.recent.length && m.recent[0]!.t < keepFrom) m.recent.shift();
    if (quiet(ts, config.village.timezone, nf.quiet_from_hour, nf.quiet_to_hour)) {
      const key = nightKey(ts, config.village.timezone, nf.quiet_to_hour);
      if (m.night && m.night.key !== key) closeNight(m, nf);
      m.night ??= { key, samples: [] };
      if (ts - (m.night.samples.at(-1)?.t ?? -Infinity) >= 60_000) m.night.samples.push({ t: ts, v: t.liters! });
    }
  }
}

// ---- a tank's draw from its readings, falls only

/** least-squares slope (L/h) through s[i..j] and its standard error for readings that scatter by `noise` litres; null with fewer than 3 */
function line(s: Sample[], i: number, j: number, noise: number): { slope: number; se: number } | null {
  const n = j - i + 1;
  if (n < 3) return null;
  let mt = 0;
  let mv = 0;
  for (let k = i; k <= j; k++) {
    mt += s[k]!.t / n;
    mv += s[k]!.v / n;
  }
  let sxx = 0;
  let sxy = 0;
  for (let k = i; k <= j; k++) {
    sxx += (s[k]!.t - mt) ** 2;
    sxy += (s[k]!.t - mt) * (s[k]!.v - mv);
  }
  if (sxx <= 0) return null;
  return { slope: (sxy / sxx) * HOUR, se: (noise / Math.sqrt(sxx)) * HOUR };
}

/**
 * How much one reading scatters (litres, one standard deviation), from the second differences
 * of successive readings (a steady draw or a refill cancels out of them) and their median (one
 * bucket or a pump starting hardly moves it).
 */
function noiseOf(s: Sample[]): number {
  const d: number[] = [];
  for (let i = 1; i + 1 < s.length; i++) d.push(Math.abs(s[i + 1]!.v - 2 * s[i]!.v + s[i - 1]!.v));
  return d.length ? median(d) / 0.6745 / Math.sqrt(6) : 0;
}

/**
 * Which samples were taken while the tank was refilled: people only take water out, so where
 * the level rises over the half hour around a sample, faster than refillMinLph and well above
 * what the sensor's noise could make (5 standard errors), a pump (or a tanker, or rain) was
 * running. A few minutes either side go too.
 */
function refilling(s: Sample[], refillMinLph: number): boolean[] {
  const noise = noiseOf(s);
  const rising = s.map(() => false);
  for (let k = 0, i = 0, j = 0; k < s.length; k++) {
    while (s[k]!.t - s[i]!.t > RISE_SPAN_MS / 2) i++;
    while (j + 1 < s.length && s[j + 1]!.t - s[k]!.t <= RISE_SPAN_MS / 2) j++;
    const l = line(s, i, j, noise);
    rising[k] = !!l && l.slope > refillMinLph && l.slope > RISE_SIGMAS * l.se;
  }
  // and the samples within RISE_EDGE_MS of a rising one
  const out = s.map(() => false);
  for (let k = 0, i = 0; k < s.length; k++) {
    if (!rising[k]) continue;
    while (s[k]!.t - s[i]!.t > RISE_EDGE_MS) i++;
    for (let j = i; j < s.length && s[j]!.t - s[k]!.t <= RISE_EDGE_MS; j++) out[j] = true;
  }
  return out;
}

/**
 * What is worked out from a tank's recent samples, kept on its memory under a symbol (so it is
 * never written with the memory) until a sample comes or goes: the refill flags, whether any is
 * set, and the last window's draw (the rules are judged many times a minute; samples come once).
 */
const DERIVED = Symbol('derived from the recent samples');
interface Derived {
  first: number;
  last: number;
  n: number;
  flags: boolean[];
  refilled: boolean;
  draw: { i: number; j: number; span: number; d: Draw | null } | null;
}
type WithDerived = TankMemory & { [DERIVED]?: Derived };

/** refilling() of a tank's recent samples, worked out again only when a sample came or went */
function derivedOf(m: TankMemory, refillMinLph: number): Derived {
  const s = m.recent;
  const n = s.length;
  const c = (m as WithDerived)[DERIVED];
  if (c && c.n === n && (n === 0 || (c.first === s[0]!.t && c.last === s[n - 1]!.t))) return c;
  const flags = refilling(s, refillMinLph);
  return keepBeside<Derived>(m, DERIVED, { first: s[0]?.t ?? NaN, last: s[n - 1]?.t ?? NaN, n, flags, refilled: flags.includes(true), draw: null });
}
const refillingOf = (m: TankMemory, refillMinLph: number): boolean[] => derivedOf(m, refillMinLph).flags;

/** A draw measured from the falls: L/h, its standard error, and how much refill-free time it covers. */
interface Draw {
  lph: number;
  se: number;
  coveredMs: number;
  /** part of the time was a refill, left out */
  refilled: boolean;
}

/**
 * The draw (L/h) from the falls only: refills and gaps cut the samples into stretches; one
 * common slope is fitted through all of them, each stretch at its own level (least squares).
 * So a pump that runs for part of the time does not hide the draw of the rest. Null when nothing
 * is left to fit.
 */
function fallsDraw(s: Sample[], refill: boolean[]): Draw | null {
  const stretches: Sample[][] = [];
  let cur: Sample[] = [];
  s.forEach((x, i) => {
    if (refill[i] || (cur.length && x.t - cur.at(-1)!.t > MAX_GAP_MS)) {
      if (cur.length) stretches.push(cur);
      cur = [];
    }
    if (!refill[i]) cur.push(x);
  });
  if (cur.length) stretches.push(cur);
  let sxx = 0;
  let sxy = 0;
  let n = 0;
  let used = 0;
  let coveredMs = 0;
  const fitted: { mt: number; mv: number; s: Sample[] }[] = [];
  for (const st of stretches) {
    if (st.length < 2) continue;
    const mt = st.reduce((a, x) => a + x.t, 0) / st.length;
    const mv = st.reduce((a, x) => a + x.v, 0) / st.length;
    for (const x of st) {
      sxx += (x.t - mt) ** 2;
      sxy += (x.t - mt) * (x.v - mv);
    }
    n += st.length;
    used++;
    coveredMs += st.at(-1)!.t - st[0]!.t;
    fitted.push({ mt, mv, s: st });
  }
  if (sxx <= 0) return null;
  const slope = sxy / sxx;
  let res = 0;
  for (const { mt, mv, s: st } of fitted) for (const x of st) res += (x.v - mv - slope * (x.t - mt)) ** 2;
  const dof = n - used - 1;
  return { lph: -slope * HOUR, se: dof > 0 ? Math.sqrt(res / dof / sxx) * HOUR : Infinity, coveredMs, refilled: refill.includes(true) };
}

/**
 * The draw over [from, to] from a tank's samples, if at least half of that time is measured.
 * Refills are found over all the samples: a pump that stopped just before `from` still shows.
 */
function windowDraw(samples: Sample[], refill: boolean[], from: number, to: number, derived?: Derived): Draw | null {
  // the samples inside, from i to j (they come in time order)
  const i = firstAtOrAfter(samples, from);
  const j = firstAfter(samples, to) - 1;
  // the same samples (derived: worked out for these samples) over a window as long: the same
  // draw, not fitted again at every judgement
  const c = derived?.draw;
  if (c && c.i === i && c.j === j && c.span === to - from) return c.d;
  const d = fallsDraw(samples.slice(i, j + 1), refill.slice(i, j + 1));
  // a net rise is a refill too slow to tell from noise: it says nothing about use either
  const out = d && d.coveredMs >= (to - from) / 2 && d.lph > -NOISE_SIGMAS * d.se ? d : null;
  if (derived) derived.draw = { i, j, span: to - from, d: out };
  return out;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---- tank_drop

type Basis = 'village' | 'time of day' | 'highest' | 'twice highest' | 'expected' | 'usual' | 'floor';

/** The sums a tank's comparison with the others needs, over the tanks that may be compared. */
interface PeerSums {
  count: number;
  /** of their capacities, and of their learned mean draws (over those that have one) */
  capacitySum: number;
  meanSum: number;
  /** how many have no learned mean draw yet */
  withoutMean: number;
  /** their draws, L/h, and the standard error of that sum (their errors' root sum of squares) */
  lph: number;
  se: number;
}

/**
 * The tanks measured all through the window that a comparison may stand on: not one being
 * refilled (what is left of its time is short and uncertain), not an empty one (it draws nothing
 * whatever people need), not a leaking one (no measure of use). Summed once per compute;
 * `without(t)` takes a tank's own part out for its comparison with the rest.
 */
function comparablePeers(
  tanks: TankStatus[],
  draws: Map<string, Draw>,
  pumped: Set<string>,
  held: (id: string) => boolean,
  learned: Map<string, { mean: number | null }>,
): { without(t: TankStatus, d: Draw): PeerSums } {
  const member = new Set<string>();
  const all = { count: 0, capacitySum: 0, meanSum: 0, withoutMean: 0, lph: 0, se2: 0 };
  for (const j of tanks) {
    const dj = draws.get(j.id);
    if (!dj || pumped.has(j.id) || held(j.id) || !(j.liters! > EMPTY * j.capacity_liters)) continue;
    member.add(j.id);
    const mean = learned.get(j.id)?.mean;
    all.count++;
    all.capacitySum += j.capacity_liters;
    if (mean != null) all.meanSum += mean;
    else all.withoutMean++;
    all.lph += dj.lph;
    all.se2 += dj.se * dj.se;
  }
  return {
    without(t, d) {
      if (!member.has(t.id)) return { ...all, se: Math.sqrt(all.se2) };
      const mean = learned.get(t.id)?.mean;
      return {
        count: all.count - 1,
        capacitySum: all.capacitySum - t.capacity_liters,
        meanSum: all.meanSum - (mean ?? 0),
        withoutMean: all.withoutMean - (mean == null ? 1 : 0),
        lph: all.lph - d.lph,
        // a difference of sums can come out a hair under zero
        se: Math.sqrt(Math.max(0, all.se2 - d.se * d.se)),
      };
    },
  };
}

export function tankDrop(input: RuleInput): Condition[] {
  const { status, now, params, mem, held, config } = input;
  const p = params.tank_drop;
  const windowMs = p.window_s * 1000;
  const tanks = status.water.tanks;
  const memOf = (id: string) => (mem.tanks[id] ??= newTankMemory());

  // learn each tank's draw from whole windows, leaving out windows while a drop alert is held
  // and while the tank was empty (what people need is not what an empty tank gives)
  for (const t of tanks) {
    const m = memOf(t.id);
    const last = m.recent.at(-1);
    if (!last) continue;
    m.bucketStart ??= last.t;
    if (last.t - m.bucketStart < windowMs) continue;
    const d = windowDraw(m.recent, refillingOf(m, p.refill_min_lph), m.bucketStart, last.t);
    const empty = m.recent.some((x) => x.t >= m.bucketStart! && x.v <= EMPTY * t.capacity_liters);
    if (d && !empty && !held('tank_drop', t.id)) m.buckets.push({ t: last.t, v: d.lph });
    m.bucketStart = last.t;
    while (m.buckets.length && m.buckets[0]!.t < now - p.baseline_days * DAY) m.buckets.shift();
  }

  // every fresh tank's draw over the same window
  const draws = new Map<string, Draw>();
  /** tanks refilled within the last two windows: a pump runs for a while, and once it matches the draw the level stands still */
  const pumped = new Set<string>();
  for (const t of tanks) {
    const m = memOf(t.id);
    const derived = derivedOf(m, p.refill_min_lph);
    if (derived.refilled) pumped.add(t.id);
    const d = fresh(t) ? windowDraw(m.recent, derived.flags, now - windowMs, now, derived) : null;
    if (d) draws.set(t.id, d);
  }
  // what each tank serves: its mean draw once a whole day is learned; the highest it drew
  // (95th percentile) once half a day is, which holds a morning or an evening peak. The last
  // two windows are left out: a loss just begun is not usual.
  const learned = new Map<string, { mean: number | null; highest: number }>();
  for (const t of tanks) {
    const all = memOf(t.id).buckets;
    // nothing learned yet (most tanks, the first hours): no copy to make
    const b = all.length ? all.filter((x) => x.t <= now - 2 * windowMs) : all;
    const span = b.length ? b.at(-1)!.t - b[0]!.t : 0;
    if (span < DAY / 2 - 2 * windowMs) continue;
    const v = b.map((x) => x.v).sort((x, y) => x - y);
    learned.set(t.id, {
      mean: span >= DAY - 2 * windowMs ? Math.max(0, v.reduce((x, y) => x + y, 0) / v.length) : null,
      highest: v[Math.round(0.95 * (v.length - 1))]!,
    });
  }

  // The tanks a comparison may stand on, summed once: each tank's peers are these less itself.
  // (Filtering them per tank cost 500 × 500 visits a compute in a large village: 60 ms.)
  const peerSet = comparablePeers(tanks, draws, pumped, (id) => !!held('tank_drop', id), learned);

  const out: Condition[] = [];
  for (const t of tanks) {
    const m = memOf(t.id);
    if (!fresh(t)) continue;
    const h = held('tank_drop', t.id);
    const d = draws.get(t.id);
    if (!d) {
      // too few readings, or refilling all along: nothing to say about a loss (a held alert stays as it is)
      if (!h) out.push(clearTank(t));
      continue;
    }

    // The reference: the most this tank may draw in ordinary use now, from what is observed.
    // What it would draw at the rate the village's other tanks are drawing now, their share
    // scaled to this tank: by capacity until a day is learned, then by what each tank serves.
    // The others are those comparablePeers keeps.
    const peers = peerSet.without(t, d);
    const ownMean = learned.get(t.id)?.mean;
    const byUse = ownMean != null && peers.withoutMean === 0;
    const peerWeight = byUse ? peers.meanSum : peers.capacitySum;
    // the most the others may be drawing, allowing for their sensors' noise
    const peerDraw = peers.lph + NOISE_SIGMAS * peers.se;
    const village = peers.count && peerWeight > 0 ? (Math.max(0, peerDraw) * (byUse ? ownMean : t.capacity_liters)) / peerWeight : null;
    // its own highest draw at this time of day on earlier days (a tank with a pattern of its own: the school's)
    const mid = now - windowMs / 2;
    const sameTime = m.buckets.filter((b) => {
      if (b.t > now - 12 * HOUR) return false;
      const dd = Math.abs((((b.t - windowMs / 2 - mid) % DAY) + DAY) % DAY);
      return Math.min(dd, DAY - dd) <= HOUR;
    });
    const profile = sameTime.length ? Math.max(...sameTime.map((b) => b.v)) : null;
    const own = learned.get(t.id);
    const refs: [Basis, number][] = [];
    if (village !== null) refs.push(['village', village]);
    if (profile !== null) refs.push(['time of day', profile]);
    if (village === null && profile === null) {
      // nothing to compare with at this hour: the highest it drew so far, or until half a day is
      // learned, the highest draw a village of this size is expected to have
      if (own) refs.push(['highest', own.highest]);
      else refs.push(['expected', (config.village.population * p.typical_lpd * p.peak) / 24 / Math.max(1, tanks.length)]);
    }
    // never less than its own mean draw, nor the floor
    if (own?.mean != null) refs.push(['usual', own.mean]);
    refs.push(['floor', p.min_normal_lph]);
    let [basis, ref] = refs.reduce((a, b) => (b[1] > a[1] ? b : a));
    let limit = p.factor * ref;
    // and never a loss it has drawn half of in ordinary use: a comparison can be thrown by a
    // neighbour whose pump quietly matches its draw
    if (own && 2 * own.highest > limit) {
      [basis, ref, limit] = ['twice highest', own.highest, 2 * own.highest];
    }

    const loss = Math.max(0, d.lph);
    const hours = d.coveredMs / HOUR;
    const fell = loss * hours;
    // raised only on a window without a refill: around a pump the fall is pieced together from
    // what is left, too uncertain to name a tank on (a held alert goes on through it)
    const rising = !d.refilled && loss >= limit && fell >= p.min_drop_liters && loss >= NOISE_SIGMAS * d.se;
    // hysteresis: a held alert clears only once the loss is back under half the raising rate
    const holding = !!h && loss >= limit / 2;
    if (!rising && !holding) {
      out.push(clearTank(t));
      continue;
    }
    // the windows just before it was seen may hold the loss's start: not the tank's usual draw
    if (!h) m.buckets = m.buckets.filter((b) => b.t <= now - 2 * windowMs);
    if (!p.enabled) continue;
    const liters = t.liters!;
    const hoursToEmpty = loss > 0 ? liters / loss : Infinity;
    const sev: Severity = hoursToEmpty <= p.critical_hours_to_empty ? 'critical' : 'warning';
    const say = sayIn(config.village.language);
    const lph = fmt(ref);
    const against: Record<Basis, string> = {
      village: say(
        'alert.tank_drop.against_village',
        "what it would draw now at the rate the village's other tanks are drawing (at most about {lph} L an hour)",
        { lph },
      ),
      usual: say('alert.tank_drop.against_usual', 'its usual draw (about {lph} L an hour on average over the day)', { lph }),
      highest: say('alert.tank_drop.against_highest', 'its highest usual draw (about {lph} L an hour)', { lph }),
      'twice highest': say('alert.tank_drop.against_highest', 'its highest usual draw (about {lph} L an hour)', { lph }),
      'time of day': say('alert.tank_drop.against_time_of_day', 'its highest draw at this time of day on earlier days (about {lph} L an hour)', { lph }),
      expected: say('alert.tank_drop.against_expected', 'the highest draw expected for {people} people (about {lph} L an hour)', {
        people: fmt(config.village.population),
        lph,
      }),
      floor: say('alert.tank_drop.against_floor', 'the least draw it is judged against ({lph} L an hour)', { lph }),
    };
    out.push({
      rule: 'tank_drop',
      subject: t.id,
      domain: 'water',
      severity: sev,
      value: Math.round(loss),
      title: say('alert.tank_drop.title', '{tank} is losing water fast: about {lph} L an hour', { tank: t.name, lph: fmt(loss) }),
      detail: say('alert.tank_drop.detail', 'That is {times} times {against}; a leak or damage is possible. It holds {liters} L{empty}.', {
        times: fmt(loss / ref, 1),
        against: against[basis],
        liters: fmt(liters),
        empty: Number.isFinite(hoursToEmpty)
          ? say('alert.tank_drop.empty_in', ', empty in about {hours} hours at this rate', { hours: fmt(hoursToEmpty, 1) })
          : '',
      }),
    });
  }
  return out;
}

function clearTank(t: TankStatus): Condition {
  return { rule: 'tank_drop', subject: t.id, domain: 'water', severity: null, value: null, title: `${t.name} is holding its water`, detail: '' };
}

// ---- night_flow

/** whether an instant falls in the quiet hours [from, to) of the local day (they may span midnight) */
function quiet(ts: number, timeZone: string, from: number, to: number): boolean {
  const h = local(ts, timeZone).hour;
  return from < to ? h >= from && h < to : from > to ? h >= from || h < to : false;
}

/** the local date a night's quiet hours began on: the same for every instant of one night */
function nightKey(ts: number, timeZone: string, to: number): string {
  return local(ts - to * HOUR, timeZone).date;
}

/**
 * The local hour and date of an instant. Every zone's offset is a whole number of quarter hours,
 * so both hold for a whole quarter hour: one look-up each (Intl is slow for every reading).
 */
const localCache = new Map<string, { hour: number; date: string }>();
function local(ts: number, timeZone: string): { hour: number; date: string } {
  const key = `${timeZone} ${Math.floor(ts / 900_000)}`;
  let v = localCache.get(key);
  if (!v) {
    const d = localParts(ts, timeZone);
    v = { hour: d.hour, date: `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}` };
    if (localCache.size > 500) localCache.clear();
    localCache.set(key, v);
  }
  return v;
}

type NightParams = RuleInput['params']['night_flow'];

/** End the night being measured: its draw, judged against the earlier nights that were not raised. */
function closeNight(m: TankMemory, p: NightParams): void {
  const night = m.night;
  m.night = undefined;
  if (!night) return;
  const d = fallsDraw(night.samples, refilling(night.samples, p.refill_min_lph));
  // a pump ran most of the night, or the tank was silent: this night says nothing
  if (!d || !Number.isFinite(d.se) || d.coveredMs < p.min_quiet_s * 1000) return;
  const nights = (m.nights ??= []);
  const earlier = nights.filter((n) => !n.elevated).slice(-p.baseline_nights);
  let baseline: number | null = null;
  let elevated = false;
  if (earlier.length >= p.min_baseline_nights) {
    baseline = median(earlier.map((n) => n.flow));
    // how much nights differ anyway: their spread, and never less than how well one night is measured
    const flows = earlier.map((n) => n.flow);
    const mean = flows.reduce((a, x) => a + x, 0) / flows.length;
    const spread = Math.sqrt(flows.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, flows.length - 1));
    const sigma = Math.hypot(d.se, Math.max(spread, median(earlier.map((n) => n.se))));
    const clearly = Math.max(p.min_rise_lph, p.rise_fraction * Math.max(0, baseline), p.sigmas * sigma);
    elevated = d.lph - baseline >= clearly;
  }
  nights.push({ night: night.key, flow: d.lph, se: d.se, baseline, elevated });
  while (nights.length > KEEP_NIGHTS) nights.shift();
}

export function nightFlow({ status, now, params, mem, config }: RuleInput): Condition[] {
  const p = params.night_flow;
  const tz = config.village.timezone;
  const out: Condition[] = [];
  for (const t of status.water.tanks) {
    const m = (mem.tanks[t.id] ??= newTankMemory());
    // the quiet hours are over (or a new night began) even if the tank fell silent
    if (m.night && (!quiet(now, tz, p.quiet_from_hour, p.quiet_to_hour) || nightKey(now, tz, p.quiet_to_hour) !== m.night.key)) closeNight(m, p);
    if (!p.enabled || !fresh(t)) continue;
    const nights = m.nights ?? [];
    let streak = 0;
    while (streak < nights.length && nights[nights.length - 1 - streak]!.elevated) streak++;
    if (streak < p.nights) {
      out.push({ rule: 'night_flow', subject: t.id, domain: 'water', severity: null, value: null, title: `${t.name} holds its water at night`, detail: '' });
      continue;
    }
    const run = nights.slice(-streak);
    const flow = run.reduce((a, n) => a + n.flow, 0) / run.length;
    const baseline = run[0]!.baseline ?? 0;
    const excess = flow - baseline;
    const hh = (x: number) => `${String(x).padStart(2, '0')}:00`;
    const say = sayIn(config.village.language);
    out.push({
      rule: 'night_flow',
      subject: t.id,
      domain: 'water',
      severity: streak >= p.warning_nights ? 'warning' : 'watch',
      value: Math.round(excess),
      title: say('alert.night_flow.title', '{tank} may have a slow leak: about {lph} L an hour more at night than before', { tank: t.name, lph: fmt(excess) }),
      detail: say(
        'alert.night_flow.detail',
        'In the quiet hours ({from}–{to} village time) it fell about {lph} L an hour on the last {nights} nights, ' +
          'against about {before} L an hour on earlier nights (refills left out). ' +
          'A dripping valve or a seeping joint shows this way: water utilities look for leaks when almost nobody draws water (minimum night flow). ' +
          'At this rate about {per_day} L a day may be lost.',
        {
          from: hh(p.quiet_from_hour),
          to: hh(p.quiet_to_hour),
          lph: fmt(flow),
          nights: streak,
          before: fmt(Math.max(0, baseline)),
          per_day: fmt(excess * 24),
        },
      ),
    });
  }
  return out;
}
