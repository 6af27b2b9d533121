// "Village reserves": the shed screen. Big numbers readable from across a room: water litres and
// days left at current and at minimum use (Sphere: 15 L per person per day by default), power
// hours left and state of charge, cold units with time above safe, sensors online, open incidents.
// Colours follow the village's alert rules (thresholds.ts).
import { influxql, q, tendDashboard } from './influxql.ts';
import { bigStat, gauges, series } from './panels.ts';
import { batteryPercent, coldMinutes, coldWords, type DashboardSettings, higherIsWorse, lowerIsWorse, powerHours, waterDays } from './thresholds.ts';

const last = (field: string) => q(influxql(`last("${field}")`, 'reserve', { interval: false }));
// a stat with a sparkline needs a series: the mean per $__interval, the stat shows the last one
const trend = (field: string) => q(influxql(`mean("${field}")`, 'reserve'));

export function reservesDashboard(s: DashboardSettings) {
  return tendDashboard('tend-reserves', 'Village reserves', 'The shed screen: what the village holds now, and how long it lasts.')
    .withPanel(bigStat('Water (litres)', trend('water_liters'), { unit: 'litre', decimals: 0, steps: [[null, 'blue']], sparkline: true }))
    .withPanel(
      bigStat('Water days at current use', last('water_days_current'), {
        unit: 'd',
        decimals: 1,
        // the same days as the water rule judges at minimum use: one scale of days on the screen
        steps: lowerIsWorse(waterDays(s)),
      }),
    )
    .withPanel(
      bigStat(`Water days at minimum use (${s.minimum_water_lpd} L/person/day)`, last('water_days_minimum'), {
        unit: 'd',
        decimals: 1,
        steps: lowerIsWorse(waterDays(s)),
        description:
          'Litres in the tanks divided by population × minimum_water_lpd (the Sphere humanitarian minimum by default). Coloured as the water_low alert rule judges it.',
      }),
    )
    .withPanel(
      bigStat('Open incidents', last('incidents_open'), {
        decimals: 0,
        steps: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withPanel(
      bigStat('Power hours left', last('power_hours_left'), {
        unit: 'h',
        decimals: 1,
        steps: lowerIsWorse(powerHours(s)),
        description: 'Usable stored energy divided by the current load, ignoring solar: the cautious figure. Coloured as the reserve status judges it.',
      }),
    )
    .withPanel(
      bigStat('Battery charge', trend('power_soc_percent'), {
        unit: 'percent',
        decimals: 0,
        steps: lowerIsWorse(batteryPercent(s)),
        sparkline: true,
      }),
    )
    .withPanel(
      bigStat('Cold units above safe', last('cold_units_at_risk'), {
        decimals: 0,
        steps: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
    )
    .withPanel(
      bigStat('Sensors online', q(influxql('last("sensors_online")', 'reserve', { interval: false })), {
        decimals: 0,
        steps: [[null, 'orange']],
        description: 'Sensors that reported within their staleness window.',
      }),
    )
    .withPanel(
      gauges('Time above safe per cold unit', q(influxql('last("minutes_above_safe")', 'cold', { interval: false, groupBy: ['unit'] })).alias('$tag_unit'), {
        unit: 'm',
        min: 0,
        max: Math.max(180, (coldMinutes(s)?.critical ?? 0) + 60),
        steps: higherIsWorse(coldMinutes(s)),
        w: 12,
        description: `Minutes above the safe limit; ${coldWords(s)} (the food-safety window).`,
      }),
    )
    .withPanel(
      series('Water days left', [q(influxql('mean("water_days_current") AS "at current use", mean("water_days_minimum") AS "at minimum use"', 'reserve'))], {
        unit: 'd',
        w: 12,
      }),
    )
    .withPanel(
      series(
        'Power hours left and charge',
        [q(influxql('mean("power_hours_left") AS "hours left"', 'reserve'), 'A'), q(influxql('mean("power_soc_percent") AS "charge %"', 'reserve'), 'B')],
        { w: 24 },
      ),
    );
}
