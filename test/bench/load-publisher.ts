// A crowd of tank nodes at a steady pace, in a process of its own: each device publishes
// `per_message` readings per message (default one, cycling through its sensors), `per_device_hz`
// messages a second, QoS 1, and times each publish to its PUBACK (what a device waits before it may
// sleep or send again).
// argv: JSON { url, devices: [{id, secret}], village, sensors, per_device_hz, duration_s, per_message? }
// IPC: → { ready } after connecting; ← 'go'; → { done, sent, acked, errors, latencies_ms }
import mqtt, { type MqttClient } from 'mqtt';

const args = JSON.parse(process.argv[2]!) as {
  url: string;
  devices: { id: string; secret: string }[];
  village: string;
  sensors: number;
  per_device_hz: number;
  duration_s: number;
  per_message?: number;
};
const PER_MESSAGE = args.per_message ?? 1;

async function main() {
  const clients: MqttClient[] = await Promise.all(
    args.devices.map((d) =>
      mqtt.connectAsync(args.url, { username: d.id, password: d.secret, clientId: `${d.id}-load-${process.pid}`, reconnectPeriod: 0, clean: true }),
    ),
  );
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  const period = 1000 / args.per_device_hz;
  const perDevice = Math.round(args.duration_s * args.per_device_hz);
  const t0 = performance.now();
  // spread the devices over the period, so the load is steady rather than 50 at once
  const next = clients.map((_, i) => t0 + (i / clients.length) * period);
  const k = clients.map(() => 0);
  const latencies: number[] = [];
  let sent = 0;
  let acked = 0;
  let errors = 0;
  const total = perDevice * clients.length;
  let allAcked!: () => void;
  const finished = new Promise<void>((r) => (allAcked = r));

  const publish = (i: number) => {
    const n = k[i]!++;
    let payload = '{';
    for (let r = 0; r < PER_MESSAGE; r++) {
      const at = n * PER_MESSAGE + r;
      const m = at % args.sensors;
      // a level that drifts slowly, as water does
      const level = Math.round(1200 + 150 * Math.sin((at / args.sensors + i * 7 + m) / 40));
      payload += `"level_mm${m}":${level},`;
    }
    payload += `"seq":${n}}`;
    const topic = `tend/${args.village}/dev/${args.devices[i]!.id}/reading`;
    const start = performance.now();
    sent++;
    clients[i]!.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) errors++;
      else {
        acked++;
        latencies.push(performance.now() - start);
      }
      if (acked + errors === total) allAcked();
    });
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      let left = false;
      for (let i = 0; i < clients.length; i++) {
        while (k[i]! < perDevice && next[i]! <= now) {
          publish(i);
          next[i]! += period;
        }
        if (k[i]! < perDevice) left = true;
      }
      if (left) setTimeout(tick, 2);
      else resolve();
    };
    tick();
  });
  // the last PUBACKs, or give up after 60 s (those count as not acknowledged)
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  // exit only once the figures have gone out over IPC
  process.send!({ done: true, sent, acked, errors, latencies_ms: latencies }, () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
