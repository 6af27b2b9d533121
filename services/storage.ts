// One SQLite file under storage.dir, opened once and passed in to every module that keeps
// state. Writes are grouped: modules queue rows in memory and register a flusher; a single
// transaction a few milliseconds later writes them all (group commit), then tells the waiting
// callers, so a QoS 1 PUBACK can wait until its reading is durable without one fsync per message.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkStatus } from '../core/types.ts';

export type Db = Database.Database;

/** after a failed commit (disk full, read-only), try again this often */
const RETRY_MS = 1000;

export interface Flusher {
  /** write queued rows; runs inside the group transaction */
  flush(): void;
  /**
   * The transaction holding the last flush() rolled back (disk full, read-only): queue again what
   * it wrote, so the next commit (retried by the village's 1 s tick) writes it once space returns.
   */
  rolledBack?(err: Error): void;
}

export class Storage {
  readonly db: Db;
  private flushers: Flusher[] = [];
  private waiters: ((err: Error | null) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** last write error (disk full, read-only): monitoring goes on in memory, the page says so */
  lastError: string | null = null;
  commits = 0;
  private closing = false;

  constructor(
    dir: string,
    private readonly delayMs = 15,
    file = 'tend.db',
  ) {
    if (dir !== ':memory:') mkdirSync(dir, { recursive: true });
    this.db = new Database(dir === ':memory:' ? ':memory:' : join(dir, file));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL survives a process crash (SIGKILL); FULL also a power cut, at more fsyncs.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 2000');
  }

  /** The storage link as the page and /metrics show it. */
  link(since: string): LinkStatus {
    return { name: 'storage', kind: 'storage', state: this.lastError ? 'error' : 'connected', last_error: this.lastError, since };
  }

  register(f: Flusher): void {
    this.flushers.push(f);
  }

  /** Ask for a group commit soon; `done` runs after the rows queued so far are on disk. */
  commitSoon(done?: (err: Error | null) => void): void {
    if (done) this.waiters.push(done);
    if (!this.timer) this.timer = setTimeout(() => this.commitNow(), this.delayMs);
  }

  commitNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiters = this.waiters;
    this.waiters = [];
    let error: Error | null = null;
    try {
      this.db.transaction(() => {
        for (const f of this.flushers) f.flush();
      })();
      this.commits++;
      this.lastError = null;
    } catch (err) {
      error = err as Error;
      this.lastError = (err as Error).message;
      for (const f of this.flushers) {
        try {
          f.rolledBack?.(error);
        } catch {
          /* a flusher's own bookkeeping must not stop the others */
        }
      }
      // the rows are queued again; try again on our own, so recovery does not wait for a reading
      if (this.db.open && !this.closing) this.timer = setTimeout(() => this.commitNow(), RETRY_MS);
    }
    for (const w of waiters) w(error);
  }

  close(): void {
    this.closing = true;
    this.commitNow();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.db.open) this.db.close();
  }
}
