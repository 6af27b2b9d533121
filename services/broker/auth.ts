// Who may log in to the embedded broker and what each may publish or subscribe to.
// Devices log in with their id as username and their secret as password, and may publish only
// under their own `tend/<village>/dev/<device>/` (plus their foreign-firmware source topics).
// They may read their own prefix and the village outputs; nobody subscribes to `#` or `$SYS`.
// Readers (`readers:` in the config: signboards, Home Assistant, Node-RED) log in the same way,
// may read the village outputs and `homeassistant/#`, never a device's topics, and publish nothing.
// Failed logins back off per username and per address, and every failure costs the same, so
// neither guessing speed nor answer time tells which usernames exist.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Config } from '../../config/schema.ts';
import { LOGIN_BACKOFF } from '../../core/limits.ts';
import { type Clock, systemClock } from '../../core/types.ts';
import { topics } from '../../firmware-bridge/protocol/topics.ts';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, len: number) => Promise<Buffer>;

export const MAX_CLIENT_ID_LENGTH = 128;

/** `scrypt$<salt-hex>$<hash-hex>`, the form `secret_hash` takes in the config. */
export async function hashSecret(secret: string, salt = randomBytes(16)): Promise<string> {
  const hash = await scrypt(secret, salt, 32);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

export type LoginResult = { ok: true } | { ok: false; reason: 'bad_login' | 'login_backoff'; waitMs: number };

/**
 * Failed logins per key (a username or an address): after `free` failures each further try must
 * wait, doubling per failure up to the cap. A good login forgives the key. Keys come from the
 * wire, so the table is bounded: past `maxKeys` the least recently failed is forgotten.
 */
export class FailureTable {
  private readonly map = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly free: number,
    private readonly limits: { firstDelayMs: number; maxDelayMs: number; maxKeys: number } = LOGIN_BACKOFF,
  ) {}

  /** ms before `key` may try again (0: now) */
  waitMs(key: string, now: number): number {
    const e = this.map.get(key);
    return e ? Math.max(0, e.until - now) : 0;
  }

  failed(key: string, now: number): void {
    const e = this.map.get(key) ?? { failures: 0, until: 0 };
    this.map.delete(key); // re-inserted last: the map's order is least recently failed first
    e.failures++;
    if (e.failures >= this.free) {
      const { firstDelayMs, maxDelayMs } = this.limits;
      e.until = now + Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(e.failures - this.free, 30));
    }
    this.map.set(key, e);
    if (this.map.size > this.limits.maxKeys) this.map.delete(this.map.keys().next().value as string);
  }

  forgive(key: string): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

export class DeviceAuth {
  private readonly plain = new Map<string, Buffer>();
  private readonly hashed = new Map<string, { salt: Buffer; hash: Buffer }>();
  /** verified scrypt logins, so a reconnect storm of 500 devices does not cost 500 scrypts each time */
  private readonly verified = new Map<string, Buffer>();
  private readonly extraTopics = new Map<string, string[]>();
  /** each MQTT device's own reading topic, made once: mayPublish runs for every message (only
   * these devices and readers can log in) */
  private readonly readingTopics = new Map<string, string>();
  /** MQTT device and reader ids: each owns the client ids `<id>` and `<id>-…` */
  private readonly accounts = new Set<string>();
  /** reader ids: accounts that read and never write */
  private readonly readers = new Set<string>();
  /** compared against when no real hash is (an unknown username, a wrong plain secret) */
  private readonly dummySalt = randomBytes(16);
  private readonly byUser = new FailureTable(LOGIN_BACKOFF.freeFailures);
  private readonly byAddress = new FailureTable(LOGIN_BACKOFF.freeFailuresPerAddress);
  readonly anonymousAllowed: boolean;
  /** scrypt computations so far (real and dummy): every failed check costs the same number */
  scryptCalls = 0;

  constructor(
    private readonly config: Config,
    sourceTopicsOf: (device: string) => string[],
    private readonly clock: Clock = systemClock,
  ) {
    for (const d of config.devices) {
      if (d.transport !== 'mqtt') continue;
      this.accounts.add(d.id);
      this.setSecret(d.id, d.secret, d.secret_hash);
      this.extraTopics.set(d.id, sourceTopicsOf(d.id));
      this.readingTopics.set(d.id, topics.reading(config.village.id, d.id));
    }
    // readers: the config makes their ids distinct from the devices'
    for (const r of config.readers ?? []) {
      this.accounts.add(r.id);
      this.readers.add(r.id);
      this.setSecret(r.id, r.secret, r.secret_hash);
    }
    this.anonymousAllowed = 'embedded' in config.broker && config.broker.embedded.allow_anonymous;
  }

  private setSecret(account: string, secret: string | undefined, secretHash: string | undefined): void {
    if (secret) this.plain.set(account, digest(secret));
    else if (secretHash) {
      const [, salt, hash] = secretHash.split('$');
      this.hashed.set(account, { salt: Buffer.from(salt ?? '', 'hex'), hash: Buffer.from(hash ?? '', 'hex') });
    }
  }

  /** true for a reader account (`readers:` in the config) */
  isReader(account: string | null): boolean {
    return account !== null && this.readers.has(account);
  }

  /**
   * A login attempt from `address`. Refused without looking at the password while the username
   * or the address is backing off; otherwise checked, and a failure makes both wait longer.
   */
  async login(username: string | undefined, password: Buffer | undefined, address: string): Promise<LoginResult> {
    const now = this.clock.now();
    const user = username ?? '';
    const waitMs = Math.max(this.byUser.waitMs(user, now), this.byAddress.waitMs(address, now));
    if (waitMs > 0) return { ok: false, reason: 'login_backoff', waitMs };
    if (await this.check(username, password)) {
      this.byUser.forgive(user);
      this.byAddress.forgive(address);
      return { ok: true };
    }
    const at = this.clock.now();
    this.byUser.failed(user, at);
    this.byAddress.failed(address, at);
    return { ok: false, reason: 'bad_login', waitMs: 0 };
  }

  /** true when username/password name a configured device or reader with that secret */
  async check(username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    // nothing to look up: the same instant answer for every username
    if (!username || !password) return false;
    const given = digest(password);
    const plain = this.plain.get(username);
    if (plain && timingSafeEqual(plain, given)) return true;
    const h = this.hashed.get(username);
    if (h) {
      const ok = this.verified.get(username);
      if (ok && timingSafeEqual(ok, given)) return true;
      const hash = await this.scrypt(password, h.salt, h.hash.length || 32);
      if (hash.length === h.hash.length && timingSafeEqual(hash, h.hash)) {
        this.verified.set(username, given);
        return true;
      }
      return false;
    }
    // Every failure costs the same: once any device's secret is an scrypt hash (whose check takes
    // tens of ms), an unknown username or a wrong plain secret costs one scrypt too, so the time
    // of a refusal does not tell which usernames exist. With plain secrets only, every check is
    // one fast hash compare.
    if (this.hashed.size > 0) await this.scrypt(password, this.dummySalt, 32);
    return false;
  }

  private scrypt(password: Buffer, salt: Buffer, len: number): Promise<Buffer> {
    this.scryptCalls++;
    return scrypt(password, salt, len);
  }

  /**
   * The device whose client ids `clientId` is: a device owns `<id>` and `<id>-…`; of devices
   * `tank` and `tank-north`, `tank-north-1` is tank-north's (the longest id wins). undefined: no
   * device's.
   */
  ownerOfClientId(clientId: string): string | undefined {
    let candidate = clientId;
    for (;;) {
      if (this.accounts.has(candidate)) return candidate;
      const dash = candidate.lastIndexOf('-');
      if (dash <= 0) return undefined;
      candidate = candidate.slice(0, dash);
    }
  }

  /** May `device` (null: anonymous; or a reader) publish to `topic`? */
  mayPublish(device: string | null, topic: string, retain: boolean): boolean {
    if (topic.startsWith('$') || topic.includes('\0')) return false;
    // a reader writes nothing: a signboard's or Home Assistant's publish is dropped, not obeyed
    if (this.isReader(device)) return false;
    const v = this.config.village.id;
    if (device === null) return this.anonymousAllowed && topic.startsWith(`tend/${v}/dev/`);
    // its own readings (never retained: a retained reading would be replayed as current)
    if (topic === this.readingTopics.get(device)) return !retain;
    if (topic === topics.status(v, device)) return true; // retained status and will (the device protocol)
    return (this.extraTopics.get(device) ?? []).includes(topic);
  }

  /** May `device` subscribe to `filter`? Own prefix and the village's output topics only. */
  maySubscribe(device: string | null, filter: string): boolean {
    if (filter.startsWith('$') || filter.includes('\0') || filter === '#' || filter.startsWith('+')) return false;
    const v = this.config.village.id;
    const outputs = [`tend/${v}/reserve`, `tend/${v}/alerts`, `tend/${v}/assembly`];
    if (outputs.includes(filter)) return true;
    if (device === null) return false;
    if (this.isReader(device)) return this.readerMaySubscribe(filter);
    // a filter that starts with the device's own prefix can only match topics under it,
    // whatever wildcards follow
    return filter.startsWith(`tend/${v}/dev/${device}/`);
  }

  /**
   * A reader's filter: `homeassistant/…` (discovery configs), or under `tend/<village>/` but not
   * into `dev/` (what devices send is theirs and the village's, not a signboard's). `tend/<v>/#`
   * and `tend/<v>/+/…` are allowed for convenience; mayForward keeps device topics out of them.
   */
  private readerMaySubscribe(filter: string): boolean {
    if (filter === 'homeassistant/#' || filter.startsWith('homeassistant/')) return true;
    const prefix = `tend/${this.config.village.id}/`;
    if (!filter.startsWith(prefix)) return false;
    return filter.slice(prefix.length).split('/')[0] !== 'dev';
  }

  /**
   * May a message on `topic` go to `account`'s subscription? Everything a subscription matched,
   * except a device topic to a reader (its `tend/<v>/#` matches `tend/<v>/dev/…` too).
   */
  mayForward(account: string | null, topic: string): boolean {
    if (!this.isReader(account)) return true;
    return !topic.startsWith(`tend/${this.config.village.id}/dev/`);
  }
}

/**
 * What makes a PUBLISH topic a protocol violation rather than a topic a client may not use: the
 * connection is closed for these, never just the message dropped. U+0000 is forbidden in every
 * MQTT string [MQTT-1.5.3-2]; ill-formed UTF-8 must close the connection [MQTT-1.5.3-1], and the
 * packet decoder turns it into U+FFFD, which no device topic contains.
 */
export function topicViolation(topic: string): string | null {
  if (topic.includes('\0')) return 'U+0000 in the topic [MQTT-1.5.3-2]';
  if (topic.includes('\uFFFD')) return 'ill-formed UTF-8 in the topic [MQTT-1.5.3-1]';
  return null;
}

function digest(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}
