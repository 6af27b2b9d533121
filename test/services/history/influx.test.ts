// History against a real InfluxDB 1.x (Debian influxd on a free port, own temp dir).
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../../../services/history/index.ts';
import { flushHistory } from '../../../services/history/flush-cli.ts';
import { Storage } from '../../../services/storage.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { startInfluxd, type Influxd } from '../../helpers/influxd.ts';
import { freePort, tempDir, waitFor } from '../../helpers/net.ts';
import { alert, historyConfig, incident, reading, status } from './fixtures.ts';

let influx: Influxd;
beforeAll(async () => {
  influx = await startInfluxd();
});
afterAll(async () => {
  await influx?.close();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup(database: string, extra: Record<string, unknown> = {}, url = influx.url) {
  const t = tempDir('tend-history-');
  const config = historyConfig(t.dir, url, { ...extra, influx: { database, ...(extra.influx as object | undefined) } });
  const storage = new Storage(t.dir);
  const events = new VillageEventHub();
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  const logs: string[] = [];
  const history = new History({ config, clock, storage, events, log: (m) => logs.push(m), writer: { minBackoffMs: 50, maxBackoffMs: 500 } });
  cleanups.push(() => t.remove());
  cleanups.push(() => storage.close());
  cleanups.push(() => history.stop());
  return {
    history,
    storage,
    events,
    logs,
    advance: (ms: number) => {
      now += ms;
      return now;
    },
    config,
    dir: t.dir,
  };
}

async function count(db: string, q = 'SELECT count("value") AS n FROM "reading"'): Promise<number> {
  const rows = await influx.rows(q, db);
  return (rows[0]?.n as number | undefined) ?? 0;
}

describe('History → InfluxDB', () => {
  it('writes points with the documented schema', async () => {
    await influx.query('CREATE DATABASE schema1');
    const { history, events, storage } = setup('schema1');
    history.start();
    for (let i = 0; i < 30; i++) events.emit('reading', reading(i));
    const t0 = 1_700_000_000_000;
    events.emit('status', status(t0));
    events.emit('alert', alert(t0 + 1000));
    events.emit('incident', incident(t0 + 1000));
    events.emit('device', { device: 'tank-north', online: false, at: t0 + 2000 });
    events.emit('reject', { device: 'tank-north', reason: 'not_json', detail: 'payload was not JSON', at: t0 });
    events.emit('status', status(t0 + 11_000));
    storage.commitNow();
    await waitFor(async () => (await count('schema1')) === 30 && history.stats().outbox_rows === 0, 20_000, 'points in influx');

    const r = (await influx.query('SELECT * FROM "reading" WHERE "sensor" = \'north\' LIMIT 1', 'schema1')).results[0]!.series![0]!;
    expect(r.columns.sort()).toEqual(['device', 'kind', 'level_mm', 'raw', 'sensor', 'time', 'value', 'village']);
    const tags = await influx.query('SHOW TAG KEYS FROM "reading"', 'schema1');
    expect(tags.results[0]!.series![0]!.values.flat().sort()).toEqual(['device', 'kind', 'sensor', 'village']);
    const first = (await influx.rows('SELECT * FROM "reading" ORDER BY time ASC LIMIT 1', 'schema1'))[0]!;
    expect(first).toMatchObject({
      time: 1_700_000_000_000,
      village: 'ashgrove',
      device: 'tank-north',
      sensor: 'north',
      kind: 'tank_distance',
      value: 5000,
      raw: 800,
    });

    const measurements = (await influx.query('SHOW MEASUREMENTS', 'schema1')).results[0]!.series![0]!.values.flat();
    expect(measurements.sort()).toEqual(['alert', 'cold', 'device', 'incident', 'power', 'reading', 'reject', 'reserve', 'tank', 'water', 'weather'].sort());
    const tank = await influx.rows('SELECT "liters", "percent", "status", "name" FROM "tank" WHERE "tank" = \'school\' LIMIT 1', 'schema1');
    expect(tank[0]!.name).toBe('School, "big" tank');
    const reserve = await influx.rows('SELECT last("water_days_minimum") AS d, last("sensors_online") AS online FROM "reserve"', 'schema1');
    expect(reserve[0]!.online).toBe(15);
    const al = await influx.rows('SELECT "title", "detail", "state", "severity" FROM "alert"', 'schema1');
    expect(al[0]).toMatchObject({ state: 'firing', severity: 'warning', detail: 'Down 900 L in 20 min, "far" above normal draw, a leak?' });
    const rej = await influx.rows('SELECT sum("count") AS n FROM "reject" GROUP BY "reason"', 'schema1');
    expect(rej[0]!.n).toBe(1);
    // two statuses 11 s apart: two samples of each tank
    expect(await count('schema1', 'SELECT count("liters") AS n FROM "tank" WHERE "tank" = \'north\'')).toBe(2);
    expect(history.stats()).toMatchObject({ written_total: expect.any(Number), rejected_total: 0, dropped_total: 0, connected: true, last_error: null });
  });

  it('samples status at most every 10 s, but at once when a level changes', async () => {
    await influx.query('CREATE DATABASE sample1');
    const { history, events, storage } = setup('sample1');
    history.start();
    const t0 = 1_700_000_000_000;
    for (let s = 0; s < 30; s++) events.emit('status', status(t0 + s * 1000)); // 30 statuses a second apart
    events.emit('status', status(t0 + 30_500, { leak: true })); // school tank goes to watch
    storage.commitNow();
    await waitFor(() => history.stats().outbox_rows === 0, 20_000, 'drained');
    expect(await count('sample1', 'SELECT count("liters") AS n FROM "tank" WHERE "tank" = \'north\'')).toBe(4);
  });

  it('InfluxDB stopped mid-stream and restarted: every accepted reading lands once', async () => {
    await influx.query('CREATE DATABASE outage1');
    const { history, events, storage } = setup('outage1');
    history.start();
    const N = 6000;
    try {
      for (let i = 0; i < N; i++) {
        events.emit('reading', reading(i));
        if (i % 200 === 199) {
          await new Promise<void>((resolve) => storage.commitSoon(() => resolve())); // "PUBACK" point
          if (i === 1999) await influx.stop();
          // with 1,000 readings waiting, the writer has tried and failed; readings are still accepted
          if (i === 2999) await waitFor(() => !history.stats().connected && history.stats().last_error, 30_000, 'writer sees the outage');
          if (i === 3999) {
            expect(history.stats().connected).toBe(false);
            expect(history.stats().outbox_rows).toBeGreaterThan(0);
            await influx.start();
          }
        }
      }
    } finally {
      if (!influx.running()) await influx.start();
    }
    await waitFor(async () => history.stats().outbox_rows === 0 && (await count('outage1')) === N, 60_000, 'all points after restart');
    expect(await count('outage1')).toBe(N);
    // every reading's own timestamp is there exactly once
    const times = await influx.rows('SELECT "value" FROM "reading"', 'outage1');
    expect(new Set(times.map((r) => r.time)).size).toBe(N);
    expect(history.stats().last_error).toBeNull();
  }, 120_000);

  it('a point InfluxDB refuses (4xx) is logged and set aside without blocking the rest', async () => {
    await influx.query('CREATE DATABASE reject1');
    const { history, events, storage, logs } = setup('reject1');
    history.start();
    for (let i = 0; i < 100; i++) events.emit('reading', reading(i));
    // a field type conflict: `value` is a float in `reading`, this one sends a string
    history.outbox.add({ cls: 0, line: 'reading,village=ashgrove,sensor=north,device=tank-north,kind=tank_distance value="oops" 1700000000005' });
    history.outbox.add({ cls: 0, line: 'this is not line protocol' });
    for (let i = 100; i < 200; i++) events.emit('reading', reading(i));
    storage.commitNow();
    await waitFor(async () => history.stats().outbox_rows === 0 && (await count('reject1')) === 200, 30_000, 'good points');
    const s = history.stats();
    expect(s.rejected_total).toBe(2);
    expect(s.written_total).toBe(200);
    const aside = history.rejected();
    expect(aside.map((r) => r.line).sort()).toEqual(
      ['reading,village=ashgrove,sensor=north,device=tank-north,kind=tank_distance value="oops" 1700000000005', 'this is not line protocol'].sort(),
    );
    expect(aside.every((r) => r.status === 400)).toBe(true);
    expect(logs.some((l) => l.includes('set aside') && l.includes('this is not line protocol'))).toBe(true);
  });

  it('5xx answers are retried with backoff and jitter; rows go only after a 2xx', async () => {
    // a real HTTP front (as a proxy or an overloaded cluster would) that fails three times
    const port = await freePort();
    let calls = 0;
    const bodies: string[] = [];
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/ping') {
          res.writeHead(204);
          res.end();
          return;
        }
        seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        calls++;
        if (calls <= 3) {
          res.writeHead(503);
          res.end('overloaded');
          return;
        }
        bodies.push(body);
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    // a token without a username (InfluxDB 2/3) goes as `Authorization: Token`
    const { history, events, storage, logs } = setup('x', { influx: { password: 'tok3n' } }, `http://127.0.0.1:${port}/`);
    history.start();
    for (let i = 0; i < 50; i++) events.emit('reading', reading(i));
    storage.commitNow();
    await waitFor(() => history.stats().outbox_rows === 0, 30_000, 'delivered after retries');
    // each failure logged with its jittered delay: 0.5–1 × min(500, 50 × 2^(n-1)) ms
    const backoffs = logs.filter((l) => l.includes('HTTP 503')).map((l) => Number(/retrying in (\d+) ms/.exec(l)![1]));
    expect(backoffs).toHaveLength(3);
    expect(backoffs[0]).toBeGreaterThanOrEqual(25);
    expect(backoffs[0]).toBeLessThanOrEqual(50);
    expect(backoffs[2]).toBeGreaterThanOrEqual(100);
    expect(backoffs[2]).toBeLessThanOrEqual(200);
    expect(logs.some((l) => l.includes('work again'))).toBe(true);
    expect(calls).toBe(4);
    expect(new Set(seen)).toEqual(new Set(['POST /write?db=x&precision=ms Token tok3n']));
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.trim().split('\n')).toHaveLength(50);
    expect(history.stats()).toMatchObject({ written_total: 50, connected: true, last_error: null });
  });

  it('keeps backing off while readings keep arriving (new commits do not cut the backoff short)', async () => {
    const port = await freePort();
    let writes = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') writes++;
        res.writeHead(req.method === 'POST' ? 503 : 204);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const t = tempDir('tend-history-backoff-');
    cleanups.push(() => t.remove());
    const storage = new Storage(t.dir);
    const events = new VillageEventHub();
    const history = new History({
      config: historyConfig(t.dir, `http://127.0.0.1:${port}`, { influx: { database: 'x' } }),
      clock: { now: () => 0 },
      storage,
      events,
      writer: { minBackoffMs: 20_000, maxBackoffMs: 20_000 },
    });
    cleanups.push(() => storage.close());
    cleanups.push(() => history.stop());
    history.start();
    for (let i = 0; i < 6000; i++) events.emit('reading', reading(i));
    storage.commitNow();
    await waitFor(() => writes >= 1, 10_000, 'first write');
    // 20 more full batches committed during the 10–20 s backoff
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < 6000; i++) events.emit('reading', reading(6000 * (k + 1) + i));
      storage.commitNow();
      await new Promise((r) => setTimeout(r, 50));
    }
    // the first round sends up to two batches in parallel; a cut-short backoff would send dozens
    expect(writes).toBeLessThanOrEqual(2);
  });

  it('creates a missing database (InfluxDB 1.x answers 404 database not found)', async () => {
    const { history, events, storage } = setup('fresh_db');
    history.start();
    for (let i = 0; i < 10; i++) events.emit('reading', reading(i));
    storage.commitNow();
    await waitFor(async () => (await count('fresh_db').catch(() => 0)) === 10, 30_000, 'points in a created database');
  });

  it('flush() drains by hand with progress', async () => {
    await influx.query('CREATE DATABASE flush1');
    const { history, events } = setup('flush1', { influx: { batch_points: 100 } });
    history.start();
    for (let i = 0; i < 1000; i++) events.emit('reading', reading(i));
    const seen: [number, number][] = [];
    const sent = await history.flush((done, total) => seen.push([done, total]));
    expect(sent).toBeGreaterThan(0);
    expect(history.stats().written_total).toBe(1000);
    expect(history.stats().outbox_rows).toBe(0);
    expect(await count('flush1')).toBe(1000);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]![0]).toBe(seen[seen.length - 1]![1]);
  });

  it('`tend history flush` drains what a stopped tend left in the outbox, with progress and rate', async () => {
    await influx.query('CREATE DATABASE cli1');
    // a tend that could not reach InfluxDB left 2,500 readings in its outbox
    const t = tempDir('tend-history-cli-');
    cleanups.push(() => t.remove());
    const deadCfg = historyConfig(t.dir, 'http://127.0.0.1:9', { influx: { database: 'cli1' } });
    const storage = new Storage(t.dir);
    const events = new VillageEventHub();
    const h = new History({ config: deadCfg, clock: { now: () => 0 }, storage, events, writer: { minBackoffMs: 60_000 } });
    h.start();
    for (let i = 0; i < 2500; i++) events.emit('reading', reading(i));
    await h.stop();
    storage.close();

    const out: string[] = [];
    const err: string[] = [];
    const code = await flushHistory(
      historyConfig(t.dir, influx.url, { influx: { database: 'cli1', batch_points: 500 } }),
      { write: (s: string) => out.push(s) },
      { write: (s: string) => err.push(s) },
    );
    expect(code, err.join('')).toBe(0);
    expect(await count('cli1')).toBe(2500);
    const text = out.join('');
    expect(text).toContain('2500 points waiting');
    expect(text).toMatch(/\[#+\] 2500\/2500 points 100% \d+ points\/s/);
    expect(text).toContain('sent 2500 points; 0 left');
    // nothing configured: a clear message, exit 2
    const none = await flushHistory(historyConfig(t.dir), { write: () => {} }, { write: (s: string) => err.push(s) });
    expect(none).toBe(2);
    expect(err.join('')).toContain('no influx: section');
  });
});
