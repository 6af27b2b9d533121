// The default alert rules' settings, each overridable under `alerts.rules.<rule>.<key>` in the
// village config. They live with the config schema because they are config: the schema checks
// overrides against them (crossCheck), and the rules only read the merged result.
export const RULE_NAMES = [
  'water_low',
  'tank_drop',
  'night_flow',
  'battery_low',
  'power_unstable',
  'power_out',
  'cold_above_safe',
  'sensor_offline',
  'sensor_stuck',
  'storm',
] as const;
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
    // A tank is judged against what is observed: what the village's other tanks draw right now
    // (their share scaled to this tank: by capacity on the first day, by each tank's learned
    // draw once a day is learned), and its own highest draw at this time of day on earlier days.
    // All tanks falling together is a morning peak; one tank falling alone is a leak.
    /** how many times faster than that reference counts as a possible leak */
    factor: 4,
    /** the window the current fall is measured over (least squares over the tank's readings) */
    window_s: 3600,
    /** smallest fall within the window worth raising; it must also be 3 standard errors above the sensor's noise */
    min_drop_liters: 100,
    /** days of history a tank's usual draw and its time-of-day profile are learned from */
    baseline_days: 7,
    /** a rise over half an hour faster than this (L/h) and clearly above the sensor's noise is a refill: those minutes say nothing about use */
    refill_min_lph: 50,
    /** with no other tank to compare and no earlier day learned: usual peak = population × typical_lpd × peak / 24 / tanks */
    typical_lpd: 60,
    peak: 3,
    /** never judge against less than this (L/h) */
    min_normal_lph: 25,
    /** critical when the tank would be empty within this many hours at the current loss */
    critical_hours_to_empty: 12,
  },
  night_flow: {
    enabled: true,
    // the nights are the hold: it takes `nights` nights in a row to raise, one calm night to clear
    hold_s: 0,
    clear_hold_s: 0,
    /** a leak back within three days is the same leak */
    reopen_s: 259_200,
    // Minimum night flow is how water utilities find leaks: in the quiet hours almost nobody
    // draws water, so a dripping valve or a seeping joint shows as a fall that was not there before.
    /**
     * quiet hours, local time (village.timezone): from quiet_from_hour:00 to quiet_to_hour:00,
     * across midnight when from > to. Utilities look at 02:00–04:00 through a flow meter; a
     * tank's level sensor is coarser and a village's night use comes a bucket at a time, so the
     * whole night from 23:00 is measured, ending before the earliest risers.
     */
    quiet_from_hour: 23,
    quiet_to_hour: 4,
    /** nights in a row clearly above the earlier nights before the alert rises (watch) */
    nights: 2,
    /** nights in a row before it becomes a warning */
    warning_nights: 4,
    /** earlier nights the usual night draw is learned from (their median); at least min_baseline_nights */
    baseline_nights: 7,
    min_baseline_nights: 2,
    /**
     * "clearly above" the usual night draw: by at least min_rise_lph, rise_fraction of it, and
     * `sigmas` times how uncertain the comparison is (the night's measurement, and how much
     * nights differ anyway: a bucket filled at 2 a.m.)
     */
    min_rise_lph: 10,
    rise_fraction: 0.25,
    sigmas: 2.5,
    /** a night counts only with this much refill-free time measured in its quiet hours */
    min_quiet_s: 3600,
    /** a rise over half an hour faster than this (L/h) and clearly above the sensor's noise is a refill, left out of the night's draw */
    refill_min_lph: 50,
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
    /** the voltage swing is judged over this window, stretched back to hold at least window_readings readings (never beyond six windows) */
    window_s: 600,
    window_readings: 6,
    /** (max − min) / median of battery voltage within the window */
    swing_fraction: 0.08,
    /**
     * a swing counts only when at least this many readings of the window lie half of it
     * (swing_fraction / 2) away from the window's median: one odd reading (a sag as a pump
     * starts, a glitch) is not an unstable supply
     */
    swing_readings: 3,
    /** a load shed: load falls by at least this fraction from one reading to the next */
    shed_fraction: 0.5,
    shed_min_w: 200,
    shed_count: 3,
    shed_window_s: 1800,
  },
  power_out: {
    enabled: true,
    // the rule itself waits out_s; the engine adds no hold
    hold_s: 0,
    clear_hold_s: 300,
    reopen_s: 3600,
    // A village load that never falls near zero (a clinic, fridges, lights, the inverter's own
    // draw) reading zero for minutes means no electricity reaches the village: a dead inverter,
    // a tripped breaker, a cut cable. What "never" means is learned from the load's own history.
    /** the load counts as out at or below max(floor_w, floor_fraction × its usual minimum) */
    floor_w: 20,
    floor_fraction: 0.1,
    /** … for at least this long, over two readings or more */
    out_s: 600,
    /** the usual minimum: the lowest median load of any window_s stretch in the last baseline_days */
    window_s: 1800,
    baseline_days: 7,
    /**
     * judged only once this much of the load's history is learned, the small hours of a night
     * (00:00–06:00 village time, when a village draws least) among it
     */
    learn_s: 43200,
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
    /**
     * a device missing when tend starts (never heard, or gone as tend stopped) counts only after
     * tend has run this long: devices reconnect after a restart
     */
    startup_grace_s: 300,
    /**
     * a device counts as not reporting once it has been missing this long while tend runs: a
     * device that says offline because tend is stopping raises nothing
     */
    missing_s: 60,
  },
  sensor_stuck: {
    enabled: true,
    // the rule itself waits the flat spell out; the engine adds no hold
    hold_s: 0,
    clear_hold_s: 600,
    reopen_s: 3600,
    // A sensor that keeps reporting one value (or within a tiny band) while it should move: its
    // figure is not a measurement. Only kinds that move in ordinary life are judged, and only in
    // the hours of the day it moved on earlier days (at least half of the spell's hours, within
    // baseline_days). While stuck, and for settle_s after it moves again, its value is left out
    // of the other rules as a stale one is.
    /**
     * tanks: flat this long while another tank of the village fell by at least peer_fall_percent
     * of its capacity (clearly above its sensor's noise) — use is going on, this tank shows none.
     * A tank at the top it held in recent days (within top_margin_percent: an overflow or a float
     * valve keeps it there), at or above full_percent, or at or below empty_percent is not judged.
     */
    tank_s: 7200,
    /** a tank with no other tank to compare: flat this long */
    lone_tank_s: 21600,
    /** "flat" for a tank: its readings within this percent of its capacity (0.1: 16 L of a 16 m³ tank) */
    tank_band_percent: 0.1,
    peer_fall_percent: 1,
    full_percent: 97,
    empty_percent: 3,
    top_margin_percent: 1,
    /** cold stores (cold_temp): a compressor cycles and doors open, so the probe moves; flat this long, within temp_band_c */
    temp_s: 14400,
    temp_band_c: 0.05,
    /** barometers (pressure): the air pressure moves through the day; flat this long, within pressure_band_hpa */
    pressure_s: 21600,
    pressure_band_hpa: 0.05,
    /** a spell counts only over this many readings or more (the readings keep arriving) */
    min_readings: 6,
    /** days of history the hours a sensor moves in are learned from */
    baseline_days: 7,
    /** after it moves again, its readings are left out of the other rules this long (at least tank_drop's window for a tank) */
    settle_s: 3600,
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
