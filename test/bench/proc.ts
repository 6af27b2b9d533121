// What a process costs, read from /proc the way `top` and `ps` do: CPU time (user + system) and
// resident memory (now and at its peak). Used by the bench on tend's bundle, Mosquitto and the
// hand-wired subscriber alike, so every figure is measured the same way.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

let ticks: number | null = null;
/** clock ticks per second (utime/stime are counted in these) */
export function clockTicks(): number {
  if (ticks === null) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) the process has used so far */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** resident memory in MB: now (VmRSS) and the peak over the process's life (VmHWM) */
export function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** the pid of a process whose command line holds `needle` (a server the helpers started) */
export function findPid(needle: string): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) return Number(name);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (/\.(ts|js|mjs|json)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The start-up bundle users run (dist/tend.mjs, what `npm run build` makes), rebuilt when it is
 * missing or older than the sources. Throws with esbuild's message when the build fails.
 */
export function ensureBundle(root: string): string {
  const bundle = join(root, 'dist', 'tend.mjs');
  const sources = Math.max(...['services', 'core', 'config', 'firmware-bridge'].map((d) => newest(join(root, d))));
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < sources) {
    try {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: Buffer; stdout?: Buffer };
      throw new Error(`npm run build failed: ${(e.stderr?.toString() || e.stdout?.toString() || String(err)).slice(0, 2000)}`);
    }
  }
  return bundle;
}

/**
 * How users start tend: the systemd unit's ExecStart (`node <flags> bin/tend.js`, as `npm start`
 * does too), minus the command: Node's flags (taken from the unit, so the bench runs what a
 * gateway runs) and the launcher, which sizes V8's heap and then runs the bundle. Builds the
 * bundle first if needed. Spawn `process.execPath` with these, then tend's own arguments.
 */
export function tendCommand(root: string): string[] {
  ensureBundle(root);
  return [...serviceNodeFlags(root), join(root, 'bin', 'tend.js')];
}

/** the Node flags between `node` and `bin/tend.js` on the systemd unit's ExecStart line */
export function serviceNodeFlags(root: string): string[] {
  const unit = readFileSync(join(root, 'deploy', 'systemd', 'tend.service'), 'utf8');
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  const argv = line?.trim().split(/\s+/) ?? [];
  const launcher = argv.findIndex((a) => a.endsWith('/bin/tend.js'));
  if (launcher < 1) throw new Error(`deploy/systemd/tend.service: no \`ExecStart=node … bin/tend.js\` line (${line ?? 'none'})`);
  return argv.slice(1, launcher);
}
