// The alert state machine, one per rule:subject: pending → firing → resolved.
// - pending when a rule first sees trouble; firing once trouble has lasted hold_s;
// - brief clear spells shorter than clear_hold_s do not end it (a value wobbling on a
//   threshold raises one alert, not a stream);
// - resolved after clear_hold_s of calm; trouble again within reopen_s resumes the same alert,
//   which then says when it came back (`reopened_at`, and "Again since …" leading its detail).
// The engine only changes state and reports what changed; announcing is alerting.ts's job.
import type { Alert, Severity } from '../../core/types.ts';
import type { AllRuleParams, RuleName } from '../../config/rules.ts';
import { shortTime } from '../../core/format.ts';
import { type Say, sayIn } from '../../core/i18n.ts';
import type { Condition } from './rule-types.ts';

export interface KeyState {
  /** the current or most recent alert of this rule:subject */
  alert: Alert | null;
  /** epoch ms since when the rule has been clear while the alert is active */
  clearSince: number | null;
  /** how many alerts this key has had: the n in `<rule>:<subject>:<n>` */
  seq: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertEngine {
  readonly keys = new Map<string, KeyState>();
  /** the rules with at least one key (keys are only ever added): a clear of any other rule changes nothing */
  private keyed = { size: -1, rules: new Set<string>() };

  private rulesWithKeys(): Set<string> {
    if (this.keyed.size !== this.keys.size) {
      const rules = new Set<string>();
      for (const k of this.keys.keys()) rules.add(k.slice(0, k.indexOf(':')));
      this.keyed = { size: this.keys.size, rules };
    }
    return this.keyed.rules;
  }

  constructor(
    private readonly params: AllRuleParams,
    /** the village's zone, for the times people read in a detail */
    private readonly timeZone = 'UTC',
    /** the village's language (BCP 47), for the words people read in a detail */
    language = 'en',
  ) {
    this.say = sayIn(language);
  }
  private readonly say: Say;

  /** A reopened alert's detail leads with when it came back: its first time alone would mislead. */
  private detail(a: Alert, c: Condition): string {
    if (!a.reopened_at) return c.detail;
    const first = a.fired_at ?? a.started_at;
    return this.say('alert.reopened', 'Again since {time}, first raised {first}. {detail}', {
      time: shortTime(a.reopened_at, this.timeZone),
      first: shortTime(first, this.timeZone),
      detail: c.detail,
    }).trim();
  }

  static key(rule: string, subject: string): string {
    return `${rule}:${subject}`;
  }

  held(rule: RuleName, subject: string): Severity | null {
    if (!this.rulesWithKeys().has(rule)) return null;
    const a = this.keys.get(AlertEngine.key(rule, subject))?.alert;
    return a && a.state !== 'resolved' ? a.severity : null;
  }

  /** Feed what the rules see now; returns the alerts whose state or severity changed. */
  step(now: number, conditions: Condition[]): Alert[] {
    const changed: Alert[] = [];
    const keyed = this.rulesWithKeys();
    for (const c of conditions) {
      // a clear with no alert behind it changes nothing (most conditions, under load)
      if (!c.severity && !keyed.has(c.rule)) continue;
      const k = AlertEngine.key(c.rule, c.subject);
      let st = this.keys.get(k);
      if (!st) {
        if (!c.severity) continue;
        st = { alert: null, clearSince: null, seq: 0 };
        this.keys.set(k, st);
        keyed.add(c.rule);
      }
      const p = this.params[c.rule];
      const a = st.alert;
      if (c.severity) {
        st.clearSince = null;
        if (!a || a.state === 'resolved') {
          const resumes = a?.resolved_at && a.fired_at && now - Date.parse(a.resolved_at) < p.reopen_s * 1000;
          if (resumes && a) {
            // same trouble back soon after calm: the same alert goes on, already proven by its hold
            Object.assign(a, { state: 'firing', resolved_at: null, reopened_at: iso(now), severity: c.severity, title: c.title, value: c.value });
            a.detail = this.detail(a, c);
            changed.push(a);
          } else {
            st.seq++;
            const fresh: Alert = {
              id: `${k}:${st.seq}`,
              rule: c.rule,
              subject: c.subject,
              domain: c.domain,
              severity: c.severity,
              state: 'pending',
              title: c.title,
              detail: c.detail,
              value: c.value,
              started_at: iso(now),
              fired_at: null,
              resolved_at: null,
              reopened_at: null,
              incident_id: null,
            };
            if (p.hold_s <= 0) Object.assign(fresh, { state: 'firing', fired_at: iso(now) });
            st.alert = fresh;
            changed.push(fresh);
          }
          continue;
        }
        const was = a.severity;
        Object.assign(a, { severity: c.severity, title: c.title, detail: this.detail(a, c), value: c.value });
        if (a.state === 'pending' && now - Date.parse(a.started_at) >= p.hold_s * 1000) {
          a.state = 'firing';
          a.fired_at = iso(now);
          changed.push(a);
        } else if (was !== c.severity) {
          changed.push(a);
        }
      } else if (a && a.state !== 'resolved') {
        st.clearSince ??= now;
        if (now - st.clearSince >= p.clear_hold_s * 1000) {
          a.state = 'resolved';
          a.resolved_at = iso(now);
          a.value = c.value;
          st.clearSince = null;
          changed.push(a);
        }
      }
    }
    return changed;
  }
}
