// Real storage faults for the storage tests: a tiny tmpfs that fills up, a read-only bind mount,
// garbage written over a database file. Mounting needs root (or mount rights): each helper
// returns null when the mount is refused, so the test can skip with a clear message.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Run `fn` later, in reverse order of registration (the test's afterEach runs them). */
export type Cleanups = (() => Promise<void> | void)[];

/** A size-limited tmpfs mounted on a fresh temp dir, unmounted and removed by `cleanups`. */
export function smallDisk(cleanups: Cleanups, size = '4m'): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'tend-smalldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmdirSync(dir);
    return null;
  }
  cleanups.push(() => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fill the file system holding `dir` until ENOSPC; returns the filler file (remove it to free space). */
export function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'a');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    const small = Buffer.alloc(512, 1);
    try {
      for (;;) writeSync(fd, small);
    } catch {
      /* full to the last block */
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

/** `src` seen read-only at a new path (a read-only bind mount, as a card remounted ro looks). */
export function readOnlyView(cleanups: Cleanups, src: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'tend-readonly-'));
  try {
    execFileSync('mount', ['--bind', src, dir], { stdio: 'ignore' });
  } catch {
    rmdirSync(dir);
    return null;
  }
  cleanups.push(() => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    rmdirSync(dir);
  });
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return dir;
}

/** Write `bytes` of garbage into `file` at `offset` (the file keeps its size). */
export function scribble(file: string, offset: number, bytes: number): void {
  const fd = openSync(file, 'r+');
  try {
    const junk = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) junk[i] = (i * 37 + 11) & 0xff;
    writeSync(fd, junk, 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
}
