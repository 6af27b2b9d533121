// The village's one-way event hub. Stages emit what they produced; later stages and outputs
// listen. Nothing listens "upstream", so data flows one way:
//   reading → status → alert/incident → assembly → outputs.
//
// Listeners are isolated: one that throws is logged with its module's name and the others still
// run, so a failing output (history, webhooks, a page client) never breaks ingest, which emits
// from inside the broker's publish path, nor cuts the alert book off half way through a step.
import type { Alert, AssemblyPrompt, Incident, Reading, RejectReason, ReserveStatus } from '../core/types.ts';
import { moduleLog, type Logger, type LogSink } from '../core/log.ts';

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

type EventName = keyof VillageEvents;
type Listener<E extends EventName> = (...args: VillageEvents[E]) => void;
// stored without their event's argument types; emit calls each with the arguments of its own event
type AnyListener = (...args: unknown[]) => void;
interface Entry {
  fn: AnyListener;
  module: string;
}

export class VillageEventHub {
  private readonly listeners = new Map<EventName, Entry[]>();
  private readonly log: Logger;
  /** listener calls that threw, by module (shown on /metrics) */
  readonly failures = new Map<string, number>();

  constructor(sink?: LogSink) {
    this.log = moduleLog(sink, 'events', { windowMs: 60_000 });
  }

  /** Listen to `event`; `module` names the listener in the log when it throws. */
  on<E extends EventName>(event: E, fn: Listener<E>, module = 'listener'): this {
    const list = this.listeners.get(event) ?? [];
    // copy on write: a listener that subscribes or unsubscribes during an emit changes the next emit
    this.listeners.set(event, [...list, { fn: fn as unknown as AnyListener, module }]);
    return this;
  }

  off<E extends EventName>(event: E, fn: Listener<E>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.findIndex((e) => e.fn === (fn as unknown as AnyListener));
    if (i >= 0)
      this.listeners.set(
        event,
        list.filter((_, k) => k !== i),
      );
    return this;
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  emit<E extends EventName>(event: E, ...args: VillageEvents[E]): boolean {
    const list = this.listeners.get(event);
    if (!list?.length) return false;
    for (const { fn, module } of list) {
      try {
        fn(...args);
      } catch (err) {
        this.failures.set(module, (this.failures.get(module) ?? 0) + 1);
        this.log.limited(`${module}/${event}`, () => `${module} failed on a ${event} event and was skipped: ${(err as Error)?.stack ?? String(err)}`, 'error');
      }
    }
    return true;
  }
}
