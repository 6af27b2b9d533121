// "Cold storage": temperatures against their safe limits, time above safe, door openings.
import { influxql, q, tagVariable, tendDashboard } from './influxql.ts';
import { series } from './panels.ts';
import { coldMinutes, coldWords, type DashboardSettings, higherIsWorseLines } from './thresholds.ts';

const units = ['"unit" =~ /^$unit$/'];

export function coldDashboard(s: DashboardSettings) {
  return tendDashboard('tend-cold', 'Cold storage', `Fridges and freezers against their safe limits (food safety: ${coldWords(s)}).`, [
    tagVariable('unit', 'Cold unit', 'cold', 'unit', { multi: true }),
  ])
    .withPanel(
      series(
        'Temperature and safe limit',
        [
          q(influxql('mean("temp_c") AS "temperature", max("safe_max_c") AS "safe limit"', 'cold', { where: units, groupBy: ['unit'] })).alias(
            '$tag_unit $col',
          ),
        ],
        { unit: 'celsius', w: 24, h: 9 },
      ),
    )
    .withPanel(
      series('Minutes above safe', [q(influxql('max("minutes_above_safe")', 'cold', { where: units, groupBy: ['unit'] })).alias('$tag_unit')], {
        unit: 'm',
        steps: higherIsWorseLines(coldMinutes(s)),
        stepsAsLines: true,
      }),
    )
    .withPanel(
      series(
        'Door open',
        [q(influxql('max("value")', 'reading', { where: ['"kind" = \'door_open\''], groupBy: ['sensor'], fill: '0' })).alias('$tag_sensor')],
        { bars: true, min: 0, max: 1, description: '1 while a door reported open during the interval.' },
      ),
    );
}
