// MQTT topic names of the device protocol and the village outputs (docs/architecture.md,
// "MQTT device protocol" and "Outputs on MQTT").

export const topics = {
  reading: (village: string, device: string) => `tend/${village}/dev/${device}/reading`,
  status: (village: string, device: string) => `tend/${village}/dev/${device}/status`,
  devicePrefix: (village: string, device: string) => `tend/${village}/dev/${device}/`,
  reserve: (village: string) => `tend/${village}/reserve`,
  alerts: (village: string) => `tend/${village}/alerts`,
  assembly: (village: string) => `tend/${village}/assembly`,
  /** tend's own `online`/`offline` (retained; `offline` is its will on an external broker) */
  tendStatus: (village: string) => `tend/${village}/status`,
};

export type DeviceTopic = { device: string; kind: 'reading' | 'status' };

/** `tend/<village>/dev/<device>/(reading|status)` → parts, or null for any other topic. */
export function parseDeviceTopic(village: string, topic: string): DeviceTopic | null {
  const prefix = `tend/${village}/dev/`;
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const device = rest.slice(0, slash);
  const kind = rest.slice(slash + 1);
  if (kind !== 'reading' && kind !== 'status') return null;
  return { device, kind };
}

/** MQTT topic filter match with + and # (MQTT 3.1.1 §4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  // a shared subscription matches as its filter; `+`/`#` at the start never match `$SYS`-style topics
  if (filter.startsWith('$share/')) filter = filter.split('/').slice(2).join('/');
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
