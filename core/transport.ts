// What every transport adapter (MQTT, serial, Firmata) hands readings to. Adapters know the wire,
// not the village: they turn bytes into RawReadings and report what they could not read.
import type { LinkStatus, RawReading, RejectReason } from './types.ts';

export interface TransportSink {
  /** a well-formed reading; ingest still checks device, metric and range */
  reading(r: RawReading): void;
  /** something arrived that could not be read; counted per device and reason, logged rate-limited */
  reject(device: string, reason: RejectReason, detail: string): void;
  /** the device is reachable (cable in, board answered, status topic) or not */
  online(device: string, online: boolean): void;
}

/** A running adapter: its connection state is visible (the page and /metrics show it). */
export interface TransportHandle {
  link(): LinkStatus;
  stop(): Promise<void>;
}
