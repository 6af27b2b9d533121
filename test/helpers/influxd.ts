// A real InfluxDB 1.x for tests: Debian's `influxd` on free loopback ports, with its own temp dir
// and generated config file. It can be stopped and started again on the same ports (to cut and
// restore the history link), and queried with InfluxQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './net.ts';

export interface Influxd {
  port: number;
  url: string;
  dir: string;
  running(): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** InfluxQL over /query (POST, so CREATE/DROP work); returns the parsed JSON */
  query(q: string, db?: string): Promise<InfluxResult>;
  /** rows of the first series as objects, or [] */
  rows(q: string, db?: string): Promise<Record<string, unknown>[]>;
  log(): string;
  close(): Promise<void>;
}

export interface InfluxSeries { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }
export interface InfluxResult { results: { statement_id: number; series?: InfluxSeries[]; error?: string }[]; error?: string }

export async function startInfluxd(opts: { database?: string } = {}): Promise<Influxd> {
  const tmp = tempDir('tend-influxd-');
  const dir = tmp.dir;
  const port = await freePort();
  const rpc = await freePort();
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(conf, [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpc}"`,
    '[meta]',
    `  dir = "${dir}/meta"`,
    '[data]',
    `  dir = "${dir}/data"`,
    `  wal-dir = "${dir}/wal"`,
    '  query-log-enabled = false',
    '[coordinator]',
    '  write-timeout = "30s"',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    '  enabled = true',
    `  bind-address = "127.0.0.1:${port}"`,
    '  log-enabled = false',
    '  max-body-size = 25000000',
    '[continuous_queries]',
    '  enabled = false',
    '',
  ].join('\n'));

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const url = `http://127.0.0.1:${port}`;

  const ping = async (): Promise<boolean> => {
    try {
      const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      return r.status === 204;
    } catch {
      return false;
    }
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const c = spawn('influxd', ['run', '-config', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-20_000); };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    exited = new Promise((resolve) => c.once('exit', () => { if (child === c) child = null; resolve(); }));
    const end = Date.now() + 30_000;
    for (;;) {
      if (child !== c) throw new Error(`influxd exited on start: ${output}`);
      if (await ping()) return;
      if (Date.now() > end) throw new Error(`influxd did not answer /ping on ${port}: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };

  const query = async (q: string, db = opts.database ?? 'tend'): Promise<InfluxResult> => {
    const body = new URLSearchParams({ q, db, epoch: 'ms' });
    const r = await fetch(`${url}/query`, { method: 'POST', body });
    const json = (await r.json()) as InfluxResult;
    if (json.error) throw new Error(`${q}: ${json.error}`);
    for (const res of json.results ?? []) if (res.error) throw new Error(`${q}: ${res.error}`);
    return json;
  };

  try {
    await start();
    await query(`CREATE DATABASE "${opts.database ?? 'tend'}"`);
  } catch (err) {
    await stop();
    tmp.remove();
    throw err;
  }
  return {
    port, url, dir,
    running: () => child !== null,
    stop, start, query,
    rows: async (q, db) => {
      const s = (await query(q, db)).results[0]?.series?.[0];
      if (!s) return [];
      return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
    },
    log: () => output,
    close: async () => { await stop(); tmp.remove(); },
  };
}
