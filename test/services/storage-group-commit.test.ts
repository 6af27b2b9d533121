// The group commit: rows somebody waits for (a QoS 1 PUBACK) are committed after the short delay;
// rows nobody waits for are committed later, or with the next awaited commit, in one transaction.
import { afterEach, describe, expect, it } from 'vitest';
import { Storage } from '../../services/storage.ts';
import { tempDir, waitFor } from '../helpers/net.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups.length = 0;
});

/** a storage on a temp dir with one table and a flusher that writes what is queued */
function storage(opts: { delayMs?: number; minGapMs?: number; lazyDelayMs?: number } = {}) {
  const tmp = tempDir();
  const s = new Storage(tmp.dir, opts);
  cleanups.push(() => {
    s.close();
    tmp.remove();
  });
  s.db.exec('CREATE TABLE t (v INTEGER)');
  const insert = s.db.prepare('INSERT INTO t (v) VALUES (?)');
  let queued: number[] = [];
  const flushed: number[][] = [];
  const flushedAt: number[] = [];
  s.register({
    flush: () => {
      flushedAt.push(performance.now());
      for (const v of queued) insert.run(v);
      flushed.push(queued);
      queued = [];
    },
  });
  const rows = () => (s.db.prepare('SELECT v FROM t ORDER BY rowid').all() as { v: number }[]).map((r) => r.v);
  return { s, queue: (v: number) => queued.push(v), flushed, flushedAt, rows };
}

describe('group commit', () => {
  it('takes rows nobody waits for along with the next awaited commit, in one transaction', async () => {
    // the lazy delay is long here, so only the awaited commit can have written the first rows
    const { s, queue, flushed, rows } = storage({ delayMs: 5, lazyDelayMs: 60_000 });
    queue(1);
    s.commitSoon();
    queue(2);
    s.commitSoon();
    // well past the short delay: nobody waits, so nothing has been committed yet
    await new Promise((r) => setTimeout(r, 50));
    expect(s.commits).toBe(0);
    queue(3);
    const err = await new Promise<Error | null>((resolve) => s.commitSoon(resolve));
    expect(err).toBeNull();
    expect(s.commits).toBe(1);
    expect(flushed).toEqual([[1, 2, 3]]);
    expect(rows()).toEqual([1, 2, 3]);
  });

  it('commits rows nobody waits for on its own, without being asked again', async () => {
    const { s, queue, rows } = storage({ delayMs: 5, lazyDelayMs: 30 });
    queue(7);
    s.commitSoon();
    await waitFor(() => s.commits === 1);
    expect(rows()).toEqual([7]);
  });

  it('an awaited commit asked after a lazy one does not wait for the lazy delay', async () => {
    const { s, queue, rows } = storage({ delayMs: 5, lazyDelayMs: 60_000 });
    queue(1);
    s.commitSoon();
    queue(2);
    await new Promise<Error | null>((resolve) => s.commitSoon(resolve));
    expect(rows()).toEqual([1, 2]);
    // nothing is left pending: a later lazy request starts its own timer
    queue(3);
    s.commitSoon();
    expect(s.commits).toBe(1);
    s.commitNow();
    expect(rows()).toEqual([1, 2, 3]);
  });

  it('keeps awaited commits apart under a stream, yet commits a lone reading after the short delay', async () => {
    const { s, queue, flushedAt, rows } = storage({ delayMs: 2, minGapMs: 200, lazyDelayMs: 60_000 });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // a stream: a row somebody waits for every 3 ms, for about half a second
    const acked: Promise<Error | null>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 150; i++) {
      queue(i);
      acked.push(new Promise((resolve) => s.commitSoon(resolve)));
      await sleep(3);
    }
    expect(await Promise.all(acked)).toEqual(acked.map(() => null));
    const span = performance.now() - t0;
    // with only the short delay this would be a commit every few milliseconds; the gap allows
    // one per 200 ms (timers may run a little early against performance.now(), hence 190)
    expect(s.commits).toBeLessThanOrEqual(Math.ceil(span / 200) + 1);
    for (let i = 1; i < flushedAt.length; i++) expect(flushedAt[i]! - flushedAt[i - 1]!).toBeGreaterThanOrEqual(190);
    expect(rows()).toHaveLength(150);
    // after a quiet spell longer than the gap, a lone reading waits only the short delay
    await sleep(250);
    const asked = performance.now();
    queue(999);
    expect(await new Promise<Error | null>((resolve) => s.commitSoon(resolve))).toBeNull();
    expect(performance.now() - asked).toBeLessThan(150);
  });
});
