// `tend dashboards [--config FILE]`: builds the Grafana dashboards from TypeScript
// (grafana-foundation-sdk) and writes them as JSON to dashboards/json/, which Grafana loads through
// dashboards/provisioning/. Their colours come from the village's alert rules, handed in as
// DashboardSettings (src/thresholds.ts). The committed JSON is built from the rule defaults; a test
// checks it equals what this generates, so the two never drift.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { coldDashboard } from './src/cold.ts';
import { powerDashboard } from './src/power.ts';
import { reservesDashboard } from './src/reserves.ts';
import { sensorsDashboard } from './src/sensors.ts';
import type { DashboardSettings } from './src/thresholds.ts';
import { waterDashboard } from './src/water.ts';

export type { DashboardSettings };

export const DASHBOARD_FILES = ['village-reserves.json', 'water.json', 'power.json', 'cold-storage.json', 'sensors.json'] as const;

/** file name → dashboard model, in the order the shed screen playlist would show them */
export function buildDashboards(s: DashboardSettings): Record<string, Dashboard> {
  const built = [reservesDashboard(s), waterDashboard(s), powerDashboard(s), coldDashboard(s), sensorsDashboard()].map((b) => b.build());
  return Object.fromEntries(DASHBOARD_FILES.map((f, i) => [f, built[i]!]));
}

/** The exact text written for a dashboard (stable key order from the builders, 2-space JSON). */
export function dashboardJson(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Write every dashboard to `outDir`; returns the files written. */
export async function generateDashboards(outDir: string, s: DashboardSettings): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const [name, d] of Object.entries(buildDashboards(s))) {
    const file = join(outDir, name);
    writeFileSync(file, dashboardJson(d));
    files.push(file);
  }
  return files;
}
