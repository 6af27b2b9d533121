// `tend dashboards`: builds the Grafana dashboards from TypeScript (grafana-foundation-sdk) and
// writes them as JSON to dashboards/json/, which Grafana loads through dashboards/provisioning/.
// The JSON is committed; a test checks it equals what this generates, so the two never drift.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { coldDashboard } from './src/cold.ts';
import { powerDashboard } from './src/power.ts';
import { reservesDashboard } from './src/reserves.ts';
import { sensorsDashboard } from './src/sensors.ts';
import { waterDashboard } from './src/water.ts';

export const DASHBOARD_FILES = ['village-reserves.json', 'water.json', 'power.json', 'cold-storage.json', 'sensors.json'] as const;

/** file name → dashboard model, in the order the shed screen playlist would show them */
export function buildDashboards(): Record<string, Dashboard> {
  const built = [reservesDashboard(), waterDashboard(), powerDashboard(), coldDashboard(), sensorsDashboard()].map((b) => b.build());
  return Object.fromEntries(DASHBOARD_FILES.map((f, i) => [f, built[i]!]));
}

/** The exact text written for a dashboard (stable key order from the builders, 2-space JSON). */
export function dashboardJson(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Write every dashboard to `outDir`; returns the files written. */
export async function generateDashboards(outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const [name, d] of Object.entries(buildDashboards())) {
    const file = join(outDir, name);
    writeFileSync(file, dashboardJson(d));
    files.push(file);
  }
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[1].endsWith('generate.ts')) {
  const out = process.argv[2] ?? join(fileURLToPath(new URL('.', import.meta.url)), 'json');
  generateDashboards(out).then((f) => console.log(`wrote ${f.length} dashboards to ${out}`));
}
