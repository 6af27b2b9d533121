// Pure mapping from tend's messages to InfluxDB line protocol (the schema is documented in
// services/history/README.md; the `reading` measurement, its tags and fields are a fixed contract).
// Line protocol: `measurement,tag=v,tag=v field=v,field="s" <ts>` — see
// https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
// Every numeric field is written as a float (never `i`), so a field never changes type: InfluxDB
// refuses a point whose field type differs from the shard's (a 400 that would set points aside).
import type { Alert, Incident, Level, Reading, RejectReason, ReserveStatus } from '../../core/types.ts';

/** Outbox classes, in the order the bound drops them (raw readings first). */
export const PointClass = {
  /** one point per accepted reading: dropped first when the outbox is full */
  raw: 0,
  /** derived tank/power/cold/weather/device/link/reject samples */
  derived: 1,
  /** reserve totals, alert and incident events: kept longest */
  keep: 2,
} as const;
export type PointClass = (typeof PointClass)[keyof typeof PointClass];

export interface Point {
  cls: PointClass;
  /** one line of line protocol, timestamp in ms (in ns when `ns`), no trailing newline */
  line: string;
  /** the timestamp is in nanoseconds: a reading offset within its millisecond (readingPoint) */
  ns?: boolean;
}

export type FieldValue = number | string | boolean | null | undefined;

/** Longest string field we write; longer notes are cut (InfluxDB 1.x allows 64 KiB). */
export const MAX_STRING_FIELD = 4096;

// Measurement names: commas and spaces are escaped.
export function escapeMeasurement(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[, ]/g, '\\$&');
}

// Tag keys, tag values and field keys: commas, equal signs and spaces are escaped. A newline
// cannot be escaped in line protocol at all, so it becomes a space. Other backslashes are kept
// as they are (InfluxDB 1.x does not unescape `\\` in tags), but a trailing one would escape the
// separator after it and InfluxDB refuses the line, so it is followed by a space: `\ ` reads
// back as one space.
export function escapeKey(s: string): string {
  let out = s.replace(/[\r\n]+/g, ' ').replace(/[,= ]/g, '\\$&');
  if (out.endsWith('\\') && !/[,= ]$/.test(s)) out += ' ';
  return out;
}

// String field values: inside double quotes; `"` and `\` are escaped.
export function escapeString(s: string): string {
  const cut = s.length > MAX_STRING_FIELD ? s.slice(0, MAX_STRING_FIELD) : s;
  return `"${cut.replace(/[\\"]/g, '\\$&').replace(/\r?\n/g, ' ')}"`;
}

function fieldValue(v: number | string | boolean): string | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    // a float literal: InfluxDB parses `5` as float too, so no `i` suffix ever
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return escapeString(v);
}

/**
 * One line of line protocol. Tags with empty/undefined values are left out (an empty tag value
 * is invalid); null/NaN fields are left out. Returns null when no field is left (no point).
 */
export function line(measurement: string, tags: Record<string, string | undefined | null>, fields: Record<string, FieldValue>, tsMs: number): string | null {
  let out = escapeMeasurement(measurement);
  // InfluxDB sorts tags itself, but pre-sorted tags are faster to index
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k];
    if (v === undefined || v === null || v === '') continue;
    out += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  let first = true;
  for (const k of Object.keys(fields)) {
    const raw = fields[k];
    if (raw === undefined || raw === null) continue;
    const v = fieldValue(raw);
    if (v === null) continue;
    out += `${(first ? ' ' : ',') + escapeKey(k)}=${v}`;
    first = false;
  }
  if (first) return null;
  return `${out} ${Math.round(tsMs)}`;
}

/** `ok` 0, `watch` 1, `strained` 2, `critical` 3, `unknown` -1: a number Grafana can colour. */
export function levelCode(l: Level): number {
  switch (l) {
    case 'ok':
      return 0;
    case 'watch':
      return 1;
    case 'strained':
      return 2;
    case 'critical':
      return 3;
    default:
      return -1;
  }
}

const b01 = (b: boolean | null | undefined): number | null => (b === null || b === undefined ? null : b ? 1 : 0);
const iso = (s: string | null | undefined): number | null => {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
};

// Hot path (one call per accepted reading): built by hand rather than through line().
const SAFE = /^[A-Za-z0-9_.:-]*$/;
const tagv = (s: string): string => (SAFE.test(s) ? s : escapeKey(s));

/** Offsets within one millisecond go up to this many nanoseconds. */
const MAX_NS_IN_MS = 999_999;

/**
 * InfluxDB keeps one point per series and time: a second reading of a sensor in the same
 * millisecond (no device time, so both stamped with the receive time) would overwrite the first.
 * This numbers the readings of each series within a millisecond, 0, 1, 2 …, in the order they
 * were accepted; readingPoint writes number n at the millisecond plus n nanoseconds. Only the
 * last millisecond of each series is remembered: readings come in time order per device.
 */
export class SameMsSequence {
  private last = new Map<string, { ms: number; n: number }>();

  next(r: Reading): number {
    // the series: measurement `reading` and its tags; the village is the same for every reading,
    // and a sensor's id names its device and kind too (the config fixes both)
    const ms = Math.round(r.ts);
    const seen = this.last.get(r.sensor);
    if (!seen) {
      this.last.set(r.sensor, { ms, n: 0 });
      return 0;
    }
    if (seen.ms !== ms) {
      seen.ms = ms;
      seen.n = 0;
      return 0;
    }
    // a million readings of one sensor in a millisecond cannot arrive; never spill into the next ms
    seen.n = Math.min(seen.n + 1, MAX_NS_IN_MS);
    return seen.n;
  }
}

/**
 * `reading`: tags village, device, sensor, kind; fields value (calibrated), raw, level_mm.
 * `n` (SameMsSequence) > 0 writes the time in nanoseconds, n ns after the reading's millisecond.
 */
export function readingPoint(village: string, r: Reading, n = 0): Point | null {
  if (!Number.isFinite(r.value) && !Number.isFinite(r.raw)) return null;
  // tags in sorted key order: device, kind, sensor, [source,] village; only a reading a person
  // entered carries source=manual, so the device series stay as they were
  const source = r.source === 'manual' ? ',source=manual' : '';
  let s = `reading,device=${tagv(r.device)},kind=${tagv(r.kind)},sensor=${tagv(r.sensor)}${source},village=${tagv(village)} `;
  let sep = '';
  if (Number.isFinite(r.value)) {
    s += `value=${r.value}`;
    sep = ',';
  }
  if (Number.isFinite(r.raw)) {
    s += `${sep}raw=${r.raw}`;
    sep = ',';
  }
  if (r.level_mm !== undefined && Number.isFinite(r.level_mm)) s += `${sep}level_mm=${r.level_mm}`;
  if (r.by) s += `,by=${escapeString(r.by)}`;
  if (r.note) s += `,note=${escapeString(r.note)}`;
  if (n > 0) return { cls: PointClass.raw, line: `${s} ${Math.round(r.ts)}${String(n).padStart(6, '0')}`, ns: true };
  return { cls: PointClass.raw, line: `${s} ${Math.round(r.ts)}` };
}

/** Derived samples of one reserve status: tank, water, power, cold, weather (class derived). */
export function statusPoints(s: ReserveStatus, ts: number): Point[] {
  const village = s.village.id;
  const out: Point[] = [];
  const push = (cls: PointClass, l: string | null) => {
    if (l) out.push({ cls, line: l });
  };
  for (const t of s.water.tanks) {
    push(
      PointClass.derived,
      line(
        'tank',
        { village, tank: t.id },
        {
          liters: t.liters,
          capacity_liters: t.capacity_liters,
          percent: t.percent,
          level_mm: t.level_mm,
          stale: b01(t.stale),
          status: t.status,
          status_code: levelCode(t.status),
          name: t.name,
        },
        ts,
      ),
    );
  }
  const w = s.water;
  push(
    PointClass.derived,
    line(
      'water',
      { village },
      {
        liters: w.liters,
        capacity_liters: w.capacity_liters,
        percent: w.percent,
        draw_lph: w.draw_lph,
        days_left_current: w.days_left_current,
        days_left_minimum: w.days_left_minimum,
        status: w.status,
        status_code: levelCode(w.status),
      },
      ts,
    ),
  );
  const p = s.power;
  push(
    PointClass.derived,
    line(
      'power',
      { village },
      {
        soc_percent: p.soc_percent,
        stored_kwh: p.stored_kwh,
        usable_kwh: p.usable_kwh,
        load_w: p.load_w,
        solar_w: p.solar_w,
        net_w: p.net_w,
        hours_left: p.hours_left,
        voltage_v: p.voltage_v,
        stale: b01(p.stale),
        status: p.status,
        status_code: levelCode(p.status),
      },
      ts,
    ),
  );
  for (const u of s.cold.units) {
    push(
      PointClass.derived,
      line(
        'cold',
        { village, unit: u.id },
        {
          temp_c: u.temp_c,
          safe_max_c: u.safe_max_c,
          minutes_above_safe: u.minutes_above_safe,
          door_open: b01(u.door_open),
          stale: b01(u.stale),
          status: u.status,
          status_code: levelCode(u.status),
          name: u.name,
        },
        ts,
      ),
    );
  }
  const x = s.weather;
  push(
    PointClass.derived,
    line(
      'weather',
      { village },
      {
        pressure_hpa: x.pressure_hpa,
        pressure_tendency_hpa_3h: x.pressure_tendency_hpa_3h,
        wind_ms: x.wind_ms,
        gust_ms: x.gust_ms,
        rain_mm: x.rain_mm,
        stale: b01(x.stale),
        status: x.status,
        status_code: levelCode(x.status),
      },
      ts,
    ),
  );
  push(PointClass.keep, reservePoint(s, ts));
  return out;
}

/** `reserve`: the village totals the shed screen shows (class keep: never dropped first). */
export function reservePoint(s: ReserveStatus, ts: number): string | null {
  const active = s.alerts.filter((a) => a.state !== 'resolved');
  const incidents = new Set(active.map((a) => a.incident_id).filter((i): i is string => !!i));
  return line(
    'reserve',
    { village: s.village.id },
    {
      population: s.village.population,
      water_liters: s.water.liters,
      water_percent: s.water.percent,
      water_days_current: s.water.days_left_current,
      water_days_minimum: s.water.days_left_minimum,
      power_hours_left: s.power.hours_left,
      power_soc_percent: s.power.soc_percent,
      cold_units: s.cold.units.length,
      cold_units_at_risk: s.cold.units.filter((u) => u.minutes_above_safe > 0 || u.status === 'strained' || u.status === 'critical').length,
      cold_minutes_above_safe_max: s.cold.units.reduce((m, u) => Math.max(m, u.minutes_above_safe), 0),
      sensors_online: s.sensors.online,
      sensors_total: s.sensors.total,
      sensors_stale: s.sensors.stale.length,
      rejected_total: s.sensors.rejected_total,
      alerts_active: active.length,
      incidents_open: incidents.size,
      assembly_open: s.assembly.filter((a) => a.status === 'open').length,
      water_status_code: levelCode(s.water.status),
      power_status_code: levelCode(s.power.status),
      cold_status_code: levelCode(s.cold.status),
      weather_status_code: levelCode(s.weather.status),
    },
    ts,
  );
}

/** `alert`: one point per state change, at the time of that change. */
export function alertPoint(village: string, a: Alert, now: number): Point | null {
  const ts = (a.state === 'resolved' ? iso(a.resolved_at) : a.state === 'firing' ? iso(a.fired_at) : iso(a.started_at)) ?? now;
  const l = line(
    'alert',
    { village, alert: a.id, rule: a.rule, subject: a.subject, domain: a.domain, severity: a.severity, state: a.state },
    {
      title: a.title,
      detail: a.detail,
      value: a.value,
      incident_id: a.incident_id ?? undefined,
      firing: a.state === 'firing' ? 1 : 0,
    },
    ts,
  );
  return l ? { cls: PointClass.keep, line: l } : null;
}

/** `incident`: a point when it opens (updated in place as alerts join) and one when it closes. */
export function incidentPoint(village: string, i: Incident, now: number): Point | null {
  const closed = i.closed_at !== null;
  const ts = (closed ? iso(i.closed_at) : iso(i.opened_at)) ?? now;
  const l = line(
    'incident',
    { village, incident: i.id, event: closed ? 'closed' : 'opened' },
    {
      title: `${i.crisis ? 'Crisis' : 'Incident'} ${closed ? 'closed' : 'opened'}: ${i.domains.join(', ') || 'no domain'}`,
      domains: i.domains.join(','),
      alerts: i.alert_ids.length,
      crisis: i.crisis ? 1 : 0,
      exercise: i.exercise ? 1 : 0,
      open: closed ? 0 : 1,
      prompt_id: i.prompt_id ?? undefined,
    },
    ts,
  );
  return l ? { cls: PointClass.keep, line: l } : null;
}

/** `device`: a device said online/offline (MQTT status topic, serial cable, board). */
export function devicePoint(village: string, e: { device: string; online: boolean; at: number }): Point | null {
  const l = line('device', { village, device: e.device }, { online: e.online ? 1 : 0 }, e.at);
  return l ? { cls: PointClass.derived, line: l } : null;
}

/** `reject`: refused readings counted per device and reason over a window (never one per reject). */
export function rejectPoint(village: string, device: string, reason: RejectReason | string, count: number, lastDetail: string, ts: number): Point | null {
  const l = line('reject', { village, device, reason }, { count, detail: lastDetail }, ts);
  return l ? { cls: PointClass.derived, line: l } : null;
}

/** `link`: connection state of a transport (broker, serial port, InfluxDB, federation). */
export function linkPoint(village: string, link: { name: string; kind: string; state: string; last_error: string | null }, ts: number): Point | null {
  const l = line(
    'link',
    { village, link: link.name, kind: link.kind },
    {
      state: link.state,
      connected: link.state === 'connected' || link.state === 'listening' ? 1 : 0,
      last_error: link.last_error ?? undefined,
    },
    ts,
  );
  return l ? { cls: PointClass.derived, line: l } : null;
}
