// A TransportSink that remembers what it was given, for adapter tests without the village.
import type { RawReading, RejectReason } from '../../../core/types.ts';
import type { TransportSink } from '../../../core/transport.ts';

export interface RecordingSink extends TransportSink {
  readings: RawReading[];
  rejects: { device: string; reason: RejectReason; detail: string }[];
  onlines: { device: string; online: boolean }[];
  /** the last online/offline said about a device, undefined if none */
  isOnline(device: string): boolean | undefined;
  last(metric: string): RawReading | undefined;
}

export function recordingSink(): RecordingSink {
  const sink: RecordingSink = {
    readings: [],
    rejects: [],
    onlines: [],
    reading(r) {
      sink.readings.push(r);
    },
    reject(device, reason, detail) {
      sink.rejects.push({ device, reason, detail });
    },
    online(device, online) {
      sink.onlines.push({ device, online });
    },
    isOnline(device) {
      for (let i = sink.onlines.length - 1; i >= 0; i--) if (sink.onlines[i]!.device === device) return sink.onlines[i]!.online;
      return undefined;
    },
    last(metric) {
      for (let i = sink.readings.length - 1; i >= 0; i--) if (sink.readings[i]!.metric === metric) return sink.readings[i];
      return undefined;
    },
  };
  return sink;
}
