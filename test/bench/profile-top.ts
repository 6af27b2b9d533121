// Where tend's CPU goes: reads a .cpuprofile (from `npm run bench -- --only=village_load --profile`)
// and prints the top 15 source files and the top 15 functions by self time. Frames in the bundle
// (dist/tend.mjs) are mapped back to their source file by the `// services/…` comments esbuild
// writes before each module; dependencies are grouped by package.
// Usage: npx tsx test/bench/profile-top.ts FILE.cpuprofile [--bundle dist/tend.mjs]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** line (0-based) → source file, from esbuild's module comments in the bundle */
function bundleMap(bundleFile: string): (line: number) => string {
  let lines: string[] = [];
  try {
    lines = readFileSync(bundleFile, 'utf8').split('\n');
  } catch {
    return () => 'dist/tend.mjs';
  }
  const starts: [number, string][] = [];
  lines.forEach((l, i) => {
    const m = /^\/\/ ((?:services|core|config|firmware-bridge|language)\/\S+)$/.exec(l);
    if (m) starts.push([i, m[1]!]);
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = 'dist/tend.mjs';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]![0] <= line) {
        found = starts[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

function place(url: string, line: number, inBundle: (line: number) => string): string {
  if (!url) return '(native / V8)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return `dep ${dep[1]}`;
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  if (url.endsWith('/dist/tend.mjs')) return inBundle(line);
  return url.replace(/^file:\/\//, '');
}

export function topOfProfile(file: string, bundleFile: string, n = 15): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const inBundle = bundleMap(bundleFile);
  const files = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const where = f.functionName.startsWith('(') ? f.functionName : place(f.url, f.lineNumber, inBundle);
    files.set(where, (files.get(where) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'}  ${where}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  // total time: each sample counts once for every distinct function of tend's own on its stack
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const label = new Map<number, string | null>();
  for (const node of p.nodes) {
    const f = node.callFrame;
    const where = f.functionName.startsWith('(') ? '' : place(f.url, f.lineNumber, inBundle);
    label.set(node.id, /^(services|core|config|firmware-bridge)\//.test(where) ? `${f.functionName || '(anonymous)'}  ${where}` : null);
  }
  const inclusive = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const seen = new Set<string>();
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      const l = label.get(id);
      if (l && !seen.has(l)) {
        seen.add(l);
        inclusive.set(l, (inclusive.get(l) ?? 0) + (p.timeDeltas[i] ?? 0));
      }
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)} ${ms(us)}  ${k}`)
      .join('\n');
  return [
    `profile ${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`,
    `top ${n} by self time, per source file (bundle frames mapped back; dependencies per package):`,
    top(files),
    `top ${n} functions by self time:`,
    top(fns),
    `top ${n} of tend's own functions by total time (self and what they call):`,
    top(inclusive),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx test/bench/profile-top.ts FILE.cpuprofile [--bundle dist/tend.mjs]');
    process.exit(2);
  }
  const b = process.argv.indexOf('--bundle');
  console.log(topOfProfile(file, b > 0 ? process.argv[b + 1]! : join(import.meta.dirname, '..', '..', 'dist', 'tend.mjs')));
}
