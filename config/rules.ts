// The default alert rules' settings, each overridable under `alerts.rules.<rule>.<key>` in the
// village config. They live with the config schema because they are config: the schema checks
// overrides against them (crossCheck), and the rules only read the merged result.
export const RULE_NAMES = ['water_low', 'tank_drop', 'battery_low', 'power_unstable', 'cold_above_safe', 'sensor_offline', 'storm'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Every key a village may override under `alerts.rules.<rule>.<key>`. Times are seconds. */
export const RULE_DEFAULTS = {
  water_low: {
    enabled: true,
    hold_s: 300,
    clear_hold_s: 900,
    reopen_s: 3600,
    watch_percent: 40,
    warning_percent: 25,
    critical_percent: 10,
    hysteresis_percent: 3,
    // days left at minimum use (Sphere: 15 L a person a day, village.minimum_water_lpd)
    watch_days_minimum: 7,
    warning_days_minimum: 3,
    critical_days_minimum: 1,
    hysteresis_days: 0.3,
  },
  tank_drop: {
    enabled: true,
    hold_s: 300,
    clear_hold_s: 1800,
    reopen_s: 3600,
    /** how many times faster than the tank's normal (peak) draw counts as a possible leak */
    factor: 4,
    /** the short window the current fall is measured over */
    window_s: 1800,
    /** smallest fall within the window worth raising (sensor noise is tens of litres) */
    min_drop_liters: 200,
    /** days of history the tank's normal draw is learned from */
    baseline_days: 7,
    /** until a day is learned, normal peak draw per tank = population × typical_lpd × peak / 24 / tanks */
    typical_lpd: 60,
    peak: 3,
    /** never judge against less than this (L/h) */
    min_normal_lph: 50,
    /** critical when the tank would be empty within this many hours at the current loss */
    critical_hours_to_empty: 12,
  },
  battery_low: {
    enabled: true,
    hold_s: 300,
    clear_hold_s: 900,
    reopen_s: 3600,
    watch_percent: 35,
    warning_percent: 20,
    critical_percent: 10,
    hysteresis_percent: 5,
  },
  power_unstable: {
    enabled: true,
    hold_s: 120,
    clear_hold_s: 1800,
    reopen_s: 3600,
    window_s: 600,
    /** (max − min) / median of battery voltage within the window */
    swing_fraction: 0.08,
    /** a load shed: load falls by at least this fraction from one reading to the next */
    shed_fraction: 0.5,
    shed_min_w: 200,
    shed_count: 3,
    shed_window_s: 1800,
  },
  cold_above_safe: {
    enabled: true,
    hold_s: 900,
    clear_hold_s: 600,
    reopen_s: 3600,
    hysteresis_c: 0.5,
    /** food safety: perishable food above safe temperature for 2 h is at risk (the 2-hour rule) */
    critical_after_s: 7200,
  },
  sensor_offline: {
    enabled: true,
    hold_s: 0,
    clear_hold_s: 60,
    reopen_s: 3600,
    /** sensors never heard from count as offline only after tend has run this long */
    startup_grace_s: 300,
  },
  storm: {
    enabled: true,
    hold_s: 60,
    clear_hold_s: 10800,
    reopen_s: 3600,
    // pressure tendency over 3 h (WMO: falling quickly ≥ 3.6 hPa, very quickly ≥ 6 hPa)
    watch_fall_hpa_3h: 3.6,
    warning_fall_hpa_3h: 6,
    hysteresis_hpa: 1,
    // Beaufort 8 gale 17.2 m/s, Beaufort 10 storm 24.5 m/s
    watch_gust_ms: 17.2,
    warning_gust_ms: 24.5,
    hysteresis_ms: 3,
    /** gusts come and go: judge the strongest within this window */
    gust_window_s: 1800,
  },
} satisfies Record<RuleName, Record<string, number | boolean>>;

export type RuleParams<R extends RuleName> = { [K in keyof (typeof RULE_DEFAULTS)[R]]: (typeof RULE_DEFAULTS)[R][K] extends boolean ? boolean : number };
export type AllRuleParams = { [R in RuleName]: RuleParams<R> };

/**
 * Merge config overrides onto the defaults. The schema's crossCheck has already refused unknown
 * rules, unknown keys and wrong types (with their config path), so this only merges.
 */
export function ruleParams(overrides: Record<string, Record<string, number | boolean>> | undefined): AllRuleParams {
  const out = structuredClone(RULE_DEFAULTS) as unknown as Record<string, Record<string, number | boolean>>;
  for (const [rule, keys] of Object.entries(overrides ?? {})) Object.assign(out[rule] ?? {}, keys);
  return out as unknown as AllRuleParams;
}
