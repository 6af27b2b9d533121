// Spoken announcements for a village loudspeaker: each new version of an assembly prompt is
// rendered by espeak-ng into a WAV file (under storage.dir/speech, or alerts.speech.dir), when
// `alerts.speech` is on and espeak-ng is installed; otherwise a note is logged once and nothing
// else happens. One espeak-ng process at a time; text goes as an argument, never through a shell.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/schema.ts';
import type { VillageEventHub } from '../events.ts';
import type { AssemblyPrompt } from '../../core/types.ts';
import { moduleLog, type LogSink } from '../../core/log.ts';
import { shortTime } from '../../core/format.ts';
import { sayIn } from '../../core/i18n.ts';

export interface SpeechOptions {
  config: Config;
  events: VillageEventHub;
  /** the village storage dir (speech files go into <dir>/speech unless alerts.speech.dir says) */
  storageDir: string;
  log?: LogSink;
  /** the espeak-ng binary (tests may point elsewhere) */
  binary?: string;
  /** told after each WAV is written */
  onSpoken?: (file: string, prompt: AssemblyPrompt) => void;
}

export interface Speech {
  /** resolves when every announcement queued so far is written */
  idle(): Promise<void>;
  stop(): void;
}

/** "26 Nov 03:27 GMT-5" → "26 Nov 03:27": the loudspeaker is in the village, its times are the village's own */
const ZONE_AFTER_TIME = /\b(\d{1,2}:\d{2}) (?:UTC|GMT[+-]\d{1,2}(?::\d{2})?|[A-Z]{2,5})\b/g;

/**
 * The words spoken: the headline, when an exercise ends, what is urgent, and the questions; never
 * the notes. Times are spoken in the village's zone (`timeZone`, as the prompt's texts already are).
 */
export function speechText(p: AssemblyPrompt, timeZone?: string, language = 'en'): string {
  const say = sayIn(language);
  const parts = [
    p.exercise && !p.headline.startsWith('Exercise') ? say('speech.exercise', 'Exercise. {headline}.', { headline: p.headline }) : `${p.headline}.`,
  ];
  if (p.status === 'open') {
    if (p.exercise && p.exercise_ends_at)
      parts.push(say('speech.exercise_ends', 'The exercise ends at {time}.', { time: shortTime(p.exercise_ends_at, timeZone) }));
    if (p.urgent.length) parts.push(say('speech.urgent', 'Urgent: {items}.', { items: p.urgent.join('. ') }));
    if (p.damaged.length) parts.push(say('speech.damaged', 'Damaged: {items}.', { items: p.damaged.join('. ') }));
    parts.push(say('speech.questions', 'Questions for the assembly: {questions}', { questions: p.questions.join(' ') }));
  }
  return parts.join(' ').replace(ZONE_AFTER_TIME, '$1').replace(/°C/g, say('speech.degrees', ' degrees')).replace(/\s+/g, ' ');
}

/** The espeak-ng voice for a village language: its own when espeak-ng has one (en, es, fr, …). */
export function voiceFor(language: string): string {
  return language.toLowerCase().split('-')[0] || 'en';
}

export function startSpeech(opts: SpeechOptions): Speech {
  const cfg = opts.config.alerts.speech;
  const noop: Speech = { idle: async () => {}, stop() {} };
  if (!cfg) return noop;
  const dir = resolve(typeof cfg === 'object' && cfg.dir ? cfg.dir : join(opts.storageDir, 'speech'));
  const log = moduleLog(opts.log, 'speech');
  const voice = typeof cfg === 'object' && cfg.voice ? cfg.voice : voiceFor(opts.config.village.language);
  const binary = opts.binary ?? 'espeak-ng';
  let missing = false;
  let chain: Promise<void> = Promise.resolve();
  const spoken = new Set<string>();
  let stopped = false;

  const speak = (p: AssemblyPrompt) => {
    const key = `${p.id}:${p.version}`;
    // a note added by someone changes no version: nothing new to announce
    if (missing || stopped || spoken.has(key)) return;
    spoken.add(key);
    const file = join(dir, `${p.id}-v${p.version}.wav`);
    chain = chain.then(
      () =>
        new Promise<void>((done) => {
          if (stopped || missing) return done();
          mkdirSync(dir, { recursive: true });
          execFile(
            binary,
            ['-v', voice, '-s', '150', '-w', file, '--', speechText(p, opts.config.village.timezone, opts.config.village.language)],
            { timeout: 60_000 },
            (err) => {
              if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
                missing = true;
                log.warn(`${binary} is not installed; spoken announcements are skipped (Debian: apt-get install espeak-ng)`);
              } else if (err) {
                log.error(`${binary} failed for ${key}: ${err.message.split('\n')[0]}`);
              } else {
                log.info(`wrote ${file}`);
                opts.onSpoken?.(file, p);
              }
              done();
            },
          );
        }),
    );
  };
  opts.events.on('assembly', speak, 'speech');
  return {
    idle: () => chain,
    stop() {
      stopped = true;
      opts.events.off('assembly', speak);
    },
  };
}
