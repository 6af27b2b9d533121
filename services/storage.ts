// One SQLite file under storage.dir, opened once and passed in to every module that keeps
// state. Writes are grouped: modules queue rows in memory and register a flusher; a single
// transaction a few milliseconds later writes them all (group commit), then tells the waiting
// callers, so a QoS 1 PUBACK can wait until its reading is durable without one fsync per message.
//
// The file must never keep the village from being watched:
// - damaged or unreadable at start (garbage over its header or pages, an I/O error reading it):
//   it is moved aside with a timestamp, with its -wal and -shm, never deleted, and tend starts on
//   a fresh file;
// - a storage dir that cannot be written at start (read-only, disk full): tend runs on an
//   in-memory database, from a copy of the file as it was when one can be read;
// - writes failing later (disk full, remounted read-only): modules keep their rows queued and the
//   commit is retried every second.
// Each is logged loudly, once, with the path and what to do, and shown on /healthz, /metrics, the
// storage link and the page, with the number of accepted readings held only in memory.
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock, type LinkStatus } from '../core/types.ts';
import { moduleLog, type Logger, type LogSink } from '../core/log.ts';

export type Db = Database.Database;

/** after a failed commit (disk full, read-only), try again this often */
const RETRY_MS = 1000;
/** a read-only start copies the file into memory only up to this size (the copy lives in RAM) */
const MAX_MEMORY_COPY_BYTES = 64 * 1024 * 1024;
/** SQLite codes that mean the file itself is damaged or cannot be read (not the dir or the disk) */
const DAMAGE_CODES = /^SQLITE_(CORRUPT|NOTADB|IOERR_READ|IOERR_SHORT_READ)/;

export interface Flusher {
  /** write queued rows; runs inside the group transaction */
  flush(): void;
  /**
   * The transaction holding the last flush() rolled back (disk full, read-only): queue again what
   * it wrote, so the next commit (retried by the village's 1 s tick) writes it once space returns.
   */
  rolledBack?(err: Error): void;
}

export interface StorageOptions {
  /** group commit delay (ms) when someone waits for it (a QoS 1 PUBACK): rows arriving meanwhile join it */
  delayMs?: number;
  /** awaited commits no closer together than this (ms): under a stream each fsync carries more rows */
  minGapMs?: number;
  /** group commit delay (ms) when nobody waits: rows of QoS 0 readings, status samples, alert state */
  lazyDelayMs?: number;
  /** file name under the dir */
  file?: string;
  log?: LogSink;
  clock?: Clock;
}

/** What /healthz shows of the storage (the village adds its own keys). */
export interface StorageHealth {
  /** false while nothing new reaches the disk: writes failing, or running in memory */
  ok: boolean;
  /** not ok, or a damaged file was moved aside at start */
  degraded: boolean;
  /** what is wrong and what it means, in a sentence; null when nothing is */
  reason: string | null;
  /** 'ok', or the write error, or why tend runs in memory */
  storage: string;
  storage_mode: 'file' | 'memory';
  /** accepted readings that exist only in memory: lost if tend stops now */
  held_readings: number;
  /** where a damaged database was moved at start, or null */
  moved_aside: string | null;
}

/** The storage link as the page and /metrics show it; `notice` is the page's storage mark. */
export type StorageLink = LinkStatus & { notice: string | null; held_readings: number; mode: 'file' | 'memory' };

export class Storage {
  readonly db: Db;
  /** the database file, or ':memory:' */
  readonly path: string;
  /** why tend runs on an in-memory database though a dir was given (read-only, disk full); null on a file */
  readonly memoryReason: string | null = null;
  /** where a damaged database was moved aside at start; null when it was not */
  readonly movedAside: string | null = null;
  private flushers: Flusher[] = [];
  private waiters: ((err: Error | null) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** when the pending commit's timer fires (performance.now() ms) */
  private timerAt = 0;
  /** when the last commit began (performance.now() ms) */
  private lastCommitAt = -Infinity;
  /** the group transaction, made once at the first commit */
  private transaction: (() => void) | null = null;
  /** last write error (disk full, read-only): monitoring goes on in memory, the page says so */
  lastError: string | null = null;
  /** when the current run of failed commits began (clock ms); null while writes work */
  private failingSince: number | null = null;
  commits = 0;
  failedCommits = 0;
  /**
   * Accepted readings that exist only in memory: those since the last commit that succeeded, or,
   * running in memory, every one since start. The village counts each reading in.
   */
  heldReadings = 0;
  private closing = false;
  private readonly delayMs: number;
  private readonly minGapMs: number;
  private readonly lazyDelayMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly startedAt: number;

  constructor(dir: string, opts: StorageOptions = {}) {
    this.delayMs = opts.delayMs ?? 5;
    this.minGapMs = Math.max(this.delayMs, opts.minGapMs ?? 30);
    this.lazyDelayMs = Math.max(this.delayMs, opts.lazyDelayMs ?? 100);
    this.clock = opts.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.log = moduleLog(opts.log, 'storage');
    if (dir === ':memory:') {
      // asked for (tests, simulations): nothing to warn about
      this.path = ':memory:';
      this.db = new Database(':memory:');
      return;
    }
    this.path = join(dir, opts.file ?? 'tend.db');
    const opened = openOrRecover(dir, this.path, this.log);
    this.db = opened.db;
    this.memoryReason = opened.memoryReason;
    this.movedAside = opened.movedAside;
  }

  /** A reading was accepted: it is only in memory until the next commit succeeds. */
  readingAccepted(): void {
    this.heldReadings++;
  }

  /** What keeps the storage from keeping new state on disk, or null (for tend_storage_ok). */
  problem(): string | null {
    if (this.lastError !== null) return this.lastError;
    if (this.memoryReason !== null) return `in memory: ${this.memoryReason}`;
    return null;
  }

  /** One sentence for people: the page's mark, /healthz's reason. Null when all is well. */
  notice(): string | null {
    const parts: string[] = [];
    if (this.movedAside) parts.push(`a damaged database was moved aside to ${this.movedAside} at start; tend began with a fresh, empty one`);
    if (this.lastError !== null) {
      const since = new Date(this.failingSince ?? this.clock.now()).toISOString();
      parts.push(`writes fail since ${since} (${this.lastError}): ${readings(this.heldReadings)} held in memory, not yet on disk; retrying every second`);
    } else if (this.memoryReason !== null) {
      parts.push(`running in memory (${this.memoryReason}): ${readings(this.heldReadings)} held in memory since start; nothing new survives a restart`);
    }
    return parts.length ? parts.join('; ') : null;
  }

  health(): StorageHealth {
    const problem = this.problem();
    return {
      ok: problem === null,
      degraded: problem !== null || this.movedAside !== null,
      reason: this.notice(),
      storage: problem ?? 'ok',
      storage_mode: this.path === ':memory:' || this.memoryReason !== null ? 'memory' : 'file',
      held_readings: this.heldReadings,
      moved_aside: this.movedAside,
    };
  }

  /** The storage link as the page and /metrics show it. */
  link(since: string): StorageLink {
    const down = this.problem() !== null;
    return {
      name: 'storage',
      kind: 'storage',
      state: down ? 'error' : 'connected',
      last_error: down ? this.notice() : null,
      since: this.failingSince !== null ? new Date(this.failingSince).toISOString() : since,
      notice: this.notice(),
      held_readings: this.heldReadings,
      mode: this.health().storage_mode,
    };
  }

  /** Gauges for /metrics, read when scraped (tend_storage_ok is the village's). */
  gauges(): [name: string, help: string, value: () => number][] {
    return [
      [
        'tend_storage_held_readings',
        'Accepted readings held only in memory (writes failing, or running in memory): lost if tend stops now',
        () => this.heldReadings,
      ],
      [
        'tend_storage_memory',
        '1 when tend runs on an in-memory database because its storage dir could not be written at start',
        () => (this.memoryReason !== null ? 1 : 0),
      ],
      [
        'tend_storage_moved_aside',
        '1 when a damaged database was moved aside at start and tend began with a fresh one',
        () => (this.movedAside !== null ? 1 : 0),
      ],
    ];
  }

  register(f: Flusher): void {
    this.flushers.push(f);
  }

  /**
   * Ask for a group commit soon; `done` runs after the rows queued so far are on disk, or with the
   * error when the commit failed (the rows stay queued and are retried).
   *
   * Every commit costs an fsync (synchronous = FULL): about 0.1 ms of CPU and more of wall time,
   * whatever it carries. A commit someone waits for (a QoS 1 PUBACK) comes `delayMs` after it is
   * asked, so a lone device's reading is acknowledged within a few milliseconds, but no sooner than
   * `minGapMs` after the one before: under a stream of readings the fsyncs stay at ~33 a second and
   * each carries more rows. Rows nobody waits for (QoS 0 readings, status samples, alert state)
   * wait up to `lazyDelayMs`, or ride along with the next awaited commit.
   */
  commitSoon(done?: (err: Error | null) => void): void {
    if (done) this.waiters.push(done);
    const now = performance.now();
    const at = done ? Math.max(now + this.delayMs, this.lastCommitAt + this.minGapMs) : now + this.lazyDelayMs;
    // a commit already due sooner takes these rows too; while writes fail, the 1 s retry does
    if (this.timer && (this.timerAt <= at || this.failingSince !== null)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.commitNow(), at - now);
  }

  commitNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastCommitAt = performance.now();
    const waiters = this.waiters;
    this.waiters = [];
    if (!this.db.open) {
      // closed: nothing more can be written, and that is no disk failure to report
      for (const w of waiters) w(new Error('storage is closed'));
      return;
    }
    let error: Error | null = null;
    try {
      this.transaction ??= this.db.transaction(() => {
        for (const f of this.flushers) f.flush();
      });
      this.transaction();
      this.commits++;
      if (this.failingSince !== null) {
        const secs = Math.round((this.clock.now() - this.failingSince) / 1000);
        this.log.info(`writes to ${this.path} work again after ${secs} s: ${readings(this.heldReadings)} held in memory are on disk now`);
      }
      this.lastError = null;
      this.failingSince = null;
      // in memory, a commit keeps nothing across a restart
      if (this.memoryReason === null) this.heldReadings = 0;
    } catch (err) {
      error = err as Error;
      this.failedCommits++;
      // once per episode: the 1 s retries must not fill the log (the disk may be full of it)
      if (this.failingSince === null) {
        this.failingSince = this.clock.now();
        this.log.error(
          `writes to ${this.path} fail (${error.message}): monitoring and alerts go on from memory, ` +
            `${readings(this.heldReadings)} held there so far, the unwritten rows stay queued and are retried every second. ${whatToDo(error, this.path)}`,
        );
      }
      this.lastError = error.message;
      for (const f of this.flushers) {
        try {
          f.rolledBack?.(error);
        } catch {
          /* a flusher's own bookkeeping must not stop the others */
        }
      }
      // the rows are queued again; try again on our own, so recovery does not wait for a reading
      if (this.db.open && !this.closing) {
        this.timerAt = performance.now() + RETRY_MS;
        this.timer = setTimeout(() => this.commitNow(), RETRY_MS);
      }
    }
    for (const w of waiters) w(error);
  }

  close(): void {
    this.closing = true;
    if (this.db.open) this.commitNow();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // what is only in memory goes with the process: say how much
    const why =
      this.lastError !== null ? `writes still fail (${this.lastError})` : this.memoryReason !== null ? `running in memory (${this.memoryReason})` : null;
    if (why && this.heldReadings > 0) {
      const since = new Date(this.failingSince ?? this.startedAt).toISOString();
      this.log.error(
        `closing while ${why}: ${readings(this.heldReadings)} accepted since ${since} could not be written to disk and will be lost, ` +
          'with the alert, prompt and note changes since then',
      );
    }
    if (this.db.open) this.db.close();
  }
}

const readings = (n: number) => `${n} reading${n === 1 ? '' : 's'}`;

function whatToDo(err: Error, path: string): string {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') return `Free space on the disk holding ${path}.`;
  if (DAMAGE_CODES.test(code)) return `The file is damaged: restart tend to move it aside and start on a fresh one.`;
  return `Check the disk holding ${path} (a card remounted read-only after errors shows in dmesg) and restart tend once it takes writes.`;
}

interface Opened {
  db: Db;
  memoryReason: string | null;
  movedAside: string | null;
}

/** Open the file; if it is damaged move it aside and start fresh; if nothing can be written, run in memory. */
function openOrRecover(dir: string, path: string, log: Logger): Opened {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    return inMemory(path, `the storage dir ${dir} cannot be created (${errText(err)})`, log);
  }
  try {
    return { db: openFile(path), memoryReason: null, movedAside: null };
  } catch (err) {
    if (!canWrite(dir)) return inMemory(path, `the storage dir ${dir} is read-only (${errText(err)})`, log);
    if (isFull(dir)) return inMemory(path, `the disk holding ${dir} is full (${errText(err)})`, log);
    if (!isDamage(err, path)) return inMemory(path, `${path} cannot be opened for writing (${errText(err)})`, log);
    let aside: string;
    try {
      aside = moveAside(path);
    } catch (moveErr) {
      return inMemory(path, `${path} is damaged (${errText(err)}) and could not be moved aside (${errText(moveErr)})`, log);
    }
    log.error(
      `${path} is damaged or unreadable (${errText(err)}). Moved it aside to ${aside} (with its -wal and -shm) and started on a fresh, empty ` +
        'database: monitoring and alerts work, but the latest values, alerts, prompts, notes and history waiting for InfluxDB from before are not loaded. ' +
        `Keep the moved file; to recover what it still holds: sqlite3 ${aside} .recover > recovered.sql`,
    );
    try {
      return { db: openFile(path), memoryReason: null, movedAside: aside };
    } catch (freshErr) {
      const r = inMemory(path, `a fresh ${path} cannot be opened either (${errText(freshErr)})`, log);
      return { ...r, movedAside: aside };
    }
  }
}

/** Open and check the file, and prove it takes a write; throws what went wrong. */
function openFile(path: string): Db {
  if (existsSync(path)) {
    // check through a read-only connection: closing it never checkpoints into a damaged file
    // (a -wal stays as it was, to move aside with it). Reads every page once, at start only.
    const check = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const result = String(check.pragma('quick_check(5)', { simple: true }));
      if (result !== 'ok') throw Object.assign(new Error(`quick_check: ${result.split('\n').slice(0, 3).join('; ')}`), { code: 'SQLITE_CORRUPT' });
    } finally {
      check.close();
    }
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL survives a process crash (SIGKILL); FULL also a power cut, at more fsyncs.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 2000');
    // a real write at start: a full disk or a read-only mount shows now, not at the first reading
    db.exec('CREATE TABLE IF NOT EXISTS storage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.prepare("INSERT OR REPLACE INTO storage_meta (key, value) VALUES ('opened_at', ?)").run(new Date().toISOString());
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** An in-memory database, from a copy of the file as it is when one can be read. Logged. */
function inMemory(path: string, reason: string, log: Logger): Opened {
  let db: Db | null = null;
  const bytes = copyOf(path);
  if (bytes) {
    try {
      db = new Database(bytes);
      if (String(db.pragma('quick_check(1)', { simple: true })) !== 'ok') throw new Error('damaged');
    } catch {
      db?.close();
      db = null;
    }
  }
  const from = db ? `from a copy of ${path} as it was at start` : `empty (${existsSync(path) ? `${path} could not be copied` : `there is no ${path} yet`})`;
  db ??= new Database(':memory:');
  log.error(
    `${reason}: running in memory, ${from}. Monitoring and alerts go on, but nothing tend learns from now on survives a restart. ` +
      `Make the storage dir writable (or free space) and restart tend. ${path} itself is left as it is.`,
  );
  return { db, memoryReason: reason, movedAside: null };
}

/** The file's bytes for an in-memory copy, or null (none, unreadable, too large). */
function copyOf(path: string): Buffer | null {
  try {
    if (!existsSync(path) || statSync(path).size > MAX_MEMORY_COPY_BYTES) return null;
  } catch {
    return null;
  }
  let bytes: Buffer | null = null;
  try {
    const ro = new Database(path, { readonly: true, fileMustExist: true });
    try {
      bytes = ro.serialize();
    } finally {
      ro.close();
    }
  } catch {
    // a cleanly closed WAL database cannot be opened in a read-only dir (SQLite wants to create
    // its -shm); its bytes then hold everything, unless a -wal with commits in it is left beside
    try {
      const wal = `${path}-wal`;
      if (!existsSync(wal) || statSync(wal).size === 0) bytes = readFileSync(path);
    } catch {
      bytes = null;
    }
  }
  if (!bytes || bytes.length < 100) return null;
  // an in-memory database has no WAL: mark the copy as a rollback-journal file (header bytes 18, 19)
  bytes[18] = 1;
  bytes[19] = 1;
  return bytes;
}

/** Rename the file and its -wal/-shm to `<file>.damaged-<UTC time>`; returns the new path. */
function moveAside(path: string): string {
  const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, aside);
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  return aside;
}

function isDamage(err: unknown, path: string): boolean {
  const code = (err as { code?: string }).code ?? '';
  // SQLite cannot open a file that is there, in a dir it may write: the file itself is unreadable
  return DAMAGE_CODES.test(code) || (code === 'SQLITE_CANTOPEN' && existsSync(path));
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function isFull(dir: string): boolean {
  try {
    return statfsSync(dir).bavail === 0;
  } catch {
    return false;
  }
}

function errText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e.message ?? err);
}
