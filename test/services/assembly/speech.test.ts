// Spoken announcements: a WAV per prompt version when espeak-ng exists; a logged note otherwise.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpeech, speechText } from '../../../services/assembly/speech.ts';
import { VillageEventHub } from '../../../services/events.ts';
import type { AssemblyPrompt } from '../../../core/types.ts';
import { tempDir } from '../../helpers/net.ts';
import { worldConfig } from '../alerts/world.ts';

const hasEspeak = (() => {
  try {
    execFileSync('which', ['espeak-ng'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const prompt: AssemblyPrompt = {
  id: 'prompt-1',
  incident_id: 'incident-1',
  status: 'open',
  exercise: false,
  version: 1,
  opened_at: '2026-11-20T00:00:00.000Z',
  updated_at: '2026-11-20T00:00:00.000Z',
  closed_at: null,
  headline: 'Ashgrove: storm and water loss — an account for the assembly',
  situation: [],
  damaged: ['North tank: losing about 3,000 L an hour'],
  working: [],
  urgent: ['Kitchen fridge: 6.1 °C'],
  can_wait: [],
  reserves: { water_days_current: 2, water_days_minimum: 8, power_hours_left: 30, cold_units_at_risk: [] },
  neighbours: [],
  questions: ['Who can look at the North tank?'],
  notes: [{ at: '', author: 'x', text: 'private note' }],
};

describe('speech', () => {
  it('speaks the headline, the urgent items and the questions, never the notes', () => {
    const t = speechText(prompt);
    expect(t).toMatch(/^Ashgrove: storm/);
    expect(t).toMatch(/6\.1 degrees/);
    expect(t).toMatch(/Who can look at the North tank\?/);
    expect(t).not.toMatch(/private note/);
  });

  it.skipIf(!hasEspeak)('writes a WAV for each new prompt version with espeak-ng', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const events = new VillageEventHub();
    const files: string[] = [];
    const speech = startSpeech({ config: worldConfig({ speech: true }), events, storageDir: tmp.dir, onSpoken: (f) => files.push(f) });
    cleanups.push(() => speech.stop());
    events.emit('assembly', prompt);
    events.emit('assembly', prompt); // a note-only change: same version, not spoken again
    events.emit('assembly', { ...prompt, version: 2 });
    await speech.idle();
    await speech.idle();
    expect(files.map((f) => f.slice(tmp.dir.length))).toEqual(['/speech/prompt-1-v1.wav', '/speech/prompt-1-v2.wav']);
    const wav = readFileSync(files[0]!);
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.subarray(8, 12).toString()).toBe('WAVE');
    expect(wav.length).toBeGreaterThan(10_000);
  });

  it('without espeak-ng it logs once and skips', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const events = new VillageEventHub();
    const logs: string[] = [];
    const speech = startSpeech({
      config: worldConfig({ speech: true }),
      events,
      storageDir: tmp.dir,
      binary: '/nonexistent/espeak-ng',
      log: (m) => logs.push(m),
    });
    cleanups.push(() => speech.stop());
    events.emit('assembly', prompt);
    events.emit('assembly', { ...prompt, version: 2 });
    await speech.idle();
    await speech.idle();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/not installed; spoken announcements are skipped/);
  });

  it('is off unless alerts.speech is on', async () => {
    const events = new VillageEventHub();
    const speech = startSpeech({ config: worldConfig(), events, storageDir: '/nonexistent' });
    events.emit('assembly', prompt);
    await speech.idle();
    expect(events.listenerCount('assembly')).toBe(0);
  });
});
