// Panel shapes the tend dashboards reuse: big stats for the shed screen, time series with the
// $__interval grouping, tables, state timelines.
import { DS, thresholds, type InfluxQLBuilder } from './influxql.ts';

// The SDK (~20 MB in memory) is loaded when `tend dashboards` runs, not with every village: the
// command imports this module on demand, and these awaits keep the SDK out of the start-up bundle.
const common = await import('@grafana/grafana-foundation-sdk/common');
const dashboard = await import('@grafana/grafana-foundation-sdk/dashboard');
const stat = await import('@grafana/grafana-foundation-sdk/stat');
const table = await import('@grafana/grafana-foundation-sdk/table');
const timeseries = await import('@grafana/grafana-foundation-sdk/timeseries');
const statetimeline = await import('@grafana/grafana-foundation-sdk/statetimeline');
const bargauge = await import('@grafana/grafana-foundation-sdk/bargauge');

type Steps = [number | null, string][];

/**
 * Shed-screen figures look only at the last RECENT of data (tend samples every 10 s): when tend or
 * its link is down the panel says "no recent data" instead of showing an old value as current.
 */
export const RECENT = '15m';
const NO_RECENT = 'no recent data';

/** A big number readable from across a room: background colour, large value, no sparkline clutter. */
export function bigStat(
  title: string,
  query: InfluxQLBuilder,
  opts: { unit?: string; decimals?: number; steps?: Steps; w?: number; h?: number; description?: string; sparkline?: boolean },
): InstanceType<typeof stat.PanelBuilder> {
  const p = new stat.PanelBuilder()
    .title(title)
    .datasource(DS)
    .withTarget(query)
    .unit(opts.unit ?? 'none')
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(opts.sparkline ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.Value)
    .justifyMode(common.BigValueJustifyMode.Center)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(opts.steps ?? [[null, 'blue']]))
    .timeFrom(opts.sparkline ? '6h' : RECENT)
    .noValue(NO_RECENT)
    .height(opts.h ?? 7)
    .span(opts.w ?? 6);
  if (opts.decimals !== undefined) p.decimals(opts.decimals);
  if (opts.description) p.description(opts.description);
  return p;
}

export function series(
  title: string,
  queries: InfluxQLBuilder[],
  opts: { unit?: string; w?: number; h?: number; description?: string; bars?: boolean; min?: number; max?: number; steps?: Steps; stepsAsLines?: boolean },
): InstanceType<typeof timeseries.PanelBuilder> {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .datasource(DS)
    .unit(opts.unit ?? 'none')
    .lineWidth(2)
    .fillOpacity(opts.bars ? 80 : 10)
    .spanNulls(true)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .height(opts.h ?? 8)
    .span(opts.w ?? 12);
  for (const q of queries) p.withTarget(q);
  if (opts.bars) p.drawStyle(common.GraphDrawStyle.Bars);
  if (opts.min !== undefined) p.min(opts.min);
  if (opts.max !== undefined) p.max(opts.max);
  if (opts.steps) {
    p.thresholds(thresholds(opts.steps));
    if (opts.stepsAsLines) p.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line));
  }
  if (opts.description) p.description(opts.description);
  return p;
}

export function tablePanel(
  title: string,
  query: InfluxQLBuilder,
  opts: { w?: number; h?: number; description?: string },
): InstanceType<typeof table.PanelBuilder> {
  const p = new table.PanelBuilder()
    .title(title)
    .datasource(DS)
    .withTarget(query)
    .height(opts.h ?? 8)
    .span(opts.w ?? 12);
  if (opts.description) p.description(opts.description);
  return p;
}

export function timeline(
  title: string,
  query: InfluxQLBuilder,
  opts: { w?: number; h?: number; description?: string; steps: Steps },
): InstanceType<typeof statetimeline.PanelBuilder> {
  const p = new statetimeline.PanelBuilder()
    .title(title)
    .datasource(DS)
    .withTarget(query)
    .thresholds(thresholds(opts.steps))
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .mergeValues(true)
    .showValue(common.VisibilityMode.Never)
    .height(opts.h ?? 8)
    .span(opts.w ?? 12);
  if (opts.description) p.description(opts.description);
  return p;
}

export function gauges(
  title: string,
  query: InfluxQLBuilder,
  opts: { unit?: string; w?: number; h?: number; min?: number; max?: number; steps?: Steps; description?: string },
): InstanceType<typeof bargauge.PanelBuilder> {
  const p = new bargauge.PanelBuilder()
    .title(title)
    .datasource(DS)
    .withTarget(query)
    .unit(opts.unit ?? 'none')
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(opts.steps ?? [[null, 'blue']]))
    .timeFrom(RECENT)
    .noValue(NO_RECENT)
    .height(opts.h ?? 7)
    .span(opts.w ?? 12);
  if (opts.min !== undefined) p.min(opts.min);
  if (opts.max !== undefined) p.max(opts.max);
  if (opts.description) p.description(opts.description);
  return p;
}
