// Writes the scenario library: for each scenario in scenarios.ts, `<name>.jsonl` (what the
// village's sensors report, the scenario file format) and `<name>.expect.json` (what tend must and
// must not say about it, expect.ts). Deterministic (seeded), so the committed files can be
// regenerated exactly and the test checks they still are:
//   npx tsx firmware-bridge/simulator/scenarios/library/generate.ts [NAME…]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../../config/load.ts';
import type { Expectation } from './expect.ts';
import { SCENARIOS, type ScenarioDef } from './scenarios.ts';
import { VillageModel } from './village-model.ts';

export const LIBRARY_DIR = fileURLToPath(new URL('.', import.meta.url));
/**
 * Every scenario starts where `tend simulate` starts by default (services/simulate.ts,
 * DEFAULT_START), so `tend simulate --config V.yaml --scenario S.jsonl` replays it as the tests do;
 * what time that is in the village depends on its time zone, and the model runs on local time.
 */
export const START = '2026-11-20T00:00:00.000Z';

export interface Generated {
  def: ScenarioDef;
  jsonl: string;
  expect: Expectation;
}

export function generate(def: ScenarioDef): Generated {
  const config = loadConfig(join(LIBRARY_DIR, def.village));
  const start = START;
  const model = new VillageModel(config, def.params, { start, seed: def.seed });
  const { hooks, expect } = def.build(model);
  const length = def.length(model);
  const lines = model.run(length, hooks);
  const jsonl = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
  const body = expect();
  const expectation: Expectation = {
    name: def.name,
    title: def.title,
    village: def.village,
    scenario: `${def.name}.jsonl`,
    start,
    days: Math.round((length / 86400) * 100) / 100,
    kind: def.kind,
    village_summary: def.village_summary,
    proves: def.proves,
    damage: body.damage,
    must_fire: body.must_fire,
    must_not_fire: body.must_not_fire,
    prompts: body.prompts,
    ...(body.max_warnings !== undefined ? { max_warnings: body.max_warnings } : {}),
    ...(body.earlier_each_night ? { earlier_each_night: body.earlier_each_night } : {}),
  };
  return { def, jsonl, expect: expectation };
}

export const expectText = (e: Expectation) => `${JSON.stringify(e, null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv.slice(2);
  for (const def of SCENARIOS) {
    if (only.length && !only.includes(def.name)) continue;
    const g = generate(def);
    writeFileSync(join(LIBRARY_DIR, `${def.name}.jsonl`), g.jsonl);
    writeFileSync(join(LIBRARY_DIR, `${def.name}.expect.json`), expectText(g.expect));
    process.stderr.write(`${def.name}: ${g.jsonl.split('\n').length - 1} lines, ${(g.jsonl.length / 1024).toFixed(0)} KiB, ${g.expect.days} days\n`);
  }
}
