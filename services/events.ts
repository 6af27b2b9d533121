// The village's one-way event hub. Stages emit what they produced; later stages and outputs
// listen. Nothing listens "upstream", so data flows one way:
//   reading → status → alert/incident → assembly → outputs.
import { EventEmitter } from 'node:events';
import type { Alert, AssemblyPrompt, Incident, Reading, RejectReason, ReserveStatus } from '../core/types.ts';

export interface VillageEvents {
  /** an accepted, calibrated reading (history and state listen) */
  reading: [Reading];
  /** ingest refused something */
  reject: [{ device: string; reason: RejectReason; detail: string; at: number }];
  /** a device said online/offline (MQTT status topic, serial cable, firmata board) */
  device: [{ device: string; online: boolean; at: number }];
  /** a new reserve status was computed */
  status: [ReserveStatus];
  /** an alert changed state */
  alert: [Alert];
  /** an incident opened, changed or closed */
  incident: [Incident];
  /** an assembly prompt opened, changed or closed */
  assembly: [AssemblyPrompt];
}

export class VillageEventHub extends EventEmitter<VillageEvents> {
  constructor() {
    super();
    // many outputs listen (page SSE clients, webhooks, history, federation)
    this.setMaxListeners(0);
  }
}
