// Shared pieces of the tend dashboards: an InfluxQL query builder (the foundation SDK has no
// InfluxDB query type, so this one implements cog's Dataquery), the data source and template
// variables, and the alert/incident annotations every dashboard carries.
// InfluxDB 1.x has no Flux, so every query is raw InfluxQL with Grafana's macros: $timeFilter,
// $__interval and regex-matched template variables (/^$village$/ works for one, many or All).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as grafana from '@grafana/grafana-foundation-sdk/dashboard';
import type * as common from '@grafana/grafana-foundation-sdk/common';

// loaded only when `tend dashboards` runs (see panels.ts)
const dashboard = await import('@grafana/grafana-foundation-sdk/dashboard');

/** Every panel names the data source through the `datasource` variable: no hard-coded uid. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: '${datasource}' is Grafana's variable syntax, filled in by Grafana, not JS
export const DS: common.DataSourceRef = { type: 'influxdb', uid: '${datasource}' };

export interface InfluxQLQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
  hide?: boolean;
  // annotation columns (Grafana's InfluxDB annotation editor reads them from the target)
  fromAnnotations?: boolean;
  textColumn?: string;
  titleColumn?: string;
  tagsColumn?: string;
}

export class InfluxQLBuilder implements cog.Builder<InfluxQLQuery> {
  private readonly q: Omit<InfluxQLQuery, '_implementsDataqueryVariant'>;
  constructor(query: string, refId = 'A') {
    this.q = { refId, datasource: DS, query: query.replace(/\s+/g, ' ').trim(), rawQuery: true, resultFormat: 'time_series' };
  }
  table(): this {
    this.q.resultFormat = 'table';
    return this;
  }
  alias(a: string): this {
    this.q.alias = a;
    return this;
  }
  annotation(cols: { text: string; title?: string; tags?: string }): this {
    this.q.fromAnnotations = true;
    this.q.resultFormat = 'table';
    this.q.textColumn = cols.text;
    if (cols.title) this.q.titleColumn = cols.title;
    if (cols.tags) this.q.tagsColumn = cols.tags;
    return this;
  }
  build(): InfluxQLQuery {
    // plain data once serialised; the method only satisfies cog's Dataquery marker
    return { ...this.q, _implementsDataqueryVariant() {} };
  }
}

/** `SELECT … WHERE <village> AND <extra> AND $timeFilter …` with the village filter filled in. */
export function influxql(
  select: string,
  from: string,
  opts: { where?: string[]; groupBy?: string[]; fill?: string; interval?: boolean; tail?: string } = {},
): string {
  const where = ['"village" =~ /^$village$/', ...(opts.where ?? []), '$timeFilter'].join(' AND ');
  const group = [...(opts.interval === false ? [] : ['time($__interval)']), ...(opts.groupBy ?? []).map((g) => `"${g}"`)];
  let q = `SELECT ${select} FROM "${from}" WHERE ${where}`;
  if (group.length) q += ` GROUP BY ${group.join(', ')}`;
  if (opts.interval !== false) q += ` fill(${opts.fill ?? 'null'})`;
  if (opts.tail) q += ` ${opts.tail}`;
  return q;
}

export function q(query: string, refId = 'A'): InfluxQLBuilder {
  return new InfluxQLBuilder(query, refId);
}

export function datasourceVariable(): cog.Builder<grafana.VariableModel> {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('influxdb');
}

/** A tag-value variable (InfluxQL SHOW TAG VALUES), refreshed when the time range changes. */
export function tagVariable(
  name: string,
  label: string,
  measurement: string,
  key: string,
  opts: { multi?: boolean; villageFilter?: boolean } = {},
): cog.Builder<grafana.VariableModel> {
  const where = opts.villageFilter === false ? '' : ' WHERE "village" =~ /^$village$/';
  const v = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(`SHOW TAG VALUES FROM "${measurement}" WITH KEY = "${key}"${where}`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (opts.multi) v.multi(true).includeAll(true);
  return v;
}

export function villageVariable(): cog.Builder<grafana.VariableModel> {
  return tagVariable('village', 'Village', 'reserve', 'village', { villageFilter: false });
}

/** Alert and incident events, shown on every time-series panel of the dashboard. */
export function annotations(): cog.Builder<grafana.AnnotationQuery>[] {
  return [
    new dashboard.AnnotationQueryBuilder()
      .name('Alerts')
      .datasource(DS)
      .enable(true)
      .iconColor('orange')
      .target(
        q(`SELECT "title", "detail", "rule", "severity", "state" FROM "alert" WHERE "village" =~ /^$village$/ AND $timeFilter`, 'Alerts').annotation({
          title: 'title',
          text: 'detail',
          tags: 'state,severity,rule',
        }),
      ),
    new dashboard.AnnotationQueryBuilder()
      .name('Incidents')
      .datasource(DS)
      .enable(true)
      .iconColor('red')
      .target(
        q(`SELECT "title", "domains", "event" FROM "incident" WHERE "village" =~ /^$village$/ AND $timeFilter`, 'Incidents').annotation({
          title: 'title',
          text: 'domains',
          tags: 'event',
        }),
      ),
  ];
}

export function thresholds(steps: [number | null, string][]): cog.Builder<grafana.ThresholdsConfig> {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps.map(([value, color]) => ({ value, color })));
}

/** A tend dashboard with the shared variables, annotations, links and time settings. */
export function tendDashboard(
  uid: string,
  title: string,
  description: string,
  extraVariables: cog.Builder<grafana.VariableModel>[] = [],
): grafana.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['tend'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .timezone('browser')
    .refresh('30s')
    .time({ from: 'now-24h', to: 'now' })
    .variables([datasourceVariable(), villageVariable(), ...extraVariables])
    .annotations(annotations())
    .link(
      new dashboard.DashboardLinkBuilder('tend').type(dashboard.DashboardLinkType.Dashboards).tags(['tend']).asDropdown(true).includeVars(true).keepTime(true),
    );
}
