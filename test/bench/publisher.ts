// A separate process that publishes readings as fast as the broker takes them, like a crowd of
// devices. argv: JSON { url, devices: [{id, secret}], village, count, batch, metric, qos }
import mqtt from 'mqtt';

const args = JSON.parse(process.argv[2]!) as {
  url: string;
  devices: { id: string; secret?: string }[];
  village: string;
  count: number;
  batch: number;
  metric: string;
  qos: 0 | 1;
};

async function main() {
  const clients = await Promise.all(
    args.devices.map((d) =>
      mqtt.connectAsync(args.url, {
        username: d.id,
        password: d.secret,
        clientId: `${d.id}-bench-${process.pid}`,
        reconnectPeriod: 0,
      }),
    ),
  );
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const perClient = Math.ceil(args.count / clients.length);
  await Promise.all(
    clients.map(async (c, ci) => {
      const topic = `tend/${args.village}/dev/${args.devices[ci]!.id}/reading`;
      for (let i = 0; i < perClient; i++) {
        const payload: Record<string, number> = {};
        for (let b = 0; b < args.batch; b++) payload[args.batch === 1 ? args.metric : `${args.metric}${b}`] = 500 + ((i + b) % 1000);
        payload.seq = i;
        const ok = (c as unknown as { publish: (t: string, p: string, o: object) => unknown }).publish(topic, JSON.stringify(payload), { qos: args.qos });
        void ok;
        // respect backpressure: let the socket drain every so often
        if (i % 200 === 0) await new Promise<void>((r) => setImmediate(r));
        const stream = (c as unknown as { stream: { writableLength: number } }).stream;
        while (stream.writableLength > 1 << 20) await new Promise<void>((r) => setTimeout(r, 1));
      }
    }),
  );
  await Promise.all(clients.map((c) => c.endAsync()));
  process.send?.({ done: true });
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
