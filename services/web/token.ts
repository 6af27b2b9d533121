// The write token for the page's and API's write endpoints: read from web.token_file, or created
// there (mode 600) with a random token the first time, so a fresh village is never open for writing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';

/** The write token: from web.token_file, created with a random token (mode 600) if missing. */
export function loadToken(config: Config, storageDir: string): { token: string; file: string } {
  const file = resolve(config.web.token_file ?? join(storageDir, 'web-token'));
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file };
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}
