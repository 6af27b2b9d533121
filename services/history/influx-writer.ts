// Drains the outbox to InfluxDB over HTTP line protocol: POST /write?db=&precision=ms, which
// InfluxDB 1.x, the v1 compatibility API of InfluxDB 2/3, and VictoriaMetrics all accept
// (precision=ns for chunks of readings offset within their millisecond: outbox.ts, points.ts).
// - batches of at most batch_points (≤ 5000) or every batch_ms (≤ 1 s), bodies ≤ 16 MB
//   (InfluxDB's default max-body-size is 25 MB);
// - rows are deleted only after a 2xx, so nothing is lost; they are sent once on the happy path;
// - 400/422 (a point InfluxDB will never take): the batch is halved until the bad point is alone,
//   which is logged and set aside in outbox_rejected, so it never blocks the rest (InfluxDB 1.x
//   writes the good points of a partly bad batch, and re-sending an identical point only
//   overwrites it with itself);
// - 5xx, 401/403/404/408/429 and connection errors: retried with capped exponential backoff and
//   full jitter, so many gateways coming back after a storm do not hit the server in step.
import type { InfluxConfig } from '../../config/schema.ts';
import type { Outbox, OutboxChunk } from './outbox.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import { httpFetch, type HttpFetch } from '../../core/http.ts';

export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface WriterStats {
  written_total: number;
  rejected_total: number;
  requests_total: number;
  retries_total: number;
  last_error: string | null;
  connected: boolean;
  backoff_ms: number;
}

export interface InfluxWriterOptions {
  config: InfluxConfig;
  outbox: Outbox;
  /** the HTTP client (core/http.ts); fetch itself fits */
  fetch?: HttpFetch;
  log?: LogSink;
  /** epoch ms, for the set-aside rows */
  now?: () => number;
  random?: () => number;
  /** parallel requests; 2 keeps InfluxDB busy while the next batch is read */
  concurrency?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  maxBodyBytes?: number;
}

type SendResult = { ok: true; written: number } | { ok: false; error: string };

class RetryableError extends Error {}

export class InfluxWriter {
  private readonly fetch: HttpFetch;
  /** limited lines: one per key a minute, so an InfluxDB away for a day does not fill the log */
  private readonly log: Logger;
  private readonly writeUrl: string;
  /** the same with precision=ns, for chunks whose times are in nanoseconds */
  private readonly writeUrlNs: string;
  private readonly queryUrl: string;
  private readonly pingUrl: string;
  private readonly headers: Record<string, string>;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private draining = 0;
  private createdDb = false;
  private readonly stopping = new AbortController();
  readonly st: WriterStats = { written_total: 0, rejected_total: 0, requests_total: 0, retries_total: 0, last_error: null, connected: false, backoff_ms: 0 };

  constructor(private readonly opts: InfluxWriterOptions) {
    this.fetch = opts.fetch ?? httpFetch;
    this.log = moduleLog(opts.log, 'history', { windowMs: 60_000 });
    const base = opts.config.url.endsWith('/') ? opts.config.url : `${opts.config.url}/`;
    const q = new URLSearchParams({ db: opts.config.database, precision: 'ms' });
    this.writeUrl = new URL(`write?${q.toString()}`, base).toString();
    q.set('precision', 'ns');
    this.writeUrlNs = new URL(`write?${q.toString()}`, base).toString();
    this.queryUrl = new URL('query', base).toString();
    this.pingUrl = new URL('ping', base).toString();
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (opts.config.username !== undefined) {
      // Basic auth: InfluxDB 1.x users, InfluxDB 2 v1-compatibility authorizations, VictoriaMetrics -httpAuth
      this.headers.authorization = `Basic ${Buffer.from(`${opts.config.username}:${opts.config.password ?? ''}`).toString('base64')}`;
    } else if (opts.config.password !== undefined) {
      // a password without a username is an API token (InfluxDB 2 and 3 accept `Token` on /write)
      this.headers.authorization = `Token ${opts.config.password}`;
    }
    // a full batch is waiting: send now, unless backing off (commits must not cut a backoff short)
    opts.outbox.onCommitted((rows) => {
      if (rows >= this.batchPoints && this.failures === 0) this.kick();
    });
  }

  private get batchPoints(): number {
    return this.opts.config.batch_points ?? 5000;
  }
  private get batchMs(): number {
    return this.opts.config.batch_ms ?? 1000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    void this.ping();
  }

  /** GET /ping (InfluxDB 1.x/2/3 and VictoriaMetrics answer 204), so the page shows the link before the first write. */
  private async ping(): Promise<void> {
    try {
      const res = await this.fetch(this.pingUrl, { headers: this.headers, signal: AbortSignal.any([AbortSignal.timeout(10_000), this.stopping.signal]) });
      await res.arrayBuffer();
      if (this.st.requests_total > 0) return; // a write already told us more
      if (res.ok) this.st.connected = true;
      else this.st.last_error = `ping: HTTP ${res.status}`;
    } catch (err) {
      if (this.st.requests_total > 0) return;
      const e = err as Error & { cause?: { code?: string } };
      this.st.last_error = `ping: ${e.cause?.code ?? e.message}`;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort(new RetryableError('writer stopped'));
    this.kick();
    await this.loop;
    this.loop = null;
  }

  /** Wake the loop now (enough rows for a full batch, or stop). */
  kick(): void {
    const w = this.wake;
    this.wake = null;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(() => {
        this.wake = null;
        this.sleepTimer = null;
        resolve();
      }, ms);
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const outbox = this.opts.outbox;
      if (outbox.committedRows === 0 || (outbox.committedRows < this.batchPoints && !this.draining && this.failures === 0 && !this.dueByTime())) {
        await this.sleep(outbox.committedRows === 0 ? this.batchMs : Math.max(1, this.nextDue - Date.now()));
        continue;
      }
      let ok: boolean;
      try {
        ok = await this.exclusive(() => this.round());
      } catch (err) {
        // SQLite trouble (disk, closed at shutdown): say so and try again later, never crash
        const error = `outbox: ${(err as Error).message}`;
        this.st.last_error = error;
        this.log.limited('outbox', () => error, 'error');
        ok = false;
        this.st.backoff_ms = Math.max(this.st.backoff_ms, 1000);
      }
      if (!ok && this.running) await this.sleep(this.st.backoff_ms);
    }
  }

  private nextDue = 0;
  private dueByTime(): boolean {
    if (Date.now() >= this.nextDue) return true;
    return false;
  }

  /** One round: up to `concurrency` consecutive batches in parallel. false when something failed. */
  async round(): Promise<boolean> {
    this.nextDue = Date.now() + this.batchMs;
    const outbox = this.opts.outbox;
    const n = Math.max(1, this.opts.concurrency ?? 2);
    const maxBody = this.opts.maxBodyBytes ?? MAX_BODY_BYTES;
    const batches: OutboxChunk[][] = [];
    let after = 0;
    for (let i = 0; i < n; i++) {
      const chunks = outbox.peek(this.batchPoints, maxBody, after);
      if (!chunks.length) break;
      batches.push(chunks);
      after = chunks[chunks.length - 1]!.id;
      if (i === 0 && !this.draining && chunks.reduce((n, c) => n + c.n, 0) < this.batchPoints) break;
    }
    if (!batches.length) return true;
    const results = await Promise.all(batches.map((b) => this.sendChunks(b)));
    const failed = results.find((r): r is { ok: false; error: string } => !r.ok);
    if (failed) {
      this.failures++;
      this.st.retries_total++;
      this.st.connected = false;
      this.st.last_error = failed.error;
      const min = this.opts.minBackoffMs ?? 500;
      const max = this.opts.maxBackoffMs ?? 30_000;
      const cap = Math.min(max, min * 2 ** Math.min(this.failures - 1, 20));
      // "full jitter": anywhere between half and all of the capped delay
      this.st.backoff_ms = Math.round(cap / 2 + (this.opts.random ?? Math.random)() * (cap / 2));
      // each of the first ten failures in a row is logged with its delay; after that, one a minute
      const delay = this.st.backoff_ms;
      this.log.limited(`write failed:${Math.min(this.failures, 10)}`, () => `InfluxDB write failed (${failed.error}); retrying in ${delay} ms`);
      return false;
    }
    if (this.failures) this.log.info(`InfluxDB writes work again after ${this.failures} failed attempt${this.failures === 1 ? '' : 's'}`);
    this.failures = 0;
    this.st.backoff_ms = 0;
    return true;
  }

  /** Send chunks; on 400/422 find the refused points by halving, set them aside, drop the chunks. */
  private async sendChunks(chunks: OutboxChunk[]): Promise<SendResult> {
    let body = chunks[0]!.lines;
    let points = chunks[0]!.n;
    for (let i = 1; i < chunks.length; i++) {
      body += `\n${chunks[i]!.lines}`;
      points += chunks[i]!.n;
    }
    const first = chunks[0]!.id;
    const last = chunks[chunks.length - 1]!.id;
    // peek() gives chunks of one time unit
    const url = chunks[0]!.ns ? this.writeUrlNs : this.writeUrl;
    let res: { status: number; text: string };
    try {
      res = await this.post(`${body}\n`, url);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    if (res.status >= 200 && res.status < 300) {
      this.opts.outbox.remove(first, last);
      this.st.written_total += points;
      this.st.connected = true;
      this.st.last_error = null;
      return { ok: true, written: points };
    }
    const error = `HTTP ${res.status}: ${res.text.slice(0, 300).trim()}`;
    if (res.status === 404 && /database not found/i.test(res.text) && !this.createdDb) {
      this.createdDb = true;
      await this.createDatabase();
      return { ok: false, error };
    }
    if (res.status === 400 || res.status === 422 || res.status === 413) {
      this.st.connected = true;
      // halve until each refused point is alone; the good points land on the way
      const lines = body.split('\n');
      const r = await this.bisect(lines, res.status === 413 ? null : res, url);
      if (!r.ok) return r;
      this.opts.outbox.remove(first, last);
      this.st.written_total += r.written;
      return r;
    }
    return { ok: false, error };
  }

  private async bisect(lines: string[], known: { status: number; text: string } | null, url: string): Promise<SendResult> {
    let res = known;
    if (!res) {
      try {
        res = await this.post(`${lines.join('\n')}\n`, url);
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    }
    if (res.status >= 200 && res.status < 300) return { ok: true, written: lines.length };
    const error = `HTTP ${res.status}: ${res.text.slice(0, 300).trim()}`;
    if (res.status !== 400 && res.status !== 422 && res.status !== 413) return { ok: false, error };
    if (lines.length === 1 && res.status !== 413) {
      this.opts.outbox.setAside(lines[0]!, res.status, error, this.opts.now?.() ?? Date.now());
      this.st.rejected_total++;
      // one line a minute per measurement: a flood of bad points in one measurement is one line
      const measurement = /^(?:[^,\s\\]|\\.)*/.exec(lines[0]!)![0].slice(0, 64);
      this.log.limited(`refused:${measurement}`, () => `InfluxDB refused a point, set aside in outbox_rejected (${error}): ${lines[0]!.slice(0, 500)}`);
      return { ok: true, written: 0 };
    }
    if (lines.length === 1) return { ok: false, error };
    const mid = lines.length >> 1;
    const a = await this.bisect(lines.slice(0, mid), null, url);
    if (!a.ok) return a;
    const b = await this.bisect(lines.slice(mid), null, url);
    if (!b.ok) return b;
    return { ok: true, written: a.written + b.written };
  }

  private async post(body: string, url: string): Promise<{ status: number; text: string }> {
    this.st.requests_total++;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new RetryableError('timed out after 30 s')), 30_000);
    try {
      const res = await this.fetch(url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.any([ctl.signal, this.stopping.signal]) });
      const text = res.status === 204 ? '' : await res.text();
      return { status: res.status, text };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new RetryableError(e.cause?.code ?? e.cause?.message ?? e.message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** InfluxDB 1.x answers 404 "database not found" until someone creates it; try once. */
  private async createDatabase(): Promise<void> {
    try {
      const body = new URLSearchParams({ q: `CREATE DATABASE "${this.opts.config.database.replace(/["\\]/g, '\\$&')}"` });
      const res = await this.fetch(this.queryUrl, { method: 'POST', headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' }, body });
      await res.text();
      this.log.info(`database "${this.opts.config.database}" was missing; CREATE DATABASE answered ${res.status}`);
    } catch (err) {
      this.log.error(`could not create database: ${(err as Error).message}`);
    }
  }

  /**
   * Send everything committed so far (for `tend history flush`), reporting progress.
   * Gives up after `maxFailures` failed rounds in a row with the last error.
   */
  async drain(progress?: (done: number, total: number, rate: number) => void, maxFailures = 5): Promise<number> {
    const outbox = this.opts.outbox;
    const total = outbox.committedRows;
    const start = Date.now();
    const before = this.st.written_total + this.st.rejected_total;
    let failures = 0;
    this.draining++;
    try {
      // rows go out oldest first, so once `total` points went, everything there at the start did
      // (a live village keeps adding rows; those are the background writer's)
      let done = 0;
      while (outbox.committedRows > 0 && done < total) {
        const ok = await this.exclusive(() => this.round());
        done = this.st.written_total + this.st.rejected_total - before;
        const secs = (Date.now() - start) / 1000;
        progress?.(Math.min(done, total), total, secs > 0 ? done / secs : 0);
        if (ok) {
          failures = 0;
          continue;
        }
        if (++failures >= maxFailures) throw new Error(`InfluxDB not reachable: ${this.st.last_error ?? 'unknown error'}`);
        await new Promise((r) => setTimeout(r, this.st.backoff_ms));
      }
    } finally {
      this.draining--;
    }
    return this.st.written_total + this.st.rejected_total - before;
  }

  private busy: Promise<unknown> = Promise.resolve();
  /** Rounds never overlap: each waits for the one before (they would read the same rows). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn);
    this.busy = next.catch(() => {});
    return next;
  }
}
