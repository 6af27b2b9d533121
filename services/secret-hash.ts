// `tend secret hash`: turn a device's (or reader's) secret into the `secret_hash` the config
// takes, so the plain secret need not sit in the config file. The format is the one the broker
// verifies (services/broker/auth.ts: scrypt$<salt-hex>$<hash-hex>). The secret is read from
// stdin by default, so it stays out of the shell history.
import { hashSecret } from './broker/auth.ts';

type Out = { write(s: string): unknown };

/** the schema's rule for a plain `secret`: a hash of a shorter one would be as easy to guess */
const MIN_SECRET = 8;
/** a secret is a line; more than this is not a secret typed or pasted */
const MAX_SECRET = 1024;

/**
 * Hash `secret` when given (the command line), else the first line of `stdin`. Prints the
 * `secret_hash` on `out`; exit 2 for a missing or too short secret.
 */
export async function runSecretHash(secret: string | undefined, stdin: NodeJS.ReadableStream, out: Out, err: Out): Promise<number> {
  let given = secret;
  if (given === undefined) {
    if ((stdin as { isTTY?: boolean }).isTTY) err.write('secret (then Enter): ');
    given = await firstLine(stdin);
  } else {
    err.write('tend secret hash: the secret is now in your shell history; `tend secret hash --stdin` reads it from stdin instead\n');
  }
  if (given.length < MIN_SECRET) {
    err.write(`tend secret hash: a secret has at least ${MIN_SECRET} characters (got ${given.length})\n`);
    return 2;
  }
  if (given.length > MAX_SECRET) {
    err.write(`tend secret hash: a secret has at most ${MAX_SECRET} characters\n`);
    return 2;
  }
  out.write(`${await hashSecret(given)}\n`);
  return 0;
}

/** The first line of a stream (without its line end), or all of it when it has no newline. */
async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    if (text.length > MAX_SECRET + 2) break;
  }
  return text.replace(/\r?\n?$/, '');
}
