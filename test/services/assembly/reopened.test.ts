// An alert that came back is told from when it came back: the prompt's "since …" for a tank's
// loss and for a device not reporting uses the alert's reopened_at when set, not its first firing.
import { describe, expect, it } from 'vitest';
import type { Alert, Incident } from '../../../core/types.ts';
import { blankStatus } from '../../../services/assembly/drill.ts';
import { buildPrompt } from '../../../services/assembly/prompt.ts';
import { demoConfig } from '../../helpers/village.ts';

const FIRST = '2026-11-24T03:00:00.000Z';
const AGAIN = '2026-11-24T09:40:00.000Z';
const NOW = Date.parse('2026-11-24T10:00:00Z');

function alert(rule: string, subject: string, title: string, reopened: string | null): Alert {
  return {
    id: `${rule}:${subject}:1`,
    rule,
    subject,
    domain: rule === 'tank_drop' ? 'water' : 'sensors',
    severity: 'warning',
    state: 'firing',
    title,
    detail: '',
    value: 900,
    started_at: FIRST,
    fired_at: FIRST,
    resolved_at: null,
    reopened_at: reopened,
    incident_id: 'incident-1',
  };
}

function prompt(reopened: string | null) {
  const config = demoConfig();
  config.village.timezone = 'UTC';
  const status = blankStatus(config, NOW);
  status.water.tanks = [
    { id: 'north', name: 'North tank', liters: 9000, capacity_liters: 12_000, percent: 75, level_mm: 1500, status: 'watch', last_seen: AGAIN, stale: false },
  ];
  const incident: Incident = {
    id: 'incident-1',
    opened_at: FIRST,
    closed_at: null,
    alert_ids: [],
    domains: ['water', 'sensors'],
    crisis: true,
    prompt_id: null,
    exercise: false,
  };
  const alerts = [
    alert('tank_drop', 'north', 'North tank is losing water fast', reopened),
    alert('sensor_offline', 'weather-mast', 'Weather mast is not reporting', reopened),
  ];
  return buildPrompt({ config, status, incident, alerts, neighbours: [], now: NOW });
}

describe('"since" of an alert that came back', () => {
  it('is the time it came back', () => {
    const p = prompt(AGAIN);
    expect(p.damaged[0]).toMatch(/^North tank: losing about 900 L an hour since 24 Nov 09:40 UTC/);
    expect(p.can_wait).toContain('Weather mast: not reporting since 24 Nov 09:40 UTC; the figures here leave its readings out');
    expect(p.items.find((i) => i.id === 'tank-north')).toEqual({ id: 'tank-north', name: 'North tank', lists: ['damaged', 'urgent'] });
  });
  it('is the first firing for an alert that never came back', () => {
    const p = prompt(null);
    expect(p.damaged[0]).toMatch(/since 24 Nov 03:00 UTC/);
  });
});
