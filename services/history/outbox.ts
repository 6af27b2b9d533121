// The history outbox: line-protocol points waiting for InfluxDB, in the shared SQLite file.
// Points are queued in memory and written by the storage group commit (a Flusher), so a reading
// is on disk before its QoS 1 PUBACK goes out [MQTT-4.3.2-2: the receiver owns the message once
// it sends PUBACK]. The writer deletes rows only after InfluxDB answered 2xx.
// Each row is a chunk: the points of one class from one group commit (at most CHUNK_POINTS),
// newline-joined — one SQLite row per chunk, not per point, is what makes 100,000 points/s.
// Bounded by storage.outbox_max_bytes: when full, the oldest raw `reading` points go first,
// then derived samples; reserve totals and alert/incident events go last.
// A chunk's times are all in ms, or all in ns (`ns` 1: readings offset within their millisecond,
// SameMsSequence in points.ts); rows from before that column are ms.
import type Database from 'better-sqlite3';
import type { Flusher, Storage } from '../storage.ts';
import { PointClass, type Point } from './points.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';

/** Bytes a row costs beyond its text (rowid, counts, SQLite record header): an estimate. */
const ROW_OVERHEAD = 32;
/** Points per chunk at most; small enough that bounding and batching stay fine-grained. */
export const CHUNK_POINTS = 1000;

export interface OutboxChunk {
  id: number;
  cls: PointClass;
  /** 1: the lines' times are in nanoseconds; 0: milliseconds */
  ns: number;
  /** points in the chunk */
  n: number;
  /** bytes of `lines` in UTF-8 */
  size: number;
  /** line protocol, one point a line, no trailing newline */
  lines: string;
}

export interface OutboxStats {
  /** points committed and waiting */
  rows: number;
  bytes: number;
  /** points queued for the next group commit */
  pending: number;
  dropped_total: number;
  dropped_by_class: { raw: number; derived: number; keep: number };
  rejected_total: number;
}

type Stmt = Database.Statement<unknown[]>;

/** pending points by class and time unit: index cls for ms, 3 + cls for ns */
const nothingPending = (): Point[][] => [[], [], [], [], [], []];

export class Outbox implements Flusher {
  private pending: Point[][] = nothingPending();
  private pendingCount = 0;
  private rows = 0;
  private bytes = 0;
  private dropped = [0, 0, 0];
  private rejected = 0;
  private started = false;
  private listeners: ((rows: number) => void)[] = [];
  private stmts!: { insert: Stmt; first: Stmt; after: Stmt; remove: Stmt; aside: Stmt; counter: Stmt; trimAside: Stmt; oldestOf: Stmt; dropUpTo: Stmt };

  private readonly log: Logger;

  constructor(
    private readonly storage: Storage,
    private readonly maxBytes: number,
    log?: LogSink,
  ) {
    this.log = moduleLog(log, 'history', { windowMs: 60_000 });
  }

  /** Create the tables, count what a previous run left, register with the group commit. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const db = this.storage.db;
    // AUTOINCREMENT: ids never come back after deletes, so a writer's range delete [first, last]
    // can never catch a row queued after it read its batch.
    db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cls INTEGER NOT NULL,
        n INTEGER NOT NULL,
        size INTEGER NOT NULL,
        lines TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS outbox_rejected (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        error TEXT NOT NULL,
        line TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS outbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    // outboxes of earlier versions have no time unit: their rows are in ms, the default
    const columns = db.prepare('PRAGMA table_info(outbox)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'ns')) db.exec('ALTER TABLE outbox ADD COLUMN ns INTEGER NOT NULL DEFAULT 0');
    this.stmts = {
      insert: db.prepare('INSERT INTO outbox (cls, n, size, lines, ns) VALUES (?, ?, ?, ?, ?)'),
      first: db.prepare('SELECT id, cls, ns, n, size, lines FROM outbox ORDER BY id LIMIT ?'),
      after: db.prepare('SELECT id, cls, ns, n, size, lines FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
      remove: db.prepare('DELETE FROM outbox WHERE id BETWEEN ? AND ? RETURNING n, size'),
      aside: db.prepare('INSERT INTO outbox_rejected (at, status, error, line) VALUES (?, ?, ?, ?)'),
      counter: db.prepare('INSERT INTO outbox_counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
      // keep the last 10,000 set-aside points
      trimAside: db.prepare('DELETE FROM outbox_rejected WHERE id <= (SELECT max(id) FROM outbox_rejected) - 10000'),
      oldestOf: db.prepare('SELECT id, n, size FROM outbox WHERE cls = ? ORDER BY id'),
      dropUpTo: db.prepare('DELETE FROM outbox WHERE cls = ? AND id <= ?'),
    };
    this.recount();
    for (const r of db.prepare('SELECT name, value FROM outbox_counters').all() as { name: string; value: number }[]) {
      const i = ['dropped_raw', 'dropped_derived', 'dropped_keep'].indexOf(r.name);
      if (i >= 0) this.dropped[i] = r.value;
      if (r.name === 'rejected') this.rejected = r.value;
    }
    this.storage.register(this);
  }

  private recount(): void {
    const c = this.storage.db.prepare('SELECT coalesce(sum(n), 0) AS n, count(*) AS c, coalesce(sum(size), 0) AS b FROM outbox').get() as {
      n: number;
      c: number;
      b: number;
    };
    this.rows = c.n;
    this.bytes = c.b + c.c * ROW_OVERHEAD;
  }

  /** Queue a point; it reaches disk with the next group commit. */
  add(p: Point): void {
    this.pending[p.ns ? 3 + p.cls : p.cls]!.push(p);
    this.pendingCount++;
  }

  /** Called after rows were committed, with the committed point count: the writer listens. */
  onCommitted(fn: (rows: number) => void): void {
    this.listeners.push(fn);
  }

  /** Flusher: runs inside the storage group transaction. */
  flush(): void {
    if (!this.pendingCount) return;
    const batch = this.pending;
    const count = this.pendingCount;
    this.pending = nothingPending();
    this.pendingCount = 0;
    let added = 0;
    for (let b = 0; b < batch.length; b++) {
      const pts = batch[b]!;
      for (let i = 0; i < pts.length; i += CHUNK_POINTS) {
        const end = Math.min(pts.length, i + CHUNK_POINTS);
        let text = pts[i]!.line;
        for (let j = i + 1; j < end; j++) text += `\n${pts[j]!.line}`;
        const size = Buffer.byteLength(text);
        this.stmts.insert.run(b % 3, end - i, size, text, b >= 3 ? 1 : 0);
        added += size + ROW_OVERHEAD;
      }
    }
    this.rows += count;
    this.bytes += added;
    if (this.bytes > this.maxBytes) this.enforceBound();
    // After the transaction: if it rolled back (disk full, read-only), the points go back to the
    // queue for the next commit and the counters are read again; else tell the writer.
    const commitsBefore = this.storage.commits;
    queueMicrotask(() => {
      if (this.storage.commits === commitsBefore) {
        for (let b = 0; b < batch.length; b++) this.pending[b] = batch[b]!.concat(this.pending[b]!);
        this.pendingCount += count;
        this.recount();
        return;
      }
      for (const l of this.listeners) l(this.rows);
    });
  }

  /**
   * Over the bound: drop the oldest chunks of the lowest class first, down to 95% of the bound
   * so the next commits do not trim again at once.
   */
  private enforceBound(): void {
    const target = Math.floor(this.maxBytes * 0.95);
    for (const cls of [PointClass.raw, PointClass.derived, PointClass.keep]) {
      if (this.bytes <= target) break;
      const need = this.bytes - target;
      let freed = 0;
      let points = 0;
      let lastId = -1;
      for (const r of this.stmts.oldestOf.iterate(cls) as IterableIterator<{ id: number; n: number; size: number }>) {
        freed += r.size + ROW_OVERHEAD;
        points += r.n;
        lastId = r.id;
        if (freed >= need) break;
      }
      if (lastId < 0) continue;
      this.stmts.dropUpTo.run(cls, lastId);
      this.rows -= points;
      this.bytes -= freed;
      this.dropped[cls] += points;
      const name = ['dropped_raw', 'dropped_derived', 'dropped_keep'][cls]!;
      this.stmts.counter.run(name, this.dropped[cls]);
      // a full outbox drops at every group commit while InfluxDB is away: one line a minute per class
      this.log.limited(name, () => `outbox full (${this.maxBytes} bytes): dropped the ${points} oldest ${name.slice(8)} points`);
    }
  }

  /**
   * The oldest committed chunks, at most `maxPoints` points and `maxBytes` of text in all
   * (always at least one chunk, so nothing can block the queue), all in one time unit: the writer
   * sends them in one request with one precision.
   */
  peek(maxPoints: number, maxBytes: number, afterId = 0): OutboxChunk[] {
    const out: OutboxChunk[] = [];
    let points = 0;
    let bytes = 0;
    const limit = Math.max(1, maxPoints);
    const it = (afterId > 0 ? this.stmts.after.iterate(afterId, limit) : this.stmts.first.iterate(limit)) as IterableIterator<OutboxChunk>;
    for (const r of it) {
      const b = r.size + 1;
      if (out.length && (points + r.n > maxPoints || bytes + b > maxBytes || r.ns !== out[0]!.ns)) break;
      out.push(r);
      points += r.n;
      bytes += b;
    }
    return out;
  }

  /** Delete chunks [firstId, lastId] after InfluxDB took them; returns the points removed. */
  remove(firstId: number, lastId: number): number {
    let n = 0;
    let b = 0;
    for (const g of this.stmts.remove.all(firstId, lastId) as { n: number; size: number }[]) {
      n += g.n;
      b += g.size + ROW_OVERHEAD;
    }
    this.rows -= n;
    this.bytes -= b;
    return n;
  }

  /** A point InfluxDB refused with a 4xx: keep it in outbox_rejected (its chunk goes with the rest). */
  setAside(line: string, status: number, error: string, at: number): void {
    this.storage.db.transaction(() => {
      this.stmts.aside.run(at, status, error.slice(0, 2000), line);
      this.rejected++;
      this.stmts.counter.run('rejected', this.rejected);
      this.stmts.trimAside.run();
    })();
  }

  rejectedRows(limit = 100): { at: number; status: number; error: string; line: string }[] {
    return this.storage.db.prepare('SELECT at, status, error, line FROM outbox_rejected ORDER BY id DESC LIMIT ?').all(limit) as never;
  }

  get committedRows(): number {
    return this.rows;
  }

  stats(): OutboxStats {
    return {
      rows: this.rows,
      bytes: this.bytes,
      pending: this.pendingCount,
      dropped_total: this.dropped[0]! + this.dropped[1]! + this.dropped[2]!,
      dropped_by_class: { raw: this.dropped[0]!, derived: this.dropped[1]!, keep: this.dropped[2]! },
      rejected_total: this.rejected,
    };
  }
}
