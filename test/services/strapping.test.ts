// Strapping a tank: points → checked table, the current shape's curve, the config snippet; and
// `tend calibrate --csv` doing the same from a file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../config/load.ts';
import { litersAtLevel } from '../../config/tanks.ts';
import { DEMO_CONFIG, main } from '../../services/cli.ts';
import { checkPoints, curveOf, fromSteps, parseCsv, StrapError, strap, strappingSource } from '../../services/strapping.ts';
import { demoConfig } from '../helpers/village.ts';
import { tempDir } from '../helpers/net.ts';

const tmp = tempDir('tend-strap-');
afterAll(() => tmp.remove());

/** a config holding one tank_level sensor with this tank, as the loader checks it */
function withTank(tank: unknown) {
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    devices: [{ id: 'hill-node', secret: 'hill-secret-1' }],
    sensors: [{ id: 'hill', device: 'hill-node', metric: 'level_mm', kind: 'tank_level', tank }],
  });
}

describe('checking the points', () => {
  it('takes increasing points and refuses what cannot be a table, naming the point', () => {
    expect(
      checkPoints([
        [0, 0],
        [300, 500],
        [600, 1100],
      ]),
    ).toEqual([
      [0, 0],
      [300, 500],
      [600, 1100],
    ]);
    const refused = (p: unknown) => {
      try {
        checkPoints(p);
      } catch (e) {
        return (e as StrapError).message;
      }
      return 'accepted';
    };
    expect(
      refused([
        [0, 0],
        [300, 500],
        [250, 900],
      ]),
    ).toMatch(/^point 3: level 250 mm is not above the point before \(300 mm\)/);
    expect(
      refused([
        [0, 0],
        [300, 500],
        [400, 500],
      ]),
    ).toMatch(/^point 3: 500 L is not more than the point before/);
    expect(refused([[0, 0]])).toMatch(/at least two points/);
    expect(
      refused([
        [0, 0],
        ['300', 500],
      ]),
    ).toMatch(/^point 2: expected two numbers/);
    expect(
      refused([
        [0, 0],
        [-5, 500],
      ]),
    ).toMatch(/0 or more/);
    expect(refused('0,0')).toMatch(/a list/);
  });

  it('sums the litres added at each step', () => {
    expect(
      fromSteps([
        { level_mm: 0, added_l: 0 },
        { level_mm: 210, added_l: 400 },
        { level_mm: 430, added_l: 400 },
      ]),
    ).toEqual([
      [0, 0],
      [210, 400],
      [430, 800],
    ]);
  });
});

describe('the table and its snippet', () => {
  it('builds a snippet the config accepts, keeping the sensor height, and reads the same litres back', () => {
    const north = demoConfig().sensors.find((s) => s.id === 'north')!;
    const points: [number, number][] = [
      [0, 0],
      [500, 1250],
      [1000, 3300],
      [1500, 5600],
      [2000, 6400],
    ];
    const r = strap(points, { id: 'north', tank: north.tank });
    expect(r.snippet).toContain('shape: table');
    expect(r.snippet).toContain('- [1000, 3300]');
    const tank = parse(r.snippet).tank;
    expect(tank).toEqual({ shape: 'table', points, sensor_height_mm: 2100 });
    const cfg = withTank(tank);
    expect(litersAtLevel(cfg.sensors[0]!.tank!, 750)).toBe(2275);
    // compared with the horizontal cylinder it replaces (2 m × 4 m: 6,283 L at 1,000 mm)
    expect(r.compare[2]).toEqual({ level_mm: 1000, table_l: 3300, shape_l: 6283.2 });
    expect(r.largest_difference).toMatchObject({ level_mm: 2000, liters: -6166.4, percent: -49.1 });
    expect(r.below_top).toBe(false);
  });

  it("draws the current shape's curve from empty to full", () => {
    const box = withTank({ shape: 'box', length_mm: 2000, width_mm: 1000, height_mm: 1500 }).sensors[0]!.tank!;
    const c = curveOf(box, 3);
    expect(c).toEqual([
      [0, 0],
      [500, 1000],
      [1000, 2000],
      [1500, 3000],
    ]);
  });

  it('the page source lists the tanks and refuses a tank it does not know', () => {
    const src = strappingSource(demoConfig());
    expect(src.tanks().map((t) => t.id)).toEqual(['north', 'school', 'hill']);
    expect(() =>
      src.build('battery', [
        [0, 0],
        [1, 1],
      ]),
    ).toThrow(/no tank sensor "battery"/);
    expect(() =>
      src.build('hill', [
        [0, 0],
        [100, 50],
        [90, 80],
      ]),
    ).toThrow(StrapError);
  });
});

describe('CSV', () => {
  it('skips a header, blank lines and comments, and names the line of a problem', () => {
    expect(parseCsv('level_mm,litres\n0,0\n\n# after the first bucket\n120, 40\n240;80\n')).toEqual([
      [0, 0],
      [120, 40],
      [240, 80],
    ]);
    const lineOf = (text: string) => {
      try {
        parseCsv(text);
      } catch (e) {
        return [(e as StrapError).line, (e as StrapError).message];
      }
      return null;
    };
    expect(lineOf('level_mm,litres\n0,0\n100,40\n\n90,80\n')).toEqual([5, expect.stringMatching(/level 90 mm is not above/)]);
    expect(lineOf('0,0\n100,forty\n')).toEqual([2, expect.stringMatching(/not two numbers/)]);
    expect(lineOf('0,0,1\n')).toEqual([1, expect.stringMatching(/expected level_mm,litres/)]);
  });
});

describe('tend calibrate', () => {
  async function run(args: string[]) {
    let out = '';
    let err = '';
    const code = await main(args, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
    return { code, out, err };
  }

  it('prints the snippet from a CSV, compared with the tank in the config', async () => {
    const csv = join(tmp.dir, 'hill.csv');
    writeFileSync(csv, 'level_mm,litres\n0,0\n500,3100\n1000,7200\n1500,11900\n');
    const r = await run(['calibrate', '--tank', 'hill', '--csv', csv, '--config', DEMO_CONFIG]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.out).tank).toEqual({
      shape: 'table',
      points: [
        [0, 0],
        [500, 3100],
        [1000, 7200],
        [1500, 11900],
      ],
    });
    expect(r.out).toMatch(/# against its current table \(19,000 L\): the largest difference/);
    expect(r.out).toMatch(/below the top of the current shape \(2,000 mm\)/);
    // without a config: the snippet alone
    const bare = await run(['calibrate', '--tank', 'hill', '--csv', csv]);
    expect(bare.code).toBe(0);
    expect(bare.out).not.toContain('against');
  });

  it('says which line is wrong, exit 2', async () => {
    const csv = join(tmp.dir, 'bad.csv');
    writeFileSync(csv, 'level_mm,litres\n0,0\n500,3100\n450,4000\n');
    const r = await run(['calibrate', '--tank', 'hill', '--csv', csv]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${csv}:4: level 450 mm is not above the point before (500 mm); the levels go up as water is added\n`);
    const unknown = await run(['calibrate', '--tank', 'battery', '--csv', csv, '--config', DEMO_CONFIG]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no tank sensor "battery" in the config \(its tank sensors: north, school, hill\)/);
    const missing = await run(['calibrate', '--tank', 'hill', '--csv', join(tmp.dir, 'none.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read/);
    expect((await run(['calibrate', '--csv', csv])).code).toBe(2);
  });
});

describe('the words of the crew’s pages', () => {
  it('inform and ask, never order: every crew and strapping text passes the language check', async () => {
    const { readFileSync } = await import('node:fs');
    const { checkText } = await import('../../services/assembly/language.ts');
    const { PAGE_DIR } = await import('../../core/paths.ts');
    const page = (f: string) => readFileSync(join(PAGE_DIR, f), 'utf8');
    const texts: string[] = [];
    for (const f of ['strap.html', 'index.html']) for (const m of page(f).matchAll(/data-t="(?:crew|strap)\.[^"]+"[^>]*>([^<]+)</g)) texts.push(m[1]!);
    for (const m of (page('strap.js') + page('app.js')).matchAll(/t\(\s*'(?:crew|strap)\.[^']+',\s*'((?:[^'\\]|\\.)*)'/g)) texts.push(m[1]!);
    expect(texts.length).toBeGreaterThan(60);
    expect(texts.flatMap((t) => checkText('page', t))).toEqual([]);
  });
});
