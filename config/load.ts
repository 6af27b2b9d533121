// Reads a YAML config, validates it against the schema, and reports every problem as
// `path: message` (what `tend config check` prints). A file too large, or YAML whose aliases
// would expand without bound, is a problem like any other: a clear line, never a crash.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { MAX_CONFIG_ALIASES, MAX_CONFIG_BYTES } from '../core/limits.ts';
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

const MAX_YAML_ERRORS = 20;

/** Parse YAML text; syntax errors come back as `line N: message`. */
export function parseConfigText(text: string): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    // a broken file (or one nested thousands deep) gives one error per place: the first few say enough
    const lines = doc.errors.slice(0, MAX_YAML_ERRORS).map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
    const more = doc.errors.length - lines.length;
    throw new ConfigError(more > 0 ? [...lines, `(and ${more} more YAML errors)`] : lines);
  }
  let data: unknown;
  try {
    // the yaml package refuses aliases that expand too far ("billion laughs") with a ReferenceError
    data = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES });
  } catch (err) {
    const bomb = err instanceof ReferenceError && /alias/i.test(err.message);
    throw new ConfigError([
      bomb
        ? `(top): YAML aliases (*name) expand too far (more than ${MAX_CONFIG_ALIASES} uses); write the values out instead`
        : `(top): the YAML cannot be read as data (${(err as Error).message.split('\n')[0]})`,
    ]);
  }
  return parseConfig(data ?? {});
}

export function loadConfig(file: string): Config {
  return parseConfigText(readConfigFile(file));
}

/**
 * The file's text, refused unread past MAX_CONFIG_BYTES: a village config is a few KB, so a
 * larger file is the wrong one (or an attack) and must not be parsed into memory. At most
 * MAX_CONFIG_BYTES + 1 bytes are read, so a pipe or /dev/zero is refused too.
 */
function readConfigFile(file: string): string {
  const tooLarge = (size?: number) =>
    new ConfigError([
      `${file}: too large (${size === undefined ? 'more than ' : ''}${size ?? MAX_CONFIG_BYTES} bytes); a config is at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (a village's is a few KB)`,
    ]);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) throw tooLarge(st.size);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > MAX_CONFIG_BYTES) throw tooLarge();
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  } finally {
    closeSync(fd);
  }
}
