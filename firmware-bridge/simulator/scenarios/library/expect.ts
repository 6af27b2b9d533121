// The shape of a scenario's sidecar, `<name>.expect.json`: what a village needs tend to say (and
// not say) about the scenario beside it. The test (test/scenarios/) and the benchmark
// (test/bench/scenarios.ts) both judge a run of `tend simulate --json` against this one truth.
// Times are seconds from the scenario's start (`t` in the scenario file and in --json output).

export type Severity = 'watch' | 'warning' | 'critical';

/** Which alerts count: every given field must match (a list: any of its items). */
export interface AlertMatch {
  /** rule names; absent: any rule */
  rule?: string[];
  /** but not these rules */
  except_rule?: string[];
  /** alert subjects (a tank or cold unit's sensor id, a device id, `power`, `battery`, `weather`…) */
  subject?: string[];
  /** `water` | `power` | `cold` | `weather` | `sensors` */
  domain?: string;
  /** at least this severity */
  min_severity?: Severity;
}

export interface MustFire extends AlertMatch {
  /** a matching alert must be firing within this many minutes after the damage starts */
  within_min: number;
  /** … and not sooner than this (a rule that must wait, such as the 2-hour food rule) */
  not_before_min?: number;
  why: string;
}

export interface MustNotFire extends AlertMatch {
  /** only before the damage starts (what led up to it was ordinary) */
  before_damage?: boolean;
  why: string;
}

export interface Expectation {
  name: string;
  title: string;
  /** the village config, beside this file */
  village: string;
  /** the scenario file, beside this file */
  scenario: string;
  /** pass as `--start`: the scenario's t = 0 (local times in the text are the village's) */
  start: string;
  /** simulated length, days */
  days: number;
  /**
   * damage: something broke and tend must say so; quiet: nothing broke, whatever the sensors do;
   * ordinary: everyday life, counted in the false-alarm figures per 30 ordinary days
   */
  kind: 'damage' | 'quiet' | 'ordinary';
  village_summary: string;
  proves: string;
  /** when the damage starts (damage scenarios), and what it is */
  damage: { t: number; what: string } | null;
  /** the first entry is the one the detection time is measured on */
  must_fire: MustFire[];
  must_not_fire: MustNotFire[];
  /** expected: a crisis prompt must open after the damage; forbidden: none may open */
  prompts: 'expected' | 'forbidden' | 'allowed';
  /** ordinary scenarios: how many alerts of warning or worse the days may raise (summed per 30 days in the test) */
  max_warnings?: number;
  /**
   * a worsening fault: the first matching alert of each night (local noon to noon, the first
   * beginning at first_noon_t) comes earlier in the night than the night before, over at least
   * min_nights nights
   */
  earlier_each_night?: AlertMatch & { first_noon_t: number; min_nights: number; why: string };
}
