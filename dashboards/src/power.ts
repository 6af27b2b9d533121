// "Power": state of charge, load, solar, net, battery voltage, hours left.
import { influxql, q, tendDashboard } from './influxql.ts';
import { series } from './panels.ts';
import { batteryPercent, type DashboardSettings, lowerIsWorseLines } from './thresholds.ts';

export function powerDashboard(s: DashboardSettings) {
  return tendDashboard('tend-power', 'Power', 'Battery bank, load and solar.')
    .withPanel(
      series('State of charge', [q(influxql('mean("soc_percent") AS "charge"', 'power'))], {
        unit: 'percent',
        min: 0,
        max: 100,
        steps: lowerIsWorseLines(batteryPercent(s)),
        stepsAsLines: true,
      }),
    )
    .withPanel(
      series('Hours left at current load', [q(influxql('mean("hours_left") AS "hours left"', 'power'))], {
        unit: 'h',
        description: 'Ignores solar: the cautious figure.',
      }),
    )
    .withPanel(
      series('Load, solar and net', [q(influxql('mean("load_w") AS "load", mean("solar_w") AS "solar", mean("net_w") AS "net"', 'power'))], {
        unit: 'watt',
        w: 24,
        description: 'Net above zero: the bank is charging.',
      }),
    )
    .withPanel(series('Battery voltage', [q(influxql('mean("voltage_v") AS "voltage", min("voltage_v") AS "lowest"', 'power'))], { unit: 'volt' }))
    .withPanel(
      series('Stored and usable energy', [q(influxql('mean("stored_kwh") AS "stored", mean("usable_kwh") AS "usable"', 'power'))], { unit: 'kwatth' }),
    );
}
