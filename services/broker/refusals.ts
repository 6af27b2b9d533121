// What the embedded broker refused, per device, action and reason, and each device's last
// refusal: the installer's view of a node that logs in with a wrong secret, publishes under the
// wrong village or another device's prefix, or subscribes where it may not. Counted for /metrics
// and shown on the page's sensor list, so such a mistake is not silent.
import type { DeviceRefusal, RefuseAction } from '../../core/types.ts';

export type { DeviceRefusal, RefuseAction };

/** the device label of a login, subscribe or publish whose username is no configured account */
export const UNKNOWN_ACCOUNT = '(unknown)';
/** the device label of an anonymous client (allow_anonymous) */
export const ANONYMOUS = '(anonymous)';

/** how much of a client id or topic from the wire is kept */
const KEEP_CHARS = 128;

export class Refusals {
  /** `device\0action\0reason` → count; devices are configured accounts or the two labels above, so bounded */
  private readonly counts = new Map<string, number>();
  private readonly last = new Map<string, DeviceRefusal>();

  /**
   * @param isAccount whether a username is a configured account; others are counted under
   * UNKNOWN_ACCOUNT, since usernames come from the wire and must not grow the label set
   */
  constructor(private readonly isAccount: (username: string) => boolean) {}

  /** the device label for a username (null or empty: anonymous) */
  deviceOf(username: string | null | undefined): string {
    if (!username) return ANONYMOUS;
    return this.isAccount(username) ? username : UNKNOWN_ACCOUNT;
  }

  /** Count one refusal; returns the count of this device, action and reason so far. */
  add(
    at: number,
    username: string | null | undefined,
    action: RefuseAction,
    reason: string,
    detail: { clientId?: string; topic?: string; why: string },
  ): number {
    const device = this.deviceOf(username);
    const key = `${device}\0${action}\0${reason}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (device !== UNKNOWN_ACCOUNT && device !== ANONYMOUS) {
      this.last.set(device, {
        at: new Date(at).toISOString(),
        action,
        reason,
        why: detail.why,
        client_id: (detail.clientId ?? '').slice(0, KEEP_CHARS),
        ...(detail.topic !== undefined ? { topic: detail.topic.slice(0, KEEP_CHARS) } : {}),
      });
    }
    return n;
  }

  /** [device, action, reason, count] for /metrics */
  counted(): [device: string, action: RefuseAction, reason: string, count: number][] {
    return [...this.counts].map(([key, n]) => {
      const [device, action, reason] = key.split('\0') as [string, RefuseAction, string];
      return [device, action, reason, n];
    });
  }

  /** each configured device's last refusal */
  lastByDevice(): ReadonlyMap<string, DeviceRefusal> {
    return this.last;
  }
}
