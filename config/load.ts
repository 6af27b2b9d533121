// Reads a YAML config, validates it against the schema, and reports every problem as
// `path: message` (what `tend config check` prints).
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configSchema, crossCheck, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`config has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validate an already-parsed object; throws ConfigError with `path: message` lines. */
export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = new Set<string>();
  for (const line of result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  }))
    problems.add(line);
  // the schema stops before cross-section checks when a section is malformed; run them anyway
  crossCheck(input, (path, message) => problems.add(`${formatPath(path)}: ${message}`));
  throw new ConfigError([...problems]);
}

function formatPath(path: PropertyKey[]): string {
  if (!path.length) return '(top)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** Parse YAML text; syntax errors come back as `line N: message`. */
export function parseConfigText(text: string): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`));
  }
  return parseConfig(doc.toJS() ?? {});
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  return parseConfigText(text);
}
