// Plausibility warnings (config/warnings.ts): pure, on parsed configs; and `tend config check`
// printing them with exit 0 while errors stay errors.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../config/load.ts';
import { configWarnings } from '../../config/warnings.ts';
import { checkText } from '../../services/assembly/language.ts';
import { DEMO_CONFIG, main } from '../../services/cli.ts';
import { tempDir } from '../helpers/net.ts';

// biome-ignore lint/suspicious/noExplicitAny: a test writes configs as loose objects, the schema checks them
function village(over: { devices?: any[]; sensors?: any[]; alerts?: any } = {}) {
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    storage: { dir: ':memory:' },
    devices: over.devices ?? [{ id: 'node', secret: 'node-secret-1' }],
    sensors: over.sensors ?? [],
    ...(over.alerts ? { alerts: over.alerts } : {}),
  });
}

const tank = (t: object, kind = 'tank_distance') => ({ id: 'north', device: 'node', metric: 'd', kind, tank: t });

describe('config warnings', () => {
  it('the demo and example configs have none', () => {
    expect(configWarnings(loadConfig(DEMO_CONFIG))).toEqual([]);
    expect(configWarnings(loadConfig(join(DEMO_CONFIG, '..', 'village.example.yaml')))).toEqual([]);
  });

  it('a plausible 10,000 L tank with the sensor above its top has none', () => {
    const c = village({ sensors: [tank({ shape: 'vertical_cylinder', diameter_mm: 2500, height_mm: 2100, sensor_height_mm: 2300 })] });
    expect(configWarnings(c)).toEqual([]);
  });

  it('warns on metres typed into mm fields, with the path', () => {
    const c = village({ sensors: [tank({ shape: 'vertical_cylinder', diameter_mm: 2, height_mm: 2100, sensor_height_mm: 2300 })] });
    const w = configWarnings(c);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^sensors\[0\]\.tank\.diameter_mm: warning: 2 mm is very small/);
    expect(w[0]).toContain('2,000 mm');
  });

  it('warns on a height under 50 mm, and on every small dimension of a box', () => {
    const w = configWarnings(village({ sensors: [tank({ shape: 'box', length_mm: 3, width_mm: 2, height_mm: 1.5 }, 'tank_level')] }));
    expect(w.map((l) => l.split(':')[0])).toEqual(['sensors[0].tank.length_mm', 'sensors[0].tank.width_mm', 'sensors[0].tank.height_mm']);
    // the capacity of such a tank is not warned about again
    expect(w.some((l) => l.includes(' L '))).toBe(false);
  });

  it("warns on a distance sensor mounted below the tank's top", () => {
    const w = configWarnings(village({ sensors: [tank({ shape: 'vertical_cylinder', diameter_mm: 2500, height_mm: 2100, sensor_height_mm: 1800 })] }));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^sensors\[0\]\.tank\.sensor_height_mm: warning: .*1,800 mm.*2,100 mm/);
    // a level or pressure sensor has no mounting height to check
    const p = village({ sensors: [tank({ shape: 'vertical_cylinder', diameter_mm: 2500, height_mm: 2100, sensor_height_mm: 100 }, 'tank_pressure')] });
    expect(configWarnings(p)).toEqual([]);
  });

  it('warns on a capacity under 50 L or over 5 ML', () => {
    // 60 mm × 60 mm × 60 mm: 0.2 L
    const small = configWarnings(village({ sensors: [tank({ shape: 'box', length_mm: 60, width_mm: 60, height_mm: 60 }, 'tank_level')] }));
    expect(small).toEqual([expect.stringMatching(/^sensors\[0\]\.tank: warning: holds 0\.2 L when full, under 50 L/)]);
    // 100 m × 100 m × 1 m: 10 ML
    const huge = configWarnings(village({ sensors: [tank({ shape: 'box', length_mm: 100_000, width_mm: 100_000, height_mm: 1000 }, 'tank_level')] }));
    expect(huge).toEqual([expect.stringMatching(/^sensors\[0\]\.tank: warning: holds 10,000,000 L when full, over 5,000,000 L/)]);
    const table = configWarnings(
      village({
        sensors: [
          tank(
            {
              shape: 'table',
              points: [
                [0, 0],
                [1000, 20],
              ],
            },
            'tank_level',
          ),
        ],
      }),
    );
    expect(table).toEqual([expect.stringMatching(/under 50 L/)]);
  });

  it('warns on intervals under 1 s', () => {
    const c = village({ devices: [{ id: 'node', secret: 'node-secret-1', interval_s: 0.5 }], alerts: { group_window_s: 0.2 } });
    expect(configWarnings(c)).toEqual([
      expect.stringMatching(/^devices\[0\]\.interval_s: warning: 0\.5 s/),
      expect.stringMatching(/^alerts\.group_window_s: warning: 0\.2 s/),
    ]);
  });

  it('informs and asks, never commands', () => {
    const c = village({
      devices: [{ id: 'node', secret: 'node-secret-1', interval_s: 0.5 }],
      sensors: [
        tank({ shape: 'vertical_cylinder', diameter_mm: 2, height_mm: 2100, sensor_height_mm: 1800 }),
        { ...tank({ shape: 'box', length_mm: 60, width_mm: 60, height_mm: 60 }, 'tank_level'), id: 'tiny', metric: 'd2' },
      ],
    });
    const lines = configWarnings(c);
    expect(lines.length).toBe(4);
    for (const l of lines) expect(checkText('warning', l.slice(l.indexOf('warning: ') + 9))).toEqual([]);
  });
});

describe('tend config check', () => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
    return { code, out, err };
  };

  it('prints the warnings as path: warning: lines and exits 0', async () => {
    const tmp = tempDir('tend-warn-');
    try {
      const file = join(tmp.dir, 'village.yaml');
      writeFileSync(
        file,
        `version: 1
village: { id: ashgrove, name: Ashgrove, population: 180 }
devices:
  - { id: node, secret: node-secret-1 }
sensors:
  - { id: north, device: node, metric: d, kind: tank_distance, tank: { shape: vertical_cylinder, diameter_mm: 2, height_mm: 2100, sensor_height_mm: 2300 } }
`,
      );
      const r = await run(['config', 'check', file]);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/^sensors\[0\]\.tank\.diameter_mm: warning: /m);
      expect(r.out).toContain('ok');
      expect(r.out).toContain('1 warning');
    } finally {
      tmp.remove();
    }
  });

  it('errors stay errors (exit 2)', async () => {
    const tmp = tempDir('tend-warn-');
    try {
      const file = join(tmp.dir, 'village.yaml');
      writeFileSync(file, 'version: 1\nvillage: { id: ashgrove, name: Ashgrove, population: 180 }\ndevices:\n  - { id: node, secret: short }\n');
      const r = await run(['config', 'check', file]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('devices[0].secret');
    } finally {
      tmp.remove();
    }
  });
});
