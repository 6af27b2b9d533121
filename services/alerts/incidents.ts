// Grouping firing alerts into incidents, and deciding when an incident is a crisis
// (any alert critical, two reserve domains degrading together, or a storm coinciding
// with damage). An incident closes once all its alerts have been resolved for close_s.
import type { Alert, Domain, Incident } from '../../core/types.ts';

/** rules whose firing means something is broken, not just low or windy */
export const DAMAGE_RULES = new Set(['tank_drop', 'power_unstable', 'power_out', 'cold_above_safe']);
const RESERVE_DOMAINS = new Set<Domain | 'sensors'>(['water', 'power', 'cold']);
/** rules that find something worth a look over days, not a reserve degrading now: never a crisis by themselves */
const SLOW_RULES = new Set(['night_flow']);

export interface IncidentOptions {
  groupWindowS: number;
  closeS: number;
}

export class IncidentBook {
  readonly incidents = new Map<string, Incident>();
  seq = 0;

  constructor(private readonly opts: IncidentOptions) {}

  open(): Incident[] {
    return [...this.incidents.values()].filter((i) => !i.closed_at);
  }

  /**
   * Place alerts that just fired (or resumed) into an incident: the open incident of the same kind
   * (real or exercise) if it still has active alerts or its last alert fired within the group
   * window; otherwise a new one. Returns the incidents that changed.
   */
  place(now: number, changed: Alert[], all: Map<string, Alert>, exercise: (a: Alert) => boolean): Set<Incident> {
    const touched = new Set<Incident>();
    for (const a of changed) {
      if (a.state !== 'firing') {
        const inc = a.incident_id ? this.incidents.get(a.incident_id) : undefined;
        if (inc && !inc.closed_at) touched.add(inc);
        continue;
      }
      let inc = a.incident_id ? this.incidents.get(a.incident_id) : undefined;
      if (inc?.closed_at) inc = undefined;
      if (!inc) {
        const ex = exercise(a);
        inc = this.open().find((i) => i.exercise === ex && this.joinable(i, now, all));
        if (!inc) {
          this.seq++;
          inc = {
            id: `incident-${this.seq}`,
            opened_at: new Date(now).toISOString(),
            closed_at: null,
            alert_ids: [],
            domains: [],
            crisis: false,
            prompt_id: null,
            exercise: ex,
          };
          this.incidents.set(inc.id, inc);
        }
        a.incident_id = inc.id;
      }
      if (!inc.alert_ids.includes(a.id)) inc.alert_ids.push(a.id);
      if (!inc.domains.includes(a.domain)) inc.domains.push(a.domain);
      touched.add(inc);
    }
    for (const inc of touched) {
      if (!inc.crisis && isCrisis(alertsOf(inc, all))) inc.crisis = true;
    }
    return touched;
  }

  /** Close incidents whose alerts have all been resolved for close_s. */
  closeQuiet(now: number, all: Map<string, Alert>): Incident[] {
    const closed: Incident[] = [];
    for (const inc of this.open()) {
      const alerts = alertsOf(inc, all);
      if (alerts.some((a) => a.state !== 'resolved' && a.incident_id === inc.id)) continue;
      const last = Math.max(...alerts.map((a) => Date.parse(a.resolved_at ?? inc.opened_at)), Date.parse(inc.opened_at));
      if (now - last >= this.opts.closeS * 1000) {
        inc.closed_at = new Date(now).toISOString();
        closed.push(inc);
      }
    }
    return closed;
  }

  private joinable(inc: Incident, now: number, all: Map<string, Alert>): boolean {
    const alerts = alertsOf(inc, all);
    if (alerts.some((a) => a.state !== 'resolved')) return true;
    const lastFired = Math.max(...alerts.map((a) => Date.parse(a.fired_at ?? a.started_at)), Date.parse(inc.opened_at));
    return now - lastFired <= this.opts.groupWindowS * 1000;
  }
}

/** The incident's alerts that are still known, in the order they joined. */
export function alertsOf(inc: Incident | undefined, all: Map<string, Alert>): Alert[] {
  return (inc?.alert_ids ?? []).map((id) => all.get(id)).filter((a): a is Alert => !!a);
}

/** The crisis rule (docs/architecture.md), over the alerts of one incident that are firing now. */
export function isCrisis(alerts: Alert[]): boolean {
  const firing = alerts.filter((a) => a.state === 'firing');
  if (firing.some((a) => a.severity === 'critical')) return true;
  const degraded = new Set(firing.filter((a) => RESERVE_DOMAINS.has(a.domain) && !SLOW_RULES.has(a.rule)).map((a) => a.domain));
  if (degraded.size >= 2) return true;
  const storm = firing.some((a) => a.domain === 'weather');
  return storm && firing.some((a) => DAMAGE_RULES.has(a.rule));
}
