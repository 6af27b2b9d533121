// Who may log in to the embedded broker and what each may publish or subscribe to.
// Devices log in with their id as username and their secret as password, and may publish only
// under their own `tend/<village>/dev/<device>/` (plus their foreign-firmware source topics).
// They may read their own prefix and the village outputs; nobody subscribes to `#` or `$SYS`.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Config } from '../../config/schema.ts';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, len: number) => Promise<Buffer>;

export const MAX_CLIENT_ID_LENGTH = 128;

/** `scrypt$<salt-hex>$<hash-hex>`, the form `secret_hash` takes in the config. */
export async function hashSecret(secret: string, salt = randomBytes(16)): Promise<string> {
  const hash = await scrypt(secret, salt, 32);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

export class DeviceAuth {
  private readonly plain = new Map<string, Buffer>();
  private readonly hashed = new Map<string, { salt: Buffer; hash: Buffer }>();
  /** verified scrypt logins, so a reconnect storm of 500 devices does not cost 500 scrypts each time */
  private readonly verified = new Map<string, Buffer>();
  private readonly extraTopics = new Map<string, string[]>();
  readonly anonymousAllowed: boolean;

  constructor(
    private readonly config: Config,
    sourceTopicsOf: (device: string) => string[],
  ) {
    for (const d of config.devices) {
      if (d.transport !== 'mqtt') continue;
      if (d.secret) this.plain.set(d.id, digest(d.secret));
      else if (d.secret_hash) {
        const [, salt, hash] = d.secret_hash.split('$');
        this.hashed.set(d.id, { salt: Buffer.from(salt ?? '', 'hex'), hash: Buffer.from(hash ?? '', 'hex') });
      }
      this.extraTopics.set(d.id, sourceTopicsOf(d.id));
    }
    this.anonymousAllowed = 'embedded' in config.broker && config.broker.embedded.allow_anonymous;
  }

  /** true when username/password name a configured device with that secret */
  async check(username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    if (!username || !password) return false;
    const given = digest(password);
    const plain = this.plain.get(username);
    if (plain) return timingSafeEqual(plain, given);
    const h = this.hashed.get(username);
    if (!h) return false;
    const ok = this.verified.get(username);
    if (ok && timingSafeEqual(ok, given)) return true;
    const hash = await scrypt(password, h.salt, h.hash.length || 32);
    if (hash.length === h.hash.length && timingSafeEqual(hash, h.hash)) {
      this.verified.set(username, given);
      return true;
    }
    return false;
  }

  /** May `device` (null: anonymous) publish to `topic`? */
  mayPublish(device: string | null, topic: string, retain: boolean): boolean {
    if (topic.startsWith('$') || topic.includes('\0')) return false;
    const v = this.config.village.id;
    if (device === null) return this.anonymousAllowed && topic.startsWith(`tend/${v}/dev/`);
    const own = `tend/${v}/dev/${device}/`;
    if (topic === `${own}reading`) return !retain;
    if (topic === `${own}status`) return true; // retained status and will (the device protocol)
    return (this.extraTopics.get(device) ?? []).includes(topic);
  }

  /** May `device` subscribe to `filter`? Own prefix and the village's output topics only. */
  maySubscribe(device: string | null, filter: string): boolean {
    if (filter.startsWith('$') || filter.includes('\0') || filter === '#' || filter.startsWith('+')) return false;
    const v = this.config.village.id;
    const outputs = [`tend/${v}/reserve`, `tend/${v}/alerts`, `tend/${v}/assembly`];
    if (outputs.includes(filter)) return true;
    if (device === null) return false;
    // a filter that starts with the device's own prefix can only match topics under it,
    // whatever wildcards follow
    return filter.startsWith(`tend/${v}/dev/${device}/`);
  }
}

function digest(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}
