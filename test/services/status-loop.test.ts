// The status loop alone, on fake timers: leading-edge throttle, the 1 s tick, outputs published
// once per change, and the order reserve → alert book → assembly → outputs.
import { describe, expect, it } from 'vitest';
import type { Alert, AssemblyPrompt, Reading, ReserveStatus } from '../../core/types.ts';
import type { Judgement } from '../../services/alerts/book.ts';
import { VillageEventHub } from '../../services/events.ts';
import { StatusLoop, statusText, type LoopTimers } from '../../services/status-loop.ts';

class FakeTimers implements LoopTimers {
  t = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void; every?: number }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    this.due.set(++this.seq, { at: this.t + ms, fn });
    return this.seq;
  };
  clearTimeout = (h: unknown) => {
    this.due.delete(h as number);
  };
  setInterval = (fn: () => void, ms: number) => {
    this.due.set(++this.seq, { at: this.t + ms, fn, every: ms });
    return this.seq;
  };
  clearInterval = (h: unknown) => {
    this.due.delete(h as number);
  };
  /** move time forward, running what falls due in order */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      const [id, d] = next;
      this.t = d.at;
      if (d.every) d.at += d.every;
      else this.due.delete(id);
      d.fn();
    }
    this.t = end;
  }
  pending(): number {
    return this.due.size;
  }
}

const reading = {
  device: 'tank-north',
  sensor: 'north',
  kind: 'tank_distance',
  metric: 'distance_mm',
  raw: 800,
  value: 5000,
  ts: 0,
  received: 0,
  source: 'mqtt',
} as never;

function loopWorld(opts: { throttleMs?: number; tick?: boolean; auto?: boolean; urgent?: (r: Reading) => boolean } = {}) {
  const timers = new FakeTimers();
  const events = new VillageEventHub();
  const calls: string[] = [];
  const published: { topic: string; payload: string }[] = [];
  let liters = 1000;
  let alerts: Alert[] = [];
  let prompts: AssemblyPrompt[] = [];
  const status = () =>
    ({ village: { id: 'v', name: 'V', population: 10 }, at: new Date(timers.t).toISOString(), water: { liters } }) as unknown as Omit<
      ReserveStatus,
      'alerts' | 'assembly'
    >;
  const loop = new StatusLoop({
    events,
    timers,
    ...opts,
    reserve: {
      status: () => {
        calls.push('reserve');
        return status();
      },
      sensors: () => [],
    },
    rejectedTotal: () => 0,
    alerts: {
      judge: (s: ReserveStatus): Judgement => {
        calls.push(`judge ${(s.water as { liters: number }).liters}`);
        return { now: timers.t, changed: [], incidents: [] };
      },
      alerts: () => alerts,
    },
    assembly: {
      follow: () => {
        calls.push('follow');
      },
      prompts: () => prompts,
    },
    publish: (topic, payload) => published.push({ topic, payload }),
    topics: { reserve: 'v/reserve', alerts: 'v/alerts', assembly: 'v/assembly' },
  });
  return {
    timers,
    events,
    calls,
    published,
    loop,
    setLiters: (l: number) => {
      liters = l;
    },
    setAlerts: (a: Alert[]) => {
      alerts = a;
    },
    setPrompts: (p: AssemblyPrompt[]) => {
      prompts = p;
    },
    computes: () => calls.filter((c) => c === 'reserve').length,
  };
}

/** A reading every 100 ms for `ms`: how many computes the loop made meanwhile. */
function computesUnderStream(w: ReturnType<typeof loopWorld>, ms: number): number {
  const before = w.computes();
  for (let t = 0; t < ms; t += 100) {
    w.events.emit('reading', reading);
    w.timers.advance(100);
  }
  return w.computes() - before;
}

describe('status loop', () => {
  it('runs reserve → alert book → assembly in that order, then publishes the status once per change', () => {
    const w = loopWorld({ tick: false });
    w.loop.start();
    expect(w.calls).toEqual(['reserve', 'judge 1000', 'follow']);
    expect(w.published.map((p) => p.topic)).toEqual(['v/alerts', 'v/assembly', 'v/reserve']);
    w.loop.refresh();
    // only `at` could have changed: nothing republished
    expect(w.published.filter((p) => p.topic === 'v/reserve')).toHaveLength(1);
    w.setLiters(900);
    w.loop.refresh();
    expect(w.published.filter((p) => p.topic === 'v/reserve')).toHaveLength(2);
    expect(JSON.parse(w.published.at(-1)!.payload).water.liters).toBe(900);
    w.loop.stop();
  });

  it('computes at once after a quiet spell, and at most once per throttle period under a flood', () => {
    const w = loopWorld({ throttleMs: 25, tick: false });
    w.loop.start();
    const before = w.computes();
    w.timers.advance(1000);
    w.events.emit('reading', reading);
    w.timers.advance(0);
    expect(w.computes()).toBe(before + 1); // leading edge: no wait after a quiet spell
    for (let i = 0; i < 100; i++) {
      w.events.emit('reading', reading);
      w.timers.advance(1);
    }
    // 100 ms of readings: one compute per 25 ms, not one per reading
    expect(w.computes() - before).toBeGreaterThanOrEqual(4);
    expect(w.computes() - before).toBeLessThanOrEqual(6);
    w.loop.stop();
    expect(w.timers.pending()).toBe(0);
  });

  it('ticks every second for staleness, and never by itself when the caller drives it', () => {
    const w = loopWorld();
    w.loop.start();
    const before = w.computes();
    w.timers.advance(5000);
    expect(w.computes() - before).toBe(5);
    w.loop.stop();

    const manual = loopWorld({ auto: false, tick: false });
    manual.loop.start();
    const m0 = manual.computes();
    manual.events.emit('reading', reading);
    manual.timers.advance(10_000);
    expect(manual.computes()).toBe(m0);
    manual.loop.refresh();
    expect(manual.computes()).toBe(m0 + 1);
  });

  it('leaves out a tick that comes right after a compute, so a stream of readings is judged four times a second, not five', () => {
    const w = loopWorld({ throttleMs: 250 });
    w.loop.start();
    // the throttle computes every 250 ms
    const streamed = computesUnderStream(w, 5000);
    expect(streamed).toBeGreaterThanOrEqual(19);
    expect(streamed).toBeLessThanOrEqual(21);
    // then quiet: the tick alone, once a second
    const quiet = w.computes();
    w.timers.advance(5000);
    expect(w.computes() - quiet).toBe(5);
    w.loop.stop();
  });

  it('judges a stream of readings once a second by default: the tick does not add computes of its own', () => {
    const w = loopWorld();
    w.loop.start();
    // the tick runs beside the throttle all along
    const streamed = computesUnderStream(w, 10_000);
    expect(streamed).toBeGreaterThanOrEqual(9);
    expect(streamed).toBeLessThanOrEqual(11);
    w.loop.stop();
  });

  it('publishes the alert and assembly lists once per change of the lists, after the events of one step', async () => {
    const w = loopWorld({ tick: false });
    w.loop.start();
    const alert = { id: 'storm:weather:1', state: 'firing' } as Alert;
    w.setAlerts([alert]);
    // three events in one step: one publish of the list
    w.events.emit('alert', alert);
    w.events.emit('alert', alert);
    w.events.emit('assembly', { id: 'prompt-1' } as AssemblyPrompt);
    await Promise.resolve();
    expect(w.published.filter((p) => p.topic === 'v/alerts')).toHaveLength(2);
    expect(JSON.parse(w.published.filter((p) => p.topic === 'v/alerts').at(-1)!.payload)).toEqual([alert]);
    // the assembly list did not change: not republished
    expect(w.published.filter((p) => p.topic === 'v/assembly')).toHaveLength(1);
    w.loop.stop();
  });
});

describe('status loop: judging at once, and the status text', () => {
  it('judges a reading across a threshold at once, even within the throttle period', async () => {
    const w = loopWorld({ throttleMs: 25, tick: false, urgent: (r: { value: number }) => r.value === 9 });
    w.loop.start();
    w.timers.advance(1000);
    w.events.emit('reading', reading);
    w.timers.advance(0);
    const before = w.computes();
    // within the throttle period: an ordinary reading waits for it
    w.events.emit('reading', { ...(reading as object), value: 3 } as never);
    await Promise.resolve();
    expect(w.computes()).toBe(before);
    // an urgent one is judged right after the event that brought it, without time passing
    w.events.emit('reading', { ...(reading as object), value: 9 } as never);
    w.events.emit('reading', { ...(reading as object), value: 9 } as never);
    await Promise.resolve();
    expect(w.computes()).toBe(before + 1);
    // the compute that was due is not needed any more: nothing more within the period
    w.timers.advance(25);
    expect(w.computes()).toBe(before + 1);
    w.loop.stop();
    expect(w.timers.pending()).toBe(0);
  });

  it('judges nothing at once after it stopped, nor when the caller drives it', async () => {
    const stopped = loopWorld({ tick: false, urgent: () => true });
    stopped.loop.start();
    const s0 = stopped.computes();
    stopped.loop.stop();
    stopped.events.emit('reading', reading);
    await Promise.resolve();
    expect(stopped.computes()).toBe(s0);

    const manual = loopWorld({ tick: false, auto: false, urgent: () => true });
    manual.loop.start();
    const m0 = manual.computes();
    manual.events.emit('reading', reading);
    await Promise.resolve();
    expect(manual.computes()).toBe(m0);
  });

  it('writes the same text as JSON.stringify, with each tank written once per change', () => {
    const tank = (i: number, liters: number) => ({ id: `t${i}`, name: `Tank "${i}" \u0000tanks`, liters, stale: false, draw_lph: null, last_seen: null });
    const tanks = Array.from({ length: 20 }, (_, i) => tank(i, 100 * i + 0.5));
    const status = {
      village: { id: 'v', name: 'V "tanks":"x"' },
      at: '2026-11-29T19:00:00.000Z',
      water: { liters: 1, stale_tanks: 0, tanks, status: 'ok' },
      power: { status: 'unknown' },
      alerts: [],
      assembly: [],
    } as unknown as ReserveStatus;
    expect(statusText(status)).toBe(JSON.stringify(status));
    // a tank replaced by a new entry (it took a reading) shows its new figures
    tanks[3] = tank(3, 42);
    expect(statusText(status)).toBe(JSON.stringify(status));
    expect(JSON.parse(statusText(status)).water.tanks[3].liters).toBe(42);
    // a small village is written whole
    const small = { ...status, water: { ...status.water, tanks: tanks.slice(0, 2) } } as ReserveStatus;
    expect(statusText(small)).toBe(JSON.stringify(small));
  });
});
