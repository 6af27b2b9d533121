// The lean hand-wired baseline: what a village would write instead of tend, beside Mosquitto.
// Subscribes to every device's readings (QoS 1), parses the JSON, and writes batched line
// protocol to InfluxDB (5,000 points or once a second). No durability, no status, no rules.
// Plain Node (no TypeScript loader), so its CPU and memory are the wiring's own.
// argv: JSON { url, username, password, village, influx, database }
import mqtt from 'mqtt';

const args = JSON.parse(process.argv[2]);
const BATCH = 5000;
let lines = [];
let written = 0;
let failed = 0;
let sending = Promise.resolve();

function flush() {
  if (lines.length === 0) return;
  const body = lines.join('\n');
  const n = lines.length;
  lines = [];
  sending = sending.then(async () => {
    try {
      const res = await fetch(`${args.influx}/write?db=${args.database}&precision=ms`, { method: 'POST', body });
      if (res.ok) written += n;
      else failed += n;
      await res.arrayBuffer();
    } catch {
      failed += n;
    }
  });
}

const client = await mqtt.connectAsync(args.url, { username: args.username, password: args.password, clientId: 'baseline-sub', reconnectPeriod: 0 });
client.on('message', (topic, payload) => {
  // tend/<village>/dev/<device>/reading
  const device = topic.split('/')[3];
  let obj;
  try {
    obj = JSON.parse(payload.toString());
  } catch {
    return;
  }
  const ts = Date.now();
  for (const [metric, value] of Object.entries(obj)) {
    if (metric === 'seq' || typeof value !== 'number') continue;
    lines.push(`reading,device=${device},sensor=${metric} value=${value} ${ts}`);
  }
  if (lines.length >= BATCH) flush();
});
await client.subscribeAsync(`tend/${args.village}/dev/+/reading`, { qos: 1 });
setInterval(flush, 1000);
process.send?.({ ready: true });
process.on('message', async () => {
  flush();
  await sending;
  process.send?.({ written, failed });
});
