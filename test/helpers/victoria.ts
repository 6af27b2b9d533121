// A real VictoriaMetrics for tests: Debian's `victoria-metrics` (single-node) on a free loopback
// port, with its own -storageDataPath temp dir. It takes InfluxDB line protocol on /write, as tend's
// history writer sends it, and answers /api/v1/export (raw samples) and /api/v1/query (PromQL).
// It can be stopped (SIGTERM) and started again on the same port, to cut and restore the link.
import { freePort, tempDir } from './net.ts';
import { serverProcess } from './process.ts';

export interface Victoria {
  port: number;
  url: string;
  dir: string;
  running(): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** raw samples of every series matching a series selector, e.g. `{__name__="reading_value",db="t1"}` */
  series(match: string): Promise<VmSeries[]>;
  /** how many raw samples the matching series hold together */
  samples(match: string): Promise<number>;
  log(): string;
  close(): Promise<void>;
}

/** One line of /api/v1/export: a series and its raw samples, duplicates included. */
export interface VmSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export async function startVictoria(): Promise<Victoria> {
  const tmp = tempDir('tend-victoria-');
  const dir = tmp.dir;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';

  const ping = async (): Promise<boolean> => {
    try {
      const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return r.status === 204;
    } catch {
      return false;
    }
  };

  const { start, stop, running } = serverProcess({
    name: 'victoria-metrics',
    command: 'victoria-metrics',
    args: [
      `-storageDataPath=${dir}/data`,
      `-httpListenAddr=127.0.0.1:${port}`,
      // the fixtures' readings are from 2023: the default retention (1 month) would drop them
      '-retentionPeriod=100y',
      // answer from what was just written, not from the last 30 s-old view or a cached result
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=WARN',
    ],
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

  const series = async (match: string): Promise<VmSeries[]> => {
    const body = new URLSearchParams({ 'match[]': match });
    const r = await fetch(`${url}/api/v1/export`, { method: 'POST', body });
    const text = await r.text();
    if (!r.ok) throw new Error(`export ${match}: HTTP ${r.status} ${text}`);
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as VmSeries);
  };

  try {
    await start();
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
    series,
    samples: async (match) => (await series(match)).reduce((n, s) => n + s.values.length, 0),
    log: () => output,
    close: async () => {
      await stop();
      tmp.remove();
    },
  };
}
