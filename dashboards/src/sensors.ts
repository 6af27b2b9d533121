// "Sensors": last seen, readings per interval, rejects by reason, device and connection states.
import { influxql, q, tagVariable, tendDashboard } from './influxql.ts';
import { series, tablePanel, timeline } from './panels.ts';

export function sensorsDashboard() {
  return tendDashboard('tend-sensors', 'Sensors', 'Is every sensor reporting, and what did tend refuse?', [
    tagVariable('sensor', 'Sensor', 'reading', 'sensor', { multi: true }),
  ])
    .withPanel(
      tablePanel(
        'Last seen',
        q(
          influxql('last("value") AS "value", last("raw") AS "raw"', 'reading', {
            where: ['"sensor" =~ /^$sensor$/'],
            interval: false,
            groupBy: ['sensor', 'device', 'kind'],
          }),
        ).table(),
        { h: 9, description: 'The time column is when each sensor last sent an accepted reading.' },
      ),
    )
    .withPanel(series('Sensors online', [q(influxql('min("sensors_online") AS "online", max("sensors_total") AS "configured"', 'reserve'))], { h: 9 }))
    .withPanel(
      series(
        'Readings per interval',
        [q(influxql('count("value")', 'reading', { where: ['"sensor" =~ /^$sensor$/'], groupBy: ['sensor'], fill: '0' })).alias('$tag_sensor')],
        { bars: true },
      ),
    )
    .withPanel(
      series('Rejected by reason', [q(influxql('sum("count")', 'reject', { groupBy: ['reason'], fill: '0' })).alias('$tag_reason')], {
        bars: true,
        description: 'Readings ingest refused, counted per reason (not JSON, unknown device, bad checksum, out of range …).',
      }),
    )
    .withPanel(
      timeline('Devices online', q(influxql('last("online")', 'device', { groupBy: ['device'], fill: 'previous' })).alias('$tag_device'), {
        steps: [
          [null, 'red'],
          [1, 'green'],
        ],
        description: "From each device's status topic (MQTT will), serial cable or Firmata board.",
      }),
    )
    .withPanel(
      timeline(
        'Connections (MQTT broker, serial ports, InfluxDB, federation)',
        q(influxql('last("connected")', 'link', { groupBy: ['link'], fill: 'previous' })).alias('$tag_link'),
        {
          steps: [
            [null, 'red'],
            [1, 'green'],
          ],
        },
      ),
    );
}
