// The write token for the page's and API's write endpoints: read from web.token_file, or created
// there (mode 600) with a random token the first time, so a fresh village is never open for writing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import { moduleLog, type LogSink } from '../../core/log.ts';

/**
 * The write token: from web.token_file, created with a random token (mode 600) if missing. Where
 * the file cannot be written (a read-only card), the token lives in memory for this run and the
 * log says where to find it, so monitoring still starts.
 */
export function loadToken(config: Config, storageDir: string, log?: LogSink): { token: string; file: string } {
  const file = resolve(config.web.token_file ?? join(storageDir, 'web-token'));
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file };
  }
  const token = randomBytes(24).toString('base64url');
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
  } catch (err) {
    moduleLog(log, 'web').error(
      `cannot write the write token to ${file} (${(err as Error).message}); this run uses a token kept in memory: ${token} — set web.token_file to a writable path to keep one`,
    );
  }
  return { token, file };
}
