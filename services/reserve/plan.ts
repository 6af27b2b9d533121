// A plan the assembly agreed, followed with figures and never enforced: the agreed litres a person
// a day (and load) beside the actual ones, and since when actual use has been well above the plan.
// The plan in force comes in as plain figures (the assembly's decisions, handed over by the status
// loop); this stage only measures. The assembly asks about a plan that no longer fits.
import type { PlanInForce, PlanStatus, ReserveStatus } from '../../core/types.ts';

/** "well above": this much over the agreed figure */
export const PLAN_ABOVE_FACTOR = 1.15;
/** the daily use is of the last 24 h: it speaks of the plan only once that whole day lies within it */
export const PLAN_WATER_SETTLE_MS = 24 * 3600_000;
/** the load is smoothed over about this long (an evening peak is not a strayed plan) */
export const PLAN_LOAD_SMOOTH_MS = 3 * 3600_000;

type Figures = Pick<ReserveStatus, 'water' | 'power' | 'village'>;

export class PlanFollower {
  private decision: string | null = null;
  private waterAbove: number | null = null;
  private loadAbove: number | null = null;
  private load: { t: number; w: number } | null = null;

  /** The plan's status at `now`, or undefined when no plan is in force. */
  follow(plan: PlanInForce | null, s: Figures, now: number): PlanStatus | undefined {
    if (!plan || (plan.water_lpd === undefined && plan.load_w === undefined)) {
      this.decision = null;
      return undefined;
    }
    if (plan.decision_id !== this.decision) {
      // a new plan: what strayed from the old one says nothing of this one
      this.decision = plan.decision_id;
      this.waterAbove = this.loadAbove = null;
      this.load = null;
    }
    const since = Date.parse(plan.since);
    const population = s.village.population;
    const out: PlanStatus = {
      prompt_id: plan.prompt_id,
      decision_id: plan.decision_id,
      since: plan.since,
      water_lpd: plan.water_lpd ?? null,
      actual_lpd: null,
      days_left_plan: null,
    };
    if (plan.water_lpd !== undefined) {
      const daily = s.water.daily_use_liters ?? null;
      const actual = daily === null ? null : daily / population;
      out.actual_lpd = actual === null ? null : Math.round(actual * 10) / 10;
      out.days_left_plan = s.water.liters === null ? null : Math.round((s.water.liters / (population * plan.water_lpd)) * 100) / 100;
      const judged = now - since >= PLAN_WATER_SETTLE_MS && actual !== null;
      if (judged && actual > plan.water_lpd * PLAN_ABOVE_FACTOR) this.waterAbove ??= now;
      else if (actual !== null) this.waterAbove = null;
      out.water_above_since = this.waterAbove === null ? null : new Date(this.waterAbove).toISOString();
    }
    if (plan.load_w !== undefined) {
      const w = s.power.stale ? null : s.power.load_w;
      if (w !== null) {
        // exponential smoothing over the time between computes
        const l = this.load;
        this.load = l === null ? { t: now, w } : { t: now, w: l.w + (w - l.w) * (1 - Math.exp(-Math.max(0, now - l.t) / PLAN_LOAD_SMOOTH_MS)) };
      }
      const actual = this.load?.w ?? null;
      out.load_w = plan.load_w;
      out.actual_load_w = actual === null ? null : Math.round(actual / 10) * 10;
      out.hours_left_plan = s.power.usable_kwh === null ? null : Math.round(((s.power.usable_kwh * 1000) / plan.load_w) * 10) / 10;
      const judged = now - since >= PLAN_LOAD_SMOOTH_MS && actual !== null;
      if (judged && actual > plan.load_w * PLAN_ABOVE_FACTOR) this.loadAbove ??= now;
      else if (actual !== null) this.loadAbove = null;
      out.load_above_since = this.loadAbove === null ? null : new Date(this.loadAbove).toISOString();
    }
    return out;
  }
}
