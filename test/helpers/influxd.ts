// A real InfluxDB 1.x for tests: Debian's `influxd` on free loopback ports, with its own temp dir
// and generated config file. It can be stopped and started again on the same ports (to cut and
// restore the history link), and queried with InfluxQL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir } from './net.ts';
import { serverProcess } from './process.ts';

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

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface InfluxResult {
  results: { statement_id: number; series?: InfluxSeries[]; error?: string }[];
  error?: string;
}

export async function startInfluxd(opts: { database?: string } = {}): Promise<Influxd> {
  const tmp = tempDir('tend-influxd-');
  const dir = tmp.dir;
  const port = await freePort();
  const rpc = await freePort();
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    [
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
    ].join('\n'),
  );

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

  const { start, stop, running } = serverProcess({
    name: 'influxd',
    command: 'influxd',
    args: ['run', '-config', conf],
    cwd: dir,
    stdout: true,
    out: (d) => {
      output = (output + d.toString()).slice(-20_000);
    },
    log: () => output,
    ready: ping,
    readyWhat: `answer /ping on ${port}`,
    startTimeoutMs: 30_000,
    pollMs: 100,
    killAfterMs: 15_000,
  });

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
    port,
    url,
    dir,
    running,
    stop,
    start,
    query,
    rows: async (q, db) => {
      const s = (await query(q, db)).results[0]?.series?.[0];
      if (!s) return [];
      return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
    },
    log: () => output,
    close: async () => {
      await stop();
      tmp.remove();
    },
  };
}
