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

/**
 * The same rule in the village's other languages (language/<tag>.json): the words that give an
 * order, that make a suggestion (then it has to be a question), and the imperative openings.
 * A new language adds its lists here; without them only the English lists apply to it.
 */
interface Rule {
  commands: string[];
  suggestion: RegExp;
  imperative: RegExp;
}
// letters on either side make another word: \b knows only ASCII letters, and "é" ends a French word;
// an apostrophe may be typed straight or curly
const word = (w: string) => `(?<!\\p{L})${w.replace(/ /g, '\\s+').replace(/'/g, "['’]")}(?!\\p{L})`;
const RULES: Record<string, Rule> = {
  en: { commands: COMMAND_WORDS, suggestion: SUGGESTION, imperative: IMPERATIVE },
  es: {
    commands: [
      'debe',
      'deben',
      'debes',
      'debemos',
      'obligatorio',
      'obligatoria',
      'obligatorios',
      'inmediatamente',
      'tiene que',
      'tienen que',
      'hay que',
      'es necesario',
      'está prohibido',
      'vaya a',
      'vayan a',
      'diríjase',
      'preséntese',
    ],
    suggestion: new RegExp(
      `${word('(deberíamos|debería|deberían|conviene|sugerimos|recomendamos|recomienda|aconsejamos|por favor|asegúrese|asegúrense|no olvide|más vale)')}`,
      'iu',
    ),
    imperative: new RegExp(
      `^${word('(hierva|hiervan|ahorre|ahorren|use|usen|detenga|cierre|cierren|abra|vaya|vayan|traiga|traigan|llame|envíe|espere|revise|apague|encienda|guarde|evite|eviten|quédese|quédense|salga|salgan|racione|reparen|repare|evacúe|evacúen)')}`,
      'iu',
    ),
  },
  fr: {
    commands: [
      'doit',
      'doivent',
      'devez',
      'il faut',
      'obligatoire',
      'obligatoires',
      'immédiatement',
      'impératif',
      'impérativement',
      'est interdit',
      'rendez-vous à',
      'allez à',
      'présentez-vous',
    ],
    suggestion: new RegExp(
      `${word("(devrait|devrions|devriez|devraient|il vaudrait mieux|nous suggérons|nous recommandons|nous conseillons|s'il vous plaît|veuillez|pensez à|n'oubliez pas)")}`,
      'iu',
    ),
    imperative: new RegExp(
      `^${word('(faites|bouillez|économisez|utilisez|arrêtez|fermez|ouvrez|allez|apportez|appelez|envoyez|attendez|vérifiez|éteignez|allumez|gardez|évitez|restez|sortez|rationnez|réparez|évacuez|prenez)')}`,
      'iu',
    ),
  },
};
function ruleFor(lang: string): { rule: Rule; commandRes: (readonly [string, RegExp])[] } {
  const base = lang.toLowerCase().split('-')[0] ?? 'en';
  const rule = RULES[base] ?? RULES.en!;
  const commandRes = base === 'en' || !RULES[base] ? COMMAND_RES : rule.commands.map((w) => [w, new RegExp(word(w), 'iu')] as const);
  return { rule, commandRes };
}

export interface LanguageProblem {
  where: string;
  text: string;
  problem: string;
}

/** Problems in one text, in the village's language (`lang`, a BCP 47 tag; English by default). */
export function checkText(where: string, text: string, lang = 'en'): LanguageProblem[] {
  const out: LanguageProblem[] = [];
  const { rule, commandRes } = ruleFor(lang);
  for (const [w, re] of commandRes) if (re.test(text)) out.push({ where, text, problem: `command word "${w}"` });
  for (const sentence of sentences(text)) {
    const isQuestion = sentence.trimEnd().endsWith('?');
    if (isQuestion) continue;
    if (rule.suggestion.test(sentence)) out.push({ where, text, problem: `a suggestion that is not a question: "${sentence}"` });
    else if (rule.imperative.test(sentence.trim().replace(/^[¿¡«"“]\s*/, '')))
      out.push({ where, text, problem: `an order, not information or a question: "${sentence}"` });
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
