// Simulated devices for the demo village. Each device is a real MQTT client that logs in with its
// own id and secret, sets its retained `offline` will, says `online`, and publishes readings in
// tend's device protocol — exactly what firmware on a real board does.
import type { MqttClient } from 'mqtt';
import type { Config, SensorConfig } from '../../config/schema.ts';
import { litersAtLevel, tankCapacityLiters, tankHeightMm } from '../../config/tanks.ts';
import type { Clock } from '../../core/types.ts';
import { topics } from '../protocol/topics.ts';

const HOUR = 3600_000;

/** Village water use over the day: peaks at breakfast and evening (fraction of daily use per hour). */
export function waterUseShare(hourOfDay: number): number {
  const peak = (h: number, width: number) => Math.exp(-((hourOfDay - h) ** 2) / (2 * width ** 2));
  const raw = 0.2 + 1.6 * peak(7, 1.2) + 1.2 * peak(19, 1.5) + 0.5 * peak(13, 2);
  return raw / 24 / 0.65; // normalised so a day sums to about 1
}

interface TankModel {
  sensor: SensorConfig;
  liters: number;
  capacity: number;
  shareOfUse: number;
}

/** A small physical model of the demo village's reserves, advanced on a clock. */
export class DemoVillageModel {
  private tanks: TankModel[] = [];
  private soc = 68;
  private last: number;
  private rain = 0;
  private doorOpenUntil = 0;
  private fridgePhase = Math.random() * 10;

  constructor(
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly rand: () => number = Math.random,
  ) {
    this.last = clock.now();
    const tankSensors = config.sensors.filter((s) => s.tank);
    const fills = [0.72, 0.55, 0.83];
    tankSensors.forEach((sensor, i) => {
      const capacity = tankCapacityLiters(sensor.tank!);
      this.tanks.push({ sensor, capacity, liters: capacity * (fills[i % fills.length] ?? 0.6), shareOfUse: 1 / tankSensors.length });
    });
  }

  /** Advance the model to now; returns per-device readings (metric → value). */
  step(): Map<string, Record<string, number>> {
    const now = this.clock.now();
    const dtH = Math.max(0, (now - this.last) / HOUR);
    this.last = now;
    const date = new Date(now);
    const hour = date.getHours() + date.getMinutes() / 60;
    const out = new Map<string, Record<string, number>>();
    const put = (s: SensorConfig, value: number) => {
      if (!s.metric) return;
      const rec = out.get(s.device) ?? {};
      rec[s.metric] = Math.round(value * 100) / 100;
      out.set(s.device, rec);
    };
    const dailyUse = this.config.village.population * 40; // litres a day in normal times
    for (const t of this.tanks) {
      t.liters -= dailyUse * t.shareOfUse * waterUseShare(hour) * dtH;
      // the hill cistern is fed by a spring pump in the small hours
      if (t.sensor.tank?.shape === 'table' && hour >= 2 && hour < 5) t.liters += 900 * dtH;
      t.liters = Math.min(t.capacity, Math.max(0, t.liters));
      put(t.sensor, this.rawForTank(t.sensor, t.liters));
    }
    // power: solar by daylight, load with evening peak, battery integrates the difference
    const sun = Math.max(0, Math.sin(((hour - 6) / 13) * Math.PI));
    const solar = 7000 * sun * (0.85 + 0.15 * this.rand());
    const load = 1400 + 1600 * Math.exp(-((hour - 19.5) ** 2) / 3) + 500 * Math.exp(-((hour - 7.5) ** 2) / 2) + 150 * this.rand();
    const battery = this.config.sensors.find((s) => s.kind === 'battery_soc');
    const capacityWh = (battery?.battery?.capacity_kwh ?? 60) * 1000;
    this.soc = Math.min(100, Math.max(5, this.soc + (((solar - load) * dtH) / capacityWh) * 100));
    const voltage = 48 + (this.soc - 50) * 0.05 - load / 4000 + solar / 8000;
    // weather: a slow pressure wave, light wind
    const pressure = 1013 + 4 * Math.sin(now / (36 * HOUR)) + 0.2 * (this.rand() - 0.5);
    const wind = 3 + 2 * this.rand();
    if (this.rand() < 0.02) this.rain += 0.2;
    // cold: compressors cycling around their set points; the freezer door opens now and then
    this.fridgePhase += dtH * 3;
    if (this.rand() < 0.01) this.doorOpenUntil = now + 20_000;
    for (const s of this.config.sensors) {
      switch (s.kind) {
        case 'battery_soc':
          put(s, this.soc);
          break;
        case 'battery_voltage':
          put(s, voltage);
          break;
        case 'load_power':
          put(s, load);
          break;
        case 'solar_power':
          put(s, solar);
          break;
        case 'pressure':
          put(s, pressure);
          break;
        case 'wind_speed':
          put(s, wind);
          break;
        case 'wind_gust':
          put(s, wind + 2 + 3 * this.rand());
          break;
        case 'rain':
          put(s, this.rain);
          break;
        case 'door_open':
          put(s, now < this.doorOpenUntil ? 1 : 0);
          break;
        case 'cold_temp': {
          const safe = s.cold?.safe_max_c ?? 5;
          const set = safe - (safe < 0 ? 4 : 2);
          put(s, set + 0.8 * Math.sin(this.fridgePhase * 6 + safe) + 0.2 * (this.rand() - 0.5));
          break;
        }
        default:
          break;
      }
    }
    return out;
  }

  /** What the tank's sensor would read for a given volume (inverse of calibration). */
  private rawForTank(s: SensorConfig, liters: number): number {
    const tank = s.tank!;
    const height = tankHeightMm(tank);
    // invert litersAtLevel by bisection: shapes are monotonic
    let lo = 0;
    let hi = height;
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      if (litersAtLevel(tank, mid) < liters) lo = mid;
      else hi = mid;
    }
    const level = (lo + hi) / 2;
    const noise = (this.rand() - 0.5) * 3; // a few mm of sensor noise, as real sensors have
    if (s.kind === 'tank_distance') return (tank.sensor_height_mm ?? height) - level + noise;
    if (s.kind === 'tank_pressure') return (level + noise) / 101.97;
    return level + noise;
  }
}

export interface DemoDevices {
  stop(): Promise<void>;
}

/** Connect every MQTT device of the config as a simulated board publishing every interval. */
export async function startDemoDevices(opts: {
  config: Config;
  brokerUrl: string;
  clock: Clock;
  /** publish period in ms; defaults to each device's interval_s */
  intervalMs?: number;
  log?: (msg: string) => void;
}): Promise<DemoDevices> {
  const { config } = opts;
  const model = new DemoVillageModel(config, opts.clock);
  const v = config.village.id;
  const clients = new Map<string, MqttClient>();
  let seq = 0;
  // loaded here, not at start: only the demo runs simulated boards
  const { default: mqtt } = await import('mqtt');
  await Promise.all(
    config.devices
      .filter((d) => d.transport === 'mqtt' && d.secret)
      .map(async (d) => {
        const client = mqtt.connect(opts.brokerUrl, {
          clientId: `${d.id}-sim`,
          username: d.id,
          password: d.secret,
          reconnectPeriod: 1000,
          will: { topic: topics.status(v, d.id), payload: Buffer.from('offline'), retain: true, qos: 1 },
        });
        clients.set(d.id, client);
        client.on('error', (err) => opts.log?.(`simulator ${d.id}: ${err.message}`));
        client.on('connect', () => client.publish(topics.status(v, d.id), 'online', { retain: true, qos: 1 }));
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      }),
  );
  const publishAll = () => {
    const readings = model.step();
    seq++;
    for (const [device, metrics] of readings) {
      const client = clients.get(device);
      if (client?.connected) client.publish(topics.reading(v, device), JSON.stringify({ ...metrics, seq }), { qos: 1 });
    }
  };
  publishAll();
  const period = opts.intervalMs ?? Math.min(...config.devices.map((d) => d.interval_s)) * 1000;
  const timer = setInterval(publishAll, period);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(
        [...clients.entries()].map(async ([id, c]) => {
          // a clean stop says offline itself (the will only fires on an unclean drop)
          if (c.connected) await c.publishAsync(topics.status(v, id), 'offline', { retain: true, qos: 1 }).catch(() => {});
          await c.endAsync();
        }),
      );
    },
  };
}
