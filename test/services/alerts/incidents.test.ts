// Grouping into incidents, crisis detection, one prompt per crisis updated in place, the
// all-clear, notes, and a restart in the middle of an incident.
import { afterEach, describe, expect, it } from 'vitest';
import { NoteError } from '../../../services/assembly/assembly.ts';
import { isCrisis } from '../../../services/alerts/incidents.ts';
import { checkAlert, checkPrompt } from '../../../services/assembly/language.ts';
import type { Alert } from '../../../core/types.ts';
import { tempDir } from '../../helpers/net.ts';
import { harness, HOUR, MIN, type Harness } from './harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** storm first, then a leak on the north tank: the founding scenario in miniature */
function stormWithLeak(h: Harness): void {
  h.run(30 * MIN, 5 * MIN);
  h.run(30 * MIN, 5 * MIN, (w) => {
    w.tendency = -6.5;
    w.gust = 26;
    w.pressure = 995;
  });
  h.run(60 * MIN, 5 * MIN, (w) => {
    w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
  });
}

describe('incidents', () => {
  it('a storm alone is an incident but not a crisis; no prompt', () => {
    const h = harness();
    h.run(HOUR, 5 * MIN, (w) => {
      w.tendency = -4;
    });
    expect(h.incidents.at(-1)).toMatchObject({ crisis: false, domains: ['weather'], prompt_id: null });
    expect(h.alerting.prompts()).toEqual([]);
  });

  it('a storm with damage is one crisis incident with one prompt, updated as things change', () => {
    const h = harness();
    stormWithLeak(h);
    const incidentIds = new Set(h.incidents.map((i) => i.id));
    expect(incidentIds.size).toBe(1);
    const inc = h.incidents.at(-1)!;
    expect(inc).toMatchObject({ crisis: true, exercise: false });
    expect(inc.domains.sort()).toEqual(['water', 'weather']);
    const open = h.alerting.prompts();
    expect(open).toHaveLength(1);
    const p = open[0]!;
    expect(p).toMatchObject({ incident_id: inc.id, status: 'open', version: 1 });
    expect(p.damaged.join('\n')).toMatch(/^North tank: losing about/);
    expect(p.working.join('\n')).toMatch(/School tank/);
    expect(p.working.join('\n')).toMatch(/Battery bank/);
    expect(p.working.join('\n')).toMatch(/Kitchen fridge/);
    expect(p.situation[0]!.text).toMatch(/^Storm warning/);
    expect(p.questions.every((q) => q.endsWith('?'))).toBe(true);
    // the reserve figures are the status's own numbers at the moment the prompt was issued
    h.prompts.forEach((x, i) => {
      const st = h.promptStatus[i]!;
      expect(x.reserves).toMatchObject({
        water_days_current: st.water.days_left_current,
        water_days_minimum: st.water.days_left_minimum,
        power_hours_left: st.power.hours_left,
      });
    });

    // power starts swinging: the same prompt, version 2
    h.run(20 * MIN, MIN, (w, e) => {
      w.voltage = (e / MIN) % 2 ? 44 : 53;
    });
    const after = h.alerting.prompts();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: p.id, version: 2 });
    expect(after[0]!.damaged.some((d) => d.startsWith('Power supply'))).toBe(true);
    expect(new Set(h.incidents.map((i) => i.id)).size).toBe(1);
    expect(new Set(h.prompts.map((x) => x.id)).size).toBe(1);

    // neighbours offer help: another update
    h.offers.push({ village: 'birchmoor', offer: 'a repair crew and 2,000 L of water', heard_at: new Date(h.clock.now()).toISOString() });
    h.step(MIN, (w) => {
      w.voltage = 44;
    });
    expect(h.alerting.prompt(p.id)).toMatchObject({ version: 3, neighbours: [{ village: 'birchmoor' }] });
    expect(h.alerting.prompt(p.id)!.questions.some((q) => /Neighbouring villages offer help/.test(q))).toBe(true);

    // repairs: everything calm; after the quiet time the incident closes and the prompt with it
    h.run(5 * HOUR, 5 * MIN, (w) => {
      w.voltage = 50;
      w.tendency = 0.5;
      w.gust = 6;
    });
    expect(h.alerting.alerts()).toEqual([]);
    expect(h.alerting.prompts()).toEqual([]);
    const closed = h.alerting.prompt(p.id)!;
    expect(closed.status).toBe('closed');
    expect(closed.closed_at).not.toBeNull();
    expect(closed.headline).toMatch(/^All clear in Ashgrove/);
    expect(h.incidents.at(-1)!.closed_at).not.toBeNull();
    for (const x of [...h.prompts]) expect(checkPrompt(x)).toEqual([]);
    for (const a of h.alerts) expect(checkAlert(a)).toEqual([]);
  });

  it('alerts far apart in time form separate incidents', () => {
    const h = harness({ incident_close_s: 600 });
    h.run(20 * MIN, MIN, (w) => {
      w.soc = 30;
    });
    h.run(40 * MIN, MIN, (w) => {
      w.soc = 70;
    });
    h.run(5 * HOUR, 10 * MIN);
    h.run(20 * MIN, MIN, (w) => {
      w.fridge = 9;
    });
    expect(new Set(h.incidents.map((i) => i.id)).size).toBe(2);
  });

  it('alerts that start close together join the open incident', () => {
    const h = harness();
    h.run(20 * MIN, MIN, (w) => {
      w.soc = 30;
    });
    h.run(20 * MIN, MIN, (w) => {
      w.fridge = 9;
    });
    const ids = new Set(h.incidents.map((i) => i.id));
    expect(ids.size).toBe(1);
    // two reserve domains degrading together make it a crisis
    expect(h.incidents.at(-1)!.crisis).toBe(true);
    expect(h.alerting.prompts()).toHaveLength(1);
  });

  it('a week after it resolved, an alert of a closed incident leaves memory as it does at a restart, and stays on disk', () => {
    const h = harness();
    h.run(HOUR, 5 * MIN, (w) => {
      w.tendency = -4;
    });
    const storm = h.alerts.find((a) => a.rule === 'storm')!;
    const incident = h.incidents.at(-1)!.id;
    h.run(4 * HOUR, 5 * MIN, (w) => {
      w.tendency = 0;
    });
    expect(h.alerts.filter((a) => a.id === storm.id).at(-1)).toMatchObject({ state: 'resolved' });
    // six days on: still held (a prompt, the page's recent list, a restart all see it)
    h.run(6 * 24 * HOUR, HOUR);
    expect(h.book.incident(incident)!.closed_at).not.toBeNull();
    expect(h.book.alertsOf(incident).map((a) => a.id)).toEqual([storm.id]);
    // past a week: let go of, as a start would not load it, but only once its row is on disk
    // (no commit has run in this test: the harness's commits wait for timers)
    h.run(2 * 24 * HOUR, HOUR);
    expect(h.book.alertsOf(incident).map((a) => a.id)).toEqual([storm.id]);
    h.storage.commitNow();
    h.run(2 * HOUR, HOUR);
    expect(h.book.alertsOf(incident)).toEqual([]);
    expect(h.storage.db.prepare('SELECT state FROM alert_alerts WHERE id = ?').get(storm.id)).toEqual({ state: 'resolved' });
  });

  it('crisis rule: critical alone, two domains, or storm with damage', () => {
    const a = (rule: string, domain: Alert['domain'], severity: Alert['severity'] = 'warning'): Alert => ({
      id: rule,
      rule,
      subject: 's',
      domain,
      severity,
      state: 'firing',
      title: '',
      detail: '',
      value: null,
      started_at: '',
      fired_at: '',
      resolved_at: null,
      incident_id: null,
    });
    expect(isCrisis([a('battery_low', 'power', 'critical')])).toBe(true);
    expect(isCrisis([a('storm', 'weather')])).toBe(false);
    expect(isCrisis([a('storm', 'weather'), a('sensor_offline', 'sensors')])).toBe(false);
    expect(isCrisis([a('storm', 'weather'), a('power_unstable', 'power')])).toBe(true);
    expect(isCrisis([a('battery_low', 'power'), a('water_low', 'water')])).toBe(true);
    expect(isCrisis([a('battery_low', 'power'), a('power_unstable', 'power')])).toBe(false);
  });
});

describe('notes', () => {
  it('adds notes to an open prompt and refuses unknown, closed, empty and too long', () => {
    const h = harness();
    stormWithLeak(h);
    const id = h.alerting.prompts()[0]!.id;
    const before = h.prompts.length;
    const p = h.alerting.addNote(id, { author: 'Mira (water crew)', text: 'The north tank inlet pipe is cracked; we can patch it by noon.' });
    expect(p.notes).toMatchObject([{ author: 'Mira (water crew)' }]);
    expect(h.prompts.length).toBe(before + 1);
    expect(() => h.alerting.addNote('prompt-99', { author: 'a', text: 'b' })).toThrow(NoteError);
    expect(() => h.alerting.addNote(id, { author: '', text: 'b' })).toThrow(/author/);
    expect(() => h.alerting.addNote(id, { author: 'a', text: 'x'.repeat(1001) })).toThrow(/too long \(1001 characters, at most 1000\)/);
    expect(() => h.alerting.addNote(id, null as never)).toThrow(NoteError);
    h.run(6 * HOUR, 10 * MIN, (w) => {
      w.tendency = 0;
      w.gust = 4;
    });
    expect(h.alerting.prompt(id)!.status).toBe('closed');
    try {
      h.alerting.addNote(id, { author: 'a', text: 'b' });
      expect.unreachable();
    } catch (err) {
      expect((err as NoteError).code).toBe('closed');
    }
  });
});

describe('restart', () => {
  it('mid-incident: alerts, incident, prompt and notes survive, and nothing is announced again', () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const h = harness(undefined, { dir: tmp.dir });
    stormWithLeak(h);
    const prompt = h.alerting.prompts()[0]!;
    h.alerting.addNote(prompt.id, { author: 'Jonas', text: 'Two people injured, both at the clinic and stable.' });
    const alertsBefore = h.alerting.alerts();
    const promptBefore = h.alerting.prompt(prompt.id);

    const h2 = h.restart();
    cleanups.push(() => h2.storage.close());
    expect(h2.alerting.alerts()).toEqual(alertsBefore);
    expect(h2.alerting.prompt(prompt.id)).toEqual(promptBefore);
    expect(h2.alerting.prompts()[0]!.notes).toMatchObject([{ author: 'Jonas' }]);
    // the world goes on as before: nothing is re-announced
    h2.run(10 * MIN, 5 * MIN, (w) => {
      w.liters.north = Math.max(0, w.liters.north! - (4000 * 5) / 60);
    });
    expect(h2.alerts).toEqual([]);
    expect(h2.incidents).toEqual([]);
    expect(h2.prompts).toEqual([]);
    // and a new change after the restart updates the same prompt
    h2.run(20 * MIN, MIN, (w, e) => {
      w.voltage = (e / MIN) % 2 ? 44 : 53;
    });
    expect(h2.prompts.at(-1)).toMatchObject({ id: prompt.id, version: prompt.version + 1 });
    expect(h2.prompts.at(-1)!.notes).toHaveLength(1);
    expect(h2.alerts.every((a) => !alertsBefore.some((b) => b.id === a.id) || a.state !== 'pending')).toBe(true);
  });
});

describe('drill', () => {
  it('an exercise opens a prompt marked exercise and closes it with an all-clear', () => {
    const h = harness();
    h.run(10 * MIN, MIN);
    h.alerting.startDrill({ duration_s: 600 });
    const p = h.alerting.prompts()[0]!;
    expect(p).toMatchObject({ exercise: true, status: 'open' });
    expect(p.headline).toMatch(/^Exercise: /);
    expect(p.damaged.some((d) => d.startsWith('North tank'))).toBe(true);
    expect(h.alerting.cap(p.id)).toMatch(/<status>Exercise<\/status>/);
    for (const a of h.alerting.alerts()) expect(a.title).toMatch(/^Exercise: /);
    h.run(11 * MIN, MIN);
    expect(h.alerting.prompts()).toEqual([]);
    expect(h.alerting.prompt(p.id)!.status).toBe('closed');
    expect(h.alerting.alerts()).toEqual([]);
    expect(checkPrompt(p)).toEqual([]);
  });
});
