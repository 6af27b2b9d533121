// The village's open incidents as its neighbours are told them, gathered from the hub's events:
// incidents, assembly prompts and the alerts the status carries. Incidents we only know through an
// open prompt or a firing alert (after a restart, before the alerts module re-emits them) still
// count as open; a closed one never comes back through an old prompt or alert.
import type { Alert, AssemblyPrompt, Incident, ReserveStatus } from '../../core/types.ts';
import { summarizeIncidents } from './summary.ts';
import type { FedIncidentSummary } from './topics.ts';

/** closed incident ids remembered, so late prompts and alerts of them are not taken as open */
const CLOSED_KEPT = 1000;

export class OpenIncidents {
  private readonly incidents = new Map<string, Incident>();
  private readonly closed = new Set<string>();
  private readonly prompts = new Map<string, AssemblyPrompt>();
  private alerts: Alert[] = [];

  status(s: ReserveStatus): void {
    this.alerts = s.alerts;
    for (const p of s.assembly)
      if (!this.prompts.has(p.incident_id) || this.prompts.get(p.incident_id)!.version <= p.version) this.prompts.set(p.incident_id, p);
  }

  incident(i: Incident): void {
    if (i.closed_at) {
      this.incidents.delete(i.id);
      this.closed.add(i.id);
      if (this.closed.size > CLOSED_KEPT) this.closed.delete(this.closed.values().next().value!);
    } else {
      this.incidents.set(i.id, i);
    }
  }

  assembly(p: AssemblyPrompt): void {
    if (p.status === 'open') this.prompts.set(p.incident_id, p);
    else this.prompts.delete(p.incident_id);
  }

  /** the open incidents as the `incidents` topic carries them */
  summary(): FedIncidentSummary[] {
    const all = new Map(this.incidents);
    for (const p of this.prompts.values()) {
      if (p.status !== 'open' || all.has(p.incident_id) || this.closed.has(p.incident_id)) continue;
      all.set(p.incident_id, {
        id: p.incident_id,
        opened_at: p.opened_at,
        closed_at: null,
        alert_ids: [],
        domains: [],
        crisis: true,
        prompt_id: p.id,
        exercise: p.exercise,
      });
    }
    for (const a of this.alerts) {
      if (!a.incident_id || a.state === 'resolved' || this.closed.has(a.incident_id)) continue;
      const known = all.get(a.incident_id);
      if (!known) {
        all.set(a.incident_id, {
          id: a.incident_id,
          opened_at: a.started_at,
          closed_at: null,
          alert_ids: [a.id],
          domains: [a.domain],
          crisis: false,
          prompt_id: null,
          exercise: false,
        });
      } else if (!known.domains.includes(a.domain) && !this.incidents.has(a.incident_id)) {
        known.domains = [...known.domains, a.domain];
      }
    }
    return summarizeIncidents(all.values(), this.prompts.values(), this.alerts);
  }
}
