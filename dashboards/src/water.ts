// "Water": each tank's level and litres, the village draw rate, refills and suspected leaks.
import { influxql, q, tagVariable, tendDashboard } from './influxql.ts';
import { gauges, series, tablePanel } from './panels.ts';
import { type DashboardSettings, lowerIsWorse, waterPercent } from './thresholds.ts';

const tanks = ['"tank" =~ /^$tank$/'];

export function waterDashboard(s: DashboardSettings) {
  return tendDashboard('tend-water', 'Water', 'Tank levels and litres, draw, refills and suspected leaks.', [
    tagVariable('tank', 'Tank', 'tank', 'tank', { multi: true }),
  ])
    .withPanel(
      gauges('Tanks now (% full)', q(influxql('last("percent")', 'tank', { where: tanks, interval: false, groupBy: ['tank'] })).alias('$tag_tank'), {
        unit: 'percent',
        min: 0,
        max: 100,
        // the water_low rule's percent thresholds (it judges the village's total the same way)
        steps: lowerIsWorse(waterPercent(s)),
        w: 24,
        h: 6,
      }),
    )
    .withPanel(series('Litres per tank', [q(influxql('mean("liters")', 'tank', { where: tanks, groupBy: ['tank'] })).alias('$tag_tank')], { unit: 'litre' }))
    .withPanel(
      series('Level per tank', [q(influxql('mean("level_mm")', 'tank', { where: tanks, groupBy: ['tank'] })).alias('$tag_tank')], { unit: 'lengthmm' }),
    )
    .withPanel(
      series('Village draw rate', [q(influxql('mean("draw_lph") AS "draw"', 'water'))], {
        unit: 'suffix: L/h',
        description: 'Net outflow over a rolling window, refills excluded.',
      }),
    )
    .withPanel(
      series(
        'Refills (litres added per interval)',
        [q(influxql('non_negative_difference(max("liters"))', 'tank', { where: tanks, groupBy: ['tank'] })).alias('$tag_tank')],
        { unit: 'litre', bars: true, description: 'Rises in each tank between intervals: rain, deliveries, pumping.' },
      ),
    )
    .withPanel(
      series('Water days left', [q(influxql('mean("days_left_current") AS "at current use", mean("days_left_minimum") AS "at minimum use"', 'water'))], {
        unit: 'd',
      }),
    )
    .withPanel(
      tablePanel(
        'Suspected leaks and other water alerts',
        q(
          `SELECT "title", "subject", "severity", "state", "value" FROM "alert" WHERE "village" =~ /^$village$/ AND "domain" = 'water' AND $timeFilter ORDER BY time DESC`,
        ).table(),
        { description: 'A sudden drop beyond normal draw raises an alert: a leak, a burst pipe or damage?' },
      ),
    );
}
