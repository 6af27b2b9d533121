// Which readings cannot wait for the status loop's throttle: a reading that carries a sensor's
// value across one of the thresholds its alert rule compares it with (a cold store going over its
// safe temperature, a battery under a charge level, a gust over gale force). Such a reading is
// judged at once, so the alert follows it within milliseconds, not after the next throttle
// period; every other reading waits for the throttle, which keeps a flood of readings cheap.
//
// This only decides when to judge, never what: the rules still judge the whole status, with their
// hold times and hysteresis. A threshold a rule reads from a figure of several sensors (the
// village's water percent) or over time (a tank's draw) is left to the throttle.
import type { AllRuleParams } from '../../config/rules.ts';
import type { Config } from '../../config/schema.ts';
import type { Reading } from '../../core/types.ts';

export class ThresholdCrossings {
  /** per sensor, the values its rule compares with */
  private readonly thresholds = new Map<string, number[]>();
  /** per sensor, the value of its last reading */
  private readonly last = new Map<string, number>();

  constructor(config: Config, params: AllRuleParams) {
    const battery = params.battery_low;
    const storm = params.storm;
    for (const s of config.sensors) {
      let t: number[] = [];
      if (s.kind === 'cold_temp' && s.cold) t = [s.cold.safe_max_c, s.cold.safe_max_c - params.cold_above_safe.hysteresis_c];
      else if (s.kind === 'battery_soc') {
        for (const x of [battery.watch_percent, battery.warning_percent, battery.critical_percent]) t.push(x, x + battery.hysteresis_percent);
      } else if (s.kind === 'wind_gust' || s.kind === 'wind_speed') {
        for (const x of [storm.watch_gust_ms, storm.warning_gust_ms]) t.push(x, x - storm.hysteresis_ms);
      }
      if (t.length) this.thresholds.set(s.id, t);
    }
  }

  /**
   * Whether this reading crossed a threshold since the sensor's last one. A sensor's first
   * reading since start crosses nothing: there is nothing to cross from (after a restart every
   * sensor reports once, and judging each at once would be a flood of judgements).
   */
  crosses(r: Reading): boolean {
    const t = this.thresholds.get(r.sensor);
    if (!t) return false;
    const before = this.last.get(r.sensor);
    this.last.set(r.sensor, r.value);
    if (before === undefined || before === r.value) return false;
    for (const x of t) if (before > x !== r.value > x) return true;
    return false;
  }
}
