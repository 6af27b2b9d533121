// Backups of tend's state — alerts, incidents, prompts and notes, the reserve's windows, the
// history outbox not yet sent — because the SD card is the part of a gateway that dies first.
//
// A backup is SQLite's online backup of the one state file: consistent while tend keeps writing
// (a page-by-page copy that restarts the pages a writer changed), taken by `tend backup FILE` from
// another process or on a schedule (`storage.backup: {dir, every_h, keep}`) by tend itself. Each
// backup leaves a small note beside the state (last-backup.json) so the page can say when the
// last one was taken. `tend restore FILE` puts a backup in place on a new card, with tend stopped.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { moduleLog, type Logger, type LogSink } from '../core/log.ts';
import type { Clock, LinkStatus } from '../core/types.ts';

/** the state file under storage.dir (services/storage.ts) */
export const STATE_FILE = 'tend.db';
const NOTE_FILE = 'last-backup.json';
/** tables every tend state has; a file without them is not a tend backup */
const TEND_TABLES = ['alert_alerts', 'alert_incidents'];

export interface BackupNote {
  /** when the backup was taken (ISO) */
  at: string;
  file: string;
  bytes: number;
}

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Progress of a copy: pages done of all. */
export type BackupProgress = (done: number, total: number) => void;

/**
 * Copy the state file at `source` to `target` while tend may be writing it, then check the copy.
 * Writes the note beside the source. Returns the note.
 */
export async function takeBackup(source: string, target: string, opts: { progress?: BackupProgress; now?: () => number } = {}): Promise<BackupNote> {
  if (!existsSync(source)) throw new BackupError(`no tend state at ${source} (is storage.dir right?)`);
  const to = resolve(target);
  mkdirSync(dirname(to), { recursive: true });
  // the copy goes to a temporary name first: a backup cut short (power, full stick) never looks whole
  const partial = `${to}.partial`;
  const db = new Database(source, { readonly: true, fileMustExist: true });
  let pages = 0;
  try {
    await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        pages = totalPages;
        opts.progress?.(totalPages - remainingPages, totalPages);
        // pages per step: large enough to finish quickly, small enough to let tend write between steps
        return 256;
      },
    });
  } finally {
    db.close();
  }
  opts.progress?.(pages, pages);
  checkState(partial);
  renameSync(partial, to);
  const note: BackupNote = { at: new Date(opts.now?.() ?? Date.now()).toISOString(), file: to, bytes: statSync(to).size };
  writeFileSync(join(dirname(source), NOTE_FILE), `${JSON.stringify(note)}\n`);
  return note;
}

/**
 * Put a backup in place as the state under `dir`, tend stopped. A state already there is moved
 * aside (never deleted) when `replace` is set, and refused otherwise. Returns where the old one went.
 */
export function restoreBackup(file: string, dir: string, opts: { replace?: boolean; now?: () => number } = {}): { movedAside: string | null } {
  if (!existsSync(file)) throw new BackupError(`no backup at ${file}`);
  checkState(file);
  mkdirSync(dir, { recursive: true });
  const state = join(dir, STATE_FILE);
  let movedAside: string | null = null;
  if (existsSync(state)) {
    if (!opts.replace) throw new BackupError(`${state} already holds a tend state; stop tend and add --replace to move it aside (it is kept, never deleted)`);
    const stamp = new Date(opts.now?.() ?? Date.now()).toISOString().replace(/[:.]/g, '-');
    movedAside = `${state}.replaced-${stamp}`;
    renameSync(state, movedAside);
    for (const ext of ['-wal', '-shm']) if (existsSync(state + ext)) renameSync(state + ext, movedAside + ext);
  }
  copyFileSync(file, state);
  return { movedAside };
}

/** The note of the last backup taken of the state under `dir`, or null. */
export function lastBackup(dir: string): BackupNote | null {
  try {
    const note = JSON.parse(readFileSync(join(dir, NOTE_FILE), 'utf8')) as BackupNote;
    return typeof note.at === 'string' ? note : null;
  } catch {
    return null;
  }
}

/** A file is a whole tend state: SQLite says it is intact and it holds tend's tables. */
function checkState(file: string): void {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new BackupError(`${file} is damaged (${String(check)})`);
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    const missing = TEND_TABLES.filter((t) => !tables.has(t));
    if (missing.length) throw new BackupError(`${file} is not a tend state (no ${missing.join(', ')} table)`);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`${file} cannot be read as a tend state: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

export interface BackupScheduleOptions {
  /** the state file tend writes */
  source: string;
  /** where backups go (a USB stick, another disk) */
  dir: string;
  every_h: number;
  keep: number;
  clock: Clock;
  log?: LogSink;
}

/** Backups on a schedule, by tend itself: one now and then every `every_h`, the newest `keep` kept. */
export class BackupSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastError: string | null = null;
  private readonly log: Logger;

  constructor(private readonly o: BackupScheduleOptions) {
    this.log = moduleLog(o.log, 'backup');
  }

  start(): void {
    const last = lastBackup(dirname(this.o.source));
    const due = last ? Math.max(0, Date.parse(last.at) + this.o.every_h * 3600_000 - this.o.clock.now()) : 0;
    this.schedule(due);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Take a backup now (the schedule and tests). */
  async runOnce(): Promise<BackupNote | null> {
    const stamp = new Date(this.o.clock.now()).toISOString().replace(/[:.]/g, '-');
    const target = join(this.o.dir, `tend-${stamp}.db`);
    let note: BackupNote | null = null;
    const run = (async () => {
      try {
        note = await takeBackup(this.o.source, target, { now: () => this.o.clock.now() });
        this.lastError = null;
        this.log.info(`backup written to ${target} (${note.bytes.toLocaleString('en')} bytes)`);
        this.prune();
      } catch (err) {
        this.lastError = (err as Error).message;
        this.log.error(`backup to ${target} failed: ${this.lastError}; the next try is at the next scheduled time`);
      }
    })();
    this.running = run;
    await run;
    return note;
  }

  /** The backup link for the page: when the last one was taken, and whether the schedule keeps up. */
  link(): LinkStatus {
    return backupLink(dirname(this.o.source), this.o.clock.now(), this.o.every_h, this.lastError);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => this.schedule(this.o.every_h * 3600_000));
    }, ms);
    this.timer.unref();
  }

  private prune(): void {
    const ours = readdirSync(this.o.dir)
      .filter((f) => /^tend-.*\.db$/.test(f))
      .sort();
    for (const f of ours.slice(0, Math.max(0, ours.length - this.o.keep))) unlinkSync(join(this.o.dir, f));
  }
}

/**
 * What the page shows about backups: when the last was taken (by `tend backup` or the schedule).
 * Overdue (older than twice the schedule) or failed is an error: a card may die any day.
 */
export function backupLink(stateDir: string, now: number, every_h: number | null, lastError: string | null = null): LinkStatus {
  const last = lastBackup(stateDir);
  // one stable name: /metrics labels links by name, and a time in it would be a new series each day
  if (!last) {
    return {
      name: 'backup',
      kind: 'storage',
      state: lastError ? 'error' : 'disconnected',
      last_error: lastError ?? 'no backup taken yet: tend backup FILE, or storage.backup in the config',
      since: new Date(now).toISOString(),
    };
  }
  const overdue = every_h !== null && now - Date.parse(last.at) > 2 * every_h * 3600_000;
  return {
    name: 'backup',
    kind: 'storage',
    state: lastError || overdue ? 'error' : 'connected',
    last_error: lastError ?? (overdue ? `the last backup (${last.at}) is older than twice storage.backup.every_h (${every_h} h)` : null),
    // since: when the last backup was taken, which the page shows beside it
    since: last.at,
  };
}
