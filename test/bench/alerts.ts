// Alert latency: from the publish of a reading that crosses a threshold (a device over MQTT) to
// the alert on the retained `tend/<village>/alerts` topic (a signboard subscribed to it), through
// the real village: embedded broker → ingest → reserve → rules → outputs. Ten cold units cycle
// above and below their safe temperature at once (hold and clear times set to 0 for the bench),
// and every firing and every clearing is one sample.
import mqtt from 'mqtt';
import { parseConfig } from '../../config/load.ts';
import { startVillage } from '../../services/village.ts';
import type { Alert } from '../../core/types.ts';
import { tempDir } from '../helpers/net.ts';

export interface AlertLatencyOptions {
  /** samples to take (each an alert firing or ending); at least 1000 for the report */
  count?: number;
  units?: number;
  /** pass the village a status throttle other than its default */
  statusThrottleMs?: number;
}

export async function benchAlertLatency(opts: AlertLatencyOptions = {}): Promise<{ p50: number; p99: number; samples: number }> {
  const count = opts.count ?? 1000;
  const units = opts.units ?? 10;
  const config = parseConfig({
    version: 1,
    village: { id: 'benchvale', name: 'Benchvale', population: 200 },
    broker: { embedded: { host: '127.0.0.1', port: 0 } },
    devices: [
      { id: 'cold-bench', secret: 'bench-cold-secret', interval_s: 60 },
      { id: 'signboard', secret: 'bench-sign-secret', interval_s: 60 },
    ],
    sensors: Array.from({ length: units }, (_, i) => ({
      id: `unit-${i}`,
      device: 'cold-bench',
      metric: `t${i}`,
      kind: 'cold_temp',
      cold: { safe_max_c: 5 },
    })),
    alerts: { rules: { cold_above_safe: { hold_s: 0, clear_hold_s: 0, reopen_s: 0 }, sensor_offline: { enabled: false } } },
  });
  const tmp = tempDir('tend-bench-alerts-');
  const village = await startVillage({ config, storageDir: tmp.dir, brokerPort: 0, web: false, log: () => {}, statusThrottleMs: opts.statusThrottleMs });
  const device = await mqtt.connectAsync(village.brokerUrl, {
    username: 'cold-bench',
    password: 'bench-cold-secret',
    clientId: 'cold-bench-1',
    reconnectPeriod: 0,
  });
  const sign = await mqtt.connectAsync(village.brokerUrl, {
    username: 'signboard',
    password: 'bench-sign-secret',
    clientId: 'signboard-bench',
    reconnectPeriod: 0,
  });
  // Both clients send at once (TCP_NODELAY), so the figure is tend's latency, not the test
  // clients' TCP stack. The bench sends the next reading within a millisecond of the last alert;
  // under Nagle's algorithm that reading waits in the device's own kernel until the broker's
  // delayed ACK of the one before, up to 40 ms (p99 31–39 ms against 8–14 ms, 2026-11-29). A real
  // device's readings are seconds apart, each long acknowledged before the next. mqtt.js has no
  // option for it; its stream is the socket.
  for (const c of [device, sign]) (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  try {
    const topic = `tend/${config.village.id}/dev/cold-bench/reading`;
    // warm up: every unit cold and known
    for (let i = 0; i < units; i++) await device.publishAsync(topic, JSON.stringify({ [`t${i}`]: 3 }), { qos: 1 });
    const samples: number[] = [];
    const state = Array.from({ length: units }, () => ({ want: 'fire' as 'fire' | 'clear', t0: 0, inFlight: false }));
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const send = (i: number) => {
      const s = state[i]!;
      if (samples.length + state.filter((x) => x.inFlight).length >= count) {
        if (!state.some((x) => x.inFlight)) finish();
        return;
      }
      s.inFlight = true;
      s.t0 = performance.now();
      device.publish(topic, JSON.stringify({ [`t${i}`]: s.want === 'fire' ? 9 : 3 }), { qos: 0 });
    };
    sign.on('message', (_t, payload) => {
      const now = performance.now();
      let active: Alert[];
      try {
        active = JSON.parse(payload.toString()) as Alert[];
      } catch {
        return;
      }
      const firing = new Set(active.filter((a) => a.state === 'firing').map((a) => a.subject));
      state.forEach((s, i) => {
        if (!s.inFlight) return;
        const arrived = s.want === 'fire' ? firing.has(`unit-${i}`) : !firing.has(`unit-${i}`);
        if (!arrived) return;
        samples.push(now - s.t0);
        s.inFlight = false;
        s.want = s.want === 'fire' ? 'clear' : 'fire';
        setImmediate(() => send(i));
      });
      if (samples.length >= count && !state.some((x) => x.inFlight)) finish();
    });
    await sign.subscribeAsync(`tend/${config.village.id}/alerts`, { qos: 0 });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < units; i++) send(i);
    const timeout = setTimeout(() => finish(), Math.max(120_000, count * 300));
    await done;
    clearTimeout(timeout);
    if (samples.length < count) throw new Error(`only ${samples.length} of ${count} alerts arrived in time`);
    samples.sort((a, b) => a - b);
    const q = (p: number) => Math.round(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]! * 100) / 100;
    return { p50: q(0.5), p99: q(0.99), samples: samples.length };
  } finally {
    await sign.endAsync(true).catch(() => undefined);
    await device.endAsync(true).catch(() => undefined);
    await village.stop();
    tmp.remove();
  }
}

// run alone: npx tsx test/bench/alerts.ts [count]
if (import.meta.url === `file://${process.argv[1]}`) {
  benchAlertLatency({ count: Number(process.argv[2] ?? 1000) }).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
