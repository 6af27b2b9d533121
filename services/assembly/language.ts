// The language rule for everything villagers read (docs/architecture.md): inform and ask, never command.
// A village self-governed by consent decides together; tend only reports and asks.
import type { Alert, AssemblyPrompt } from '../../core/types.ts';

export const COMMAND_WORDS = ['must', 'shall', 'required', 'mandatory', 'immediately', 'report to', 'you need to', 'go to'];

const COMMAND_RES = COMMAND_WORDS.map((w) => [w, new RegExp(`\\b${w.replace(' ', '\\s+')}\\b`, 'i')] as const);

/** words that make a sentence a suggestion; such a sentence has to be a question */
const SUGGESTION = /\b(should|ought|please|let'?s|consider|recommend(ed)?|advise[ds]?|suggest(ed)?|need to|have to|better to|make sure|do not|don'?t)\b/i;
/** imperative openings: a sentence starting so is an order unless it is a question */
const IMPERATIVE =
  /^(boil|save|conserve|use|stop|move|evacuate|bring|secure|check|turn|switch|close|open|keep|avoid|stay|leave|collect|ration|fix|repair|call|send|take|get|put|wait)\b/i;

export interface LanguageProblem {
  where: string;
  text: string;
  problem: string;
}

/** Problems in one text; `suggestionsAsQuestions` also flags suggestions that are not questions. */
export function checkText(where: string, text: string): LanguageProblem[] {
  const out: LanguageProblem[] = [];
  for (const [w, re] of COMMAND_RES) if (re.test(text)) out.push({ where, text, problem: `command word "${w}"` });
  for (const sentence of sentences(text)) {
    const isQuestion = sentence.trimEnd().endsWith('?');
    if (isQuestion) continue;
    if (SUGGESTION.test(sentence)) out.push({ where, text, problem: `a suggestion that is not a question: "${sentence}"` });
    else if (IMPERATIVE.test(sentence.trim())) out.push({ where, text, problem: `an order, not information or a question: "${sentence}"` });
  }
  return out;
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?;])\s+|\n+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function checkAlert(a: Alert): LanguageProblem[] {
  return [...checkText(`alert ${a.id} title`, a.title), ...checkText(`alert ${a.id} detail`, a.detail)];
}

export function checkPrompt(p: AssemblyPrompt): LanguageProblem[] {
  const out: LanguageProblem[] = [...checkText(`prompt ${p.id} headline`, p.headline)];
  p.situation.forEach((s, i) => {
    out.push(...checkText(`prompt ${p.id} situation[${i}]`, s.text));
  });
  for (const list of ['damaged', 'working', 'urgent', 'can_wait'] as const) {
    p[list].forEach((t, i) => {
      out.push(...checkText(`prompt ${p.id} ${list}[${i}]`, t));
    });
  }
  p.questions.forEach((q, i) => {
    out.push(...checkText(`prompt ${p.id} questions[${i}]`, q).filter((x) => x.problem.startsWith('command')));
    // each question item holds at most a fact and a question; the last sentence asks
    const parts = sentences(q);
    if (!parts.some((s) => s.endsWith('?'))) out.push({ where: `prompt ${p.id} questions[${i}]`, text: q, problem: 'a question that does not ask' });
    for (const s of parts) {
      if (!s.endsWith('?') && (SUGGESTION.test(s) || IMPERATIVE.test(s)))
        out.push({ where: `prompt ${p.id} questions[${i}]`, text: q, problem: `a suggestion that is not a question: "${s}"` });
    }
  });
  return out;
}
