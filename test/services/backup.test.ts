// Backups of the state: `tend backup FILE` from another process while tend runs and keeps
// writing; `tend restore FILE` on a new card; a fresh village started there finds its alerts,
// prompts, notes and the history outbox that had not reached InfluxDB yet. The page's links say
// when the last backup was taken; `storage.backup` takes them on a schedule.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AssemblyPrompt } from '../../core/types.ts';
import { freePort, tempDir, waitFor } from '../helpers/net.ts';
import { connectDevice, demoConfig, getJson, startTestVillage } from '../helpers/village.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

async function tend(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'services/cli.ts', ...args], { cwd: ROOT });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dir(): string {
  const t = tempDir('tend-backup-');
  cleanups.push(t.remove);
  return t.dir;
}

describe('backup and restore', () => {
  it('copies the state while tend runs; a village restored from it finds alerts, prompts, notes, decisions and the unsent history', async () => {
    const config = demoConfig();
    // InfluxDB is away for this whole test: every accepted reading waits in the outbox
    config.influx = { url: `http://127.0.0.1:${await freePort()}`, database: 'tend', batch_points: 5000, batch_ms: 1000 };
    const first = await startTestVillage({ config });
    const stateDir = join(first.storage.path, '..');
    const auth = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' };
    expect((await fetch(`${first.webUrl}/api/drill`, { method: 'POST', headers: auth })).status).toBe(202);
    const [prompt] = await getJson<AssemblyPrompt[]>(`${first.webUrl}/api/assembly`);
    await fetch(`${first.webUrl}/api/assembly/${prompt!.id}/notes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ author: 'Mira', text: 'Pump house door is jammed.' }),
    });
    const decided = await fetch(`${first.webUrl}/api/assembly/${prompt!.id}/decisions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ by: 'Morning assembly', text: 'Share water at 20 L a person a day', plan: { water_lpd: 20 } }),
    });
    expect(decided.status).toBe(201);
    const device = await connectDevice(first, 'tank-north');
    for (let i = 0; i < 50; i++) await device.publishAsync(`tend/ashgrove/dev/tank-north/reading`, JSON.stringify({ distance_mm: 700 + i }), { qos: 1 });
    expect(first.links().find((l) => l.name === 'backup')).toMatchObject({ state: 'disconnected' });

    // readings keep arriving while the backup is taken from another process
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++)
        await device.publishAsync(`tend/ashgrove/dev/tank-north/reading`, JSON.stringify({ distance_mm: 800 + (i % 100) }), { qos: 1 });
    })();
    const file = join(dir(), 'stick', 'tend-backup.db');
    const backup = await tend('backup', file, '--storage', stateDir);
    writing = false;
    await writer;
    expect(backup, backup.err).toMatchObject({ code: 0 });
    expect(backup.out).toMatch(/\[#{10}\] \d+\/\d+ pages/);
    expect(backup.out).toContain(`written to ${file}`);
    // the page's link says when
    expect(first.links().find((l) => l.name === 'backup')).toMatchObject({ state: 'connected', last_error: null });
    // a prompt's options follow the live figures (they are computed when read), so they are left
    // out: what the backup must carry is what was stored
    const stored = (p: AssemblyPrompt) => {
      const { options: _live, ...rest } = p;
      return rest;
    };
    const expected = {
      alerts: first.alerts.alerts().map((a) => a.id),
      prompt: stored(first.assembly.prompt(prompt!.id)!),
    };
    await device.endAsync(true);
    await first.cleanup();

    const inBackup = new Database(file, { readonly: true });
    const outboxInBackup = inBackup.prepare('SELECT id, lines FROM outbox ORDER BY id').all() as { id: number; lines: string }[];
    inBackup.close();
    expect(outboxInBackup.length).toBeGreaterThan(0);

    // a new card: restore, then start a village on it
    const card = dir();
    const restored = await tend('restore', file, '--storage', card);
    expect(restored, restored.err).toMatchObject({ code: 0 });
    const second = await startTestVillage({ config, storageDir: card });
    cleanups.push(() => second.cleanup());
    expect(second.alerts.alerts().map((a) => a.id)).toEqual(expected.alerts);
    expect(stored(second.assembly.prompt(prompt!.id)!)).toEqual(expected.prompt);
    expect(second.assembly.prompt(prompt!.id)!.decisions!.map((d) => [d.by, d.text, d.plan])).toEqual([
      ['Morning assembly', 'Share water at 20 L a person a day', { water_lpd: 20 }],
    ]);
    expect(second.assembly.prompt(prompt!.id)!.notes.map((n) => n.text)).toEqual(['Pump house door is jammed.']);
    // every chunk of history that had not reached InfluxDB is waiting again, unchanged
    const waiting = second.storage.db.prepare('SELECT id, lines FROM outbox WHERE id <= ? ORDER BY id').all(outboxInBackup.at(-1)!.id);
    expect(waiting).toEqual(outboxInBackup);
  }, 120_000);

  it('refuses to restore over a state unless asked, and then keeps the old one aside', async () => {
    const v = await startTestVillage();
    const stateDir = join(v.storage.path, '..');
    const file = join(dir(), 'b.db');
    expect((await tend('backup', file, '--storage', stateDir)).code).toBe(0);
    await v.cleanup();

    const card = dir();
    expect((await tend('restore', file, '--storage', card)).code).toBe(0);
    const again = await tend('restore', file, '--storage', card);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a tend state; stop tend and add --replace/);
    const replaced = await tend('restore', file, '--storage', card, '--replace');
    expect(replaced.code).toBe(0);
    expect(readdirSync(card).some((f) => f.startsWith('tend.db.replaced-'))).toBe(true);

    // not a tend state, or no file at all: a clear refusal
    const notState = join(dir(), 'x.db');
    new Database(notState).exec('CREATE TABLE t (x)');
    expect(await tend('restore', notState, '--storage', dir())).toMatchObject({ code: 2, err: expect.stringMatching(/is not a tend state/) });
    expect(await tend('backup', join(dir(), 'y.db'), '--storage', dir())).toMatchObject({ code: 2, err: expect.stringMatching(/no tend state at/) });
  }, 60_000);

  it('takes backups on a schedule into storage.backup.dir and keeps the newest', async () => {
    const stick = dir();
    const config = demoConfig();
    config.storage.backup = { dir: stick, every_h: 24, keep: 2 };
    const v = await startTestVillage({ config });
    cleanups.push(() => v.cleanup());
    // due at start (none taken yet)
    await waitFor(() => readdirSync(stick).filter((f) => f.endsWith('.db')).length === 1, 10_000, 'first scheduled backup');
    await waitFor(() => v.links().find((l) => l.name === 'backup')?.state === 'connected', 5000, 'backup link');
    const file = join(stick, readdirSync(stick).find((f) => f.endsWith('.db'))!);
    expect(existsSync(`${file}.partial`)).toBe(false);
    expect(
      (new Database(file, { readonly: true }).prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'alert_alerts'").get() as { n: number }).n,
    ).toBe(1);
  }, 60_000);
});
