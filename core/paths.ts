// Where tend's own files are (page, demo config, scenarios, dashboards), found from this module
// whether it runs from source (tsx) or from the bundle in dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'tend') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tend package root');
    dir = up;
  }
}

export const ROOT = findRoot();
export const PAGE_DIR = join(ROOT, 'services', 'web', 'page');
export const DEMO_CONFIG = join(ROOT, 'config', 'demo.yaml');
export const SCENARIO_DIR = join(ROOT, 'firmware-bridge', 'simulator', 'scenarios');
export const DASHBOARD_JSON_DIR = join(ROOT, 'dashboards', 'json');
