import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfigText } from '../../config/load.ts';
import { main, DEMO_CONFIG } from '../../services/cli.ts';
import { tempDir } from '../helpers/net.ts';

function problems(text: string): string[] {
  try {
    parseConfigText(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const base = `version: 1
village: { id: ashgrove, name: Ashgrove, population: 180 }
devices:
  - { id: tank-north, secret: "abcdefghij", transport: mqtt, interval_s: 30 }
`;

describe('config', () => {
  it('accepts the demo and example configs with defaults filled in', () => {
    const demo = loadConfig(DEMO_CONFIG);
    expect(demo.village.population).toBe(180);
    expect(demo.village.minimum_water_lpd).toBe(15);
    const example = loadConfig(join(DEMO_CONFIG, '..', 'village.example.yaml'));
    expect(example.sensors.length).toBeGreaterThan(5);
    expect(example.web.host).toBe('127.0.0.1');
  });

  it('reports every problem as path: message', () => {
    const p = problems(`${base}bogus: 1
sensors:
  - id: north
    device: tank-nort
    metric: distance_mm
    kind: tank_distance
    tank: { shape: table, points: [[0,0],[100,50],[90,60]], sensor_height_mm: -3 }
  - { id: s2, device: tank-north, metric: x, kind: liters_per_fortnight }
`);
    expect(p).toContain('bogus: unknown key');
    expect(p).toContain('sensors[0].device: no device "tank-nort" in devices');
    expect(p).toContain('sensors[0].tank.points[2]: table is not strictly increasing (100 mm/50 L then 90 mm/60 L)');
    expect(p.some((l) => l.startsWith('sensors[0].tank.sensor_height_mm: '))).toBe(true);
    expect(p.some((l) => l.startsWith('sensors[1].kind: '))).toBe(true);
  });

  it('catches wrong units and missing pieces', () => {
    const p = problems(`${base}sensors:
  - { id: north, device: tank-north, metric: d, kind: tank_distance, tank: { shape: box, length_mm: 2000, width_mm: "2 m", height_mm: 1000 } }
  - { id: bat, device: tank-north, metric: soc, kind: battery_soc }
  - { id: fr, device: tank-north, metric: t, kind: cold_temp, cold: { safe_max_c: 5 }, tank: { shape: box, length_mm: 1, width_mm: 1, height_mm: 1 } }
`);
    expect(p.some((l) => l.startsWith('sensors[0].tank.width_mm: '))).toBe(true);
    expect(p).toContain('sensors[0].tank.sensor_height_mm: a tank_distance sensor needs sensor_height_mm (sensor face to tank bottom, mm)');
    expect(p).toContain('sensors[1].battery: a battery_soc sensor needs battery: { capacity_kwh, usable_fraction }');
    expect(p).toContain('sensors[2].tank: tank: only goes with tank_* kinds, not cold_temp');
  });

  it('reports YAML syntax errors with a line number', () => {
    const p = problems('version: 1\nvillage: { id: a\n');
    expect(p[0]).toMatch(/^line \d+: /);
  });

  it('`tend config check` prints the problems and exits 2', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(file, `${base}sensors:\n  - { id: x, device: nope, metric: m, kind: rain }\n`);
    let out = '';
    let err = '';
    const code = await main(['config', 'check', file], { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
    expect(code).toBe(2);
    expect(err).toContain('sensors[0].device: no device "nope" in devices');
    const ok = await main(['config', 'check', DEMO_CONFIG], { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
    expect(ok).toBe(0);
    expect(out).toContain('ok');
    expect(await main(['config', 'check', join(tmp.dir, 'missing.yaml')], { write: () => 0 }, { write: (s: string) => (err += s) })).toBe(2);
    expect(err).toContain('cannot read (ENOENT)');
    tmp.remove();
  });
});
