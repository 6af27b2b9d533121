// The MQTT transport adapter: one incoming MQTT message → RawReadings (or a device status) for
// the TransportSink. Used both by the embedded broker (aedes `published` hook) and by the client
// of an external broker, so both paths read devices identically.
import type { Config } from '../../config/schema.ts';
import type { Clock, RawReading } from '../../core/types.ts';
import { decodeReadingPayload } from '../protocol/payload.ts';
import { parseDeviceTopic } from '../protocol/topics.ts';
import type { TransportSink } from '../../core/transport.ts';
import { MAX_PAYLOAD_BYTES } from '../../core/limits.ts';

/** A sensor read from foreign firmware's own topic (ESPHome, Tasmota). */
interface SourceBinding {
  device: string;
  metric: string;
  jsonPath: string[] | null;
}

export class DeviceMessages {
  private readonly sources = new Map<string, SourceBinding[]>();

  constructor(private readonly opts: { config: Config; clock: Clock; sink: TransportSink; metricOf: (s: Config['sensors'][number]) => string }) {
    for (const s of opts.config.sensors) {
      if (!s.source) continue;
      const list = this.sources.get(s.source.topic) ?? [];
      list.push({ device: s.device, metric: opts.metricOf(s), jsonPath: s.source.json_path ? splitPath(s.source.json_path) : null });
      this.sources.set(s.source.topic, list);
    }
  }

  /** topics the external-broker client subscribes to */
  subscriptions(): string[] {
    const v = this.opts.config.village.id;
    return [`tend/${v}/dev/+/reading`, `tend/${v}/dev/+/status`, ...this.sources.keys()];
  }

  /** Topics a device may publish to besides its own prefix (its foreign-firmware source topics). */
  sourceTopicsOf(device: string): string[] {
    const out: string[] = [];
    for (const [topic, list] of this.sources) if (list.some((b) => b.device === device)) out.push(topic);
    return out;
  }

  /**
   * Returns true if the message was a device message (handled), false if not ours. `retained`:
   * the message came from a broker's retained store (RETAIN 1 on a message delivered to tend's
   * own subscription, [MQTT-3.3.1-8]), so it is the last value kept, not a live one; ingest
   * decides what it is worth. A device's own publish to the embedded broker is always live.
   */
  handle(topic: string, payload: Buffer, retained = false): boolean {
    const { sink, clock, config } = this.opts;
    const dt = parseDeviceTopic(config.village.id, topic);
    if (dt?.kind === 'reading') {
      const decoded = decodeReadingPayload(payload);
      if (!decoded.ok) {
        sink.reject(dt.device, decoded.reason, decoded.detail);
        return true;
      }
      // a retained copy without a device time has no time at all: receive time would make it current
      const ts = decoded.ts ?? (retained ? Number.NaN : clock.now());
      for (const [metric, value] of decoded.metrics) {
        const raw: RawReading = { device: dt.device, metric, value, ts, source: 'mqtt', seq: decoded.seq };
        if (retained) raw.retained = true;
        sink.reading(raw);
      }
      return true;
    }
    if (dt?.kind === 'status') {
      const text = payload.toString('utf8').trim().toLowerCase();
      if (text === 'online' || text === 'offline') sink.online(dt.device, text === 'online');
      else if (text !== '') sink.reject(dt.device, 'bad_sentence', `status is "${text.slice(0, 20)}", not online|offline`);
      return true;
    }
    const bindings = this.sources.get(topic);
    if (!bindings) return false;
    for (const b of bindings) {
      const value = extract(payload, b.jsonPath);
      if (value === null) sink.reject(b.device, 'not_finite', `${topic}: no number${b.jsonPath ? ` at ${b.jsonPath.join('.')}` : ''}`);
      // foreign firmware sends no time: a retained copy is of unknown age
      else
        sink.reading({ device: b.device, metric: b.metric, value, ts: retained ? Number.NaN : clock.now(), source: 'mqtt', ...(retained ? { retained } : {}) });
    }
    return true;
  }
}

function splitPath(p: string): string[] {
  return p
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean);
}

/** ESPHome publishes a bare number ("21.5"); Tasmota a JSON object read with a dot path. */
function extract(payload: Buffer, path: string[] | null): number | null {
  // the same bound as tend's own reading payload, checked before anything is decoded
  if (payload.length > MAX_PAYLOAD_BYTES) return null;
  const text = payload.toString('utf8').trim();
  if (!path) {
    const n = Number(text);
    return text !== '' && Number.isFinite(n) ? n : null;
  }
  try {
    let v: unknown = JSON.parse(text);
    for (const key of path) {
      if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return null;
      v = (v as Record<string, unknown>)[key];
    }
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    return null;
  } catch {
    return null;
  }
}
