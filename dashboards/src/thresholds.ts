// Where the dashboards' colours come from: the village's own alert rules (config/rules.ts,
// overridable per village under `alerts.rules`) and the reserve status levels, handed in by
// `tend dashboards [--config FILE]`. The dashboards import nothing of the rest of tend, so these
// are plain numbers here, and no threshold is written twice: a panel turns orange where the rule
// warns, red where it is critical.

/** The rule settings the dashboards colour by: a part of config/rules.ts's AllRuleParams, by shape. */
export interface RuleThresholds {
  water_low: {
    enabled: boolean;
    watch_percent: number;
    warning_percent: number;
    critical_percent: number;
    watch_days_minimum: number;
    warning_days_minimum: number;
    critical_days_minimum: number;
  };
  battery_low: { enabled: boolean; watch_percent: number; warning_percent: number; critical_percent: number };
  cold_above_safe: { enabled: boolean; hold_s: number; critical_after_s: number };
}

export interface DashboardSettings {
  rules: RuleThresholds;
  /** hours of stored power the reserve status calls watch, strained, critical (no rule judges hours) */
  power_hours: { watch: number; strained: number; critical: number };
  /** litres a person a day at minimum use (village.minimum_water_lpd), named in a panel title */
  minimum_water_lpd: number;
}

export type Steps = [number | null, string][];

/** a figure no rule judges (or a rule turned off): one neutral colour, no level claimed */
export const NEUTRAL: Steps = [[null, 'blue']];

/**
 * Colours for a figure where lower is worse. Grafana colours a value by the highest step at or
 * below it: red under the critical threshold, orange under warning, yellow under watch, green above.
 */
export function lowerIsWorse(t: { watch: number; warning: number; critical: number } | null): Steps {
  if (!t) return NEUTRAL;
  return [
    [null, 'red'],
    [t.critical, 'orange'],
    [t.warning, 'yellow'],
    [t.watch, 'green'],
  ];
}

/** Colours for a figure where higher is worse: yellow from watch, red from critical. */
export function higherIsWorse(t: { watch: number; critical: number } | null): Steps {
  if (!t) return NEUTRAL;
  return [
    [null, 'green'],
    [t.watch, 'yellow'],
    [t.critical, 'red'],
  ];
}

// ---- the thresholds of each figure, from the settings

export const waterDays = (s: DashboardSettings) => {
  const r = s.rules.water_low;
  return r.enabled ? { watch: r.watch_days_minimum, warning: r.warning_days_minimum, critical: r.critical_days_minimum } : null;
};

export const waterPercent = (s: DashboardSettings) => {
  const r = s.rules.water_low;
  return r.enabled ? { watch: r.watch_percent, warning: r.warning_percent, critical: r.critical_percent } : null;
};

export const batteryPercent = (s: DashboardSettings) => {
  const r = s.rules.battery_low;
  return r.enabled ? { watch: r.watch_percent, warning: r.warning_percent, critical: r.critical_percent } : null;
};

export const powerHours = (s: DashboardSettings) => ({ watch: s.power_hours.watch, warning: s.power_hours.strained, critical: s.power_hours.critical });

/** minutes above safe: watch once the rule's hold time has passed, critical after critical_after_s */
export const coldMinutes = (s: DashboardSettings) => {
  const r = s.rules.cold_above_safe;
  return r.enabled ? { watch: r.hold_s / 60, critical: r.critical_after_s / 60 } : null;
};

/** "watch after 15 min, critical after 2 h", as the cold rule is set */
export function coldWords(s: DashboardSettings): string {
  const t = coldMinutes(s);
  if (!t) return 'no cold-storage alert rule is on';
  const span = (min: number) => (min >= 120 && min % 60 === 0 ? `${min / 60} h` : `${Math.round(min * 10) / 10} min`);
  return `watch after ${span(t.watch)}, critical after ${span(t.critical)} above safe`;
}

/** Threshold lines on a time series where lower is worse: a line at each threshold, coloured by the level below it. */
export function lowerIsWorseLines(t: { watch: number; warning: number; critical: number } | null): Steps | undefined {
  if (!t) return undefined;
  return [
    [null, 'transparent'],
    [t.critical, 'red'],
    [t.warning, 'orange'],
    [t.watch, 'yellow'],
  ];
}

/** Threshold lines on a time series where higher is worse: a line where watch begins and where critical begins. */
export function higherIsWorseLines(t: { watch: number; critical: number } | null): Steps | undefined {
  if (!t) return undefined;
  return [
    [null, 'transparent'],
    [t.watch, 'yellow'],
    [t.critical, 'red'],
  ];
}
