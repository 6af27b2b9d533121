// `npm run bench -- --only=scenarios`: the scenario library's detection table. Every scenario in
// firmware-bridge/simulator/scenarios/library/ runs through the real pipeline (as
// test/scenarios/library.test.ts runs them) and is judged against its `<name>.expect.json`:
// damage scenarios detected / total, the median minutes from the damage to the first alert naming
// it, false assembly prompts and false warnings per 30 ordinary days. Not a speed figure: what
// the village is told, and when.
import { figures, judge, type LibraryFigures, loadLibrary, type RunResult, startRuns } from '../scenarios/harness.ts';

export async function benchScenarios(): Promise<LibraryFigures & { wall_s: number; table: string }> {
  const lib = loadLibrary();
  const t0 = performance.now();
  const runs = startRuns(lib, 4);
  const results: RunResult[] = [];
  for (const e of lib) results.push(await runs.get(e.name)!);
  const verdicts = lib.map((e) => judge(e, results.find((r) => r.name === e.name)!));
  const f = figures(lib, verdicts, results);
  const rows = lib.map((e) => {
    const v = verdicts.find((x) => x.name === e.name)!;
    const outcome =
      e.kind === 'damage'
        ? v.detected
          ? `detected after ${Math.round(v.detect_min!)} min`
          : v.detect_min !== null
            ? `late: ${Math.round(v.detect_min)} min`
            : 'missed'
        : e.kind === 'ordinary'
          ? `${v.warnings} warning(s), ${v.prompts} prompt(s) in ${e.days} days`
          : 'quiet';
    const extra = v.false_alerts.length ? `; false: ${v.false_alerts.join(', ')}` : '';
    return `  ${v.problems.length ? 'FAIL' : 'pass'}  ${e.name.padEnd(24)} ${outcome}${extra}`;
  });
  return { ...f, wall_s: (performance.now() - t0) / 1000, table: rows.join('\n') };
}
