// Drives the ARM64 smoke run (.ci/arm64-smoke): starts `tend run` with the arm64 Node under qemu,
// publishes one reading as a device with the host's mqtt.js, waits for it in /api/status, stops.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';

const { ARM_NODE, APP_DIR } = process.env;
const dir = mkdtempSync(join(tmpdir(), 'tend-arm64-'));
const config = join(dir, 'village.yaml');
writeFileSync(
  config,
  `version: 1
village: { id: pine, name: Pine, population: 150 }
broker: { embedded: { host: 127.0.0.1, port: 0 } }
web: { host: 127.0.0.1, port: 0 }
storage: { dir: ${join(dir, 'data')} }
devices:
  - { id: tank-a, secret: arm64-smoke-secret, interval_s: 10 }
sensors:
  - { id: a, name: Tank A, device: tank-a, metric: level_mm, kind: tank_level, tank: { shape: box, length_mm: 2000, width_mm: 1000, height_mm: 1000 } }
`,
);

const fail = (why) => {
  console.error(`arm64 smoke: FAILED — ${why}`);
  tend.kill('SIGKILL');
  process.exit(1);
};
const tend = spawn('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', ARM_NODE, 'dist/tend.mjs', 'run', '--config', config], {
  cwd: APP_DIR,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
tend.stdout.on('data', (d) => (out += d));
tend.stderr.on('data', (d) => (out += d));
const deadline = setTimeout(() => fail(`no answer within 180 s; output:\n${out}`), 180_000);

const started = Date.now();
while (!/mqtt:\s+mqtt:\/\/\S+/.test(out)) {
  if (tend.exitCode !== null) fail(`tend exited ${tend.exitCode}:\n${out}`);
  await new Promise((r) => setTimeout(r, 200));
}
const page = out.match(/page:\s+(http:\/\/\S+)/)[1];
const broker = out.match(/mqtt:\s+(mqtt:\/\/\S+)/)[1];
console.log(`arm64 smoke: tend started in ${Date.now() - started} ms under qemu (${page}, ${broker})`);

const device = await mqtt.connectAsync(broker, { username: 'tank-a', password: 'arm64-smoke-secret', clientId: 'tank-a', reconnectPeriod: 0 });
await device.publishAsync('tend/pine/dev/tank-a/reading', JSON.stringify({ level_mm: 600, ts: Date.now() }), { qos: 1 });
await device.endAsync();

let tank;
while (!tank) {
  const status = await (await fetch(`${page.replace(/\/$/, '')}/api/status`)).json();
  tank = status.water.tanks.find((t) => t.id === 'a' && t.level_mm === 600);
  if (!tank) await new Promise((r) => setTimeout(r, 300));
}
console.log(`arm64 smoke: the reading reached /api/status (tank a: ${tank.liters} L, ${tank.percent} %)`);

tend.kill('SIGTERM');
const code = await new Promise((r) => tend.once('exit', (c) => r(c)));
clearTimeout(deadline);
if (code !== 0 || !/stopped cleanly/.test(out)) fail(`stop: exit ${code}\n${out}`);
console.log('arm64 smoke: stopped cleanly');
