// The federation inside `tend simulate storm`: a small MQTT broker in this process (aedes) on a
// free loopback port, carrying the villages' retained news on the federation's own topics
// (fed/<village>/…), and the story's neighbouring villages as clients of it that publish their
// news on the simulated clock. The simulated village's federation is the real one (link, decoding,
// the neighbour book, matching); only the broker is small.
//
// aedes speaks MQTT 3.1.1, while the federation link asks for MQTT 5. `connect311` connects the
// link with 3.1.1 instead, which loses only what MQTT 5 adds to it: the session expiry (aedes
// keeps the session in memory for the run), no-local (our own news comes back, and the federation
// ignores its own village's topics) and PUBACK reason codes (nothing is refused here).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { listen } from '../core/listen.ts';
import type { Clock } from '../core/types.ts';
import type { NeighbourNews, StoryNeighbour } from './assembly/story.ts';
import { fedTopic, QUANTITY_KINDS, type FedKind, type FedOffer, type FedSummary } from './federation/topics.ts';

/** The in-process federation broker: one login a village, each may publish only under fed/<its id>/ (as the federation's ACL says). */
export interface FederationBroker {
  url: string;
  password(village: string): string;
  stop(): Promise<void>;
}

export async function startFederationBroker(villages: string[]): Promise<FederationBroker> {
  const passwords = new Map(villages.map((v) => [v, randomBytes(12).toString('hex')]));
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      const ok = !!username && passwords.get(username) === password?.toString();
      done(ok ? null : (Object.assign(new Error('bad username or password'), { returnCode: 4 }) as never), ok);
    },
    // the ACL every federation broker has: `pattern write fed/%u/#`
    authorizePublish: (client, packet, done) => {
      if (client === null || packet.topic.startsWith(`fed/${(client as { tendVillage?: string }).tendVillage ?? ''}/`)) return done(null);
      done(new Error(`${packet.topic} is not under this village's own prefix`));
    },
    preConnect: (client, packet, done) => {
      (client as { tendVillage?: string }).tendVillage = packet.username;
      done(null, true);
    },
  });
  const server: Server = createServer(aedes.handle);
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `mqtt://127.0.0.1:${port}`,
    password: (v) => passwords.get(v) ?? '',
    async stop() {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** How the village's federation link connects to this broker: MQTT 3.1.1, everything else as the link asks. */
export const connect311 = ((url: string, opts?: IClientOptions) => {
  const { properties: _mqtt5Only, ...rest } = opts ?? {};
  return mqtt.connect(url, { ...rest, protocolVersion: 4 });
}) as typeof mqtt.connect;

/** What the simulated neighbour needs of the village's federation: how many neighbour messages it has taken in. */
export interface Hearing {
  metrics(): { received: number };
}

/** A neighbour's summary heartbeat, as often as this (simulated): well inside the 10 minutes after which news is stale. */
export const NEIGHBOUR_HEARTBEAT_MS = 5 * 60_000;
/** how long (real time) the village may take to hear a neighbour's message on loopback */
const HEAR_TIMEOUT_MS = 10_000;

/**
 * One neighbouring village of the story: it says it is online, publishes its summary now and then
 * and its offer when the story says, each retained at QoS 1 as a tend federation member does. Each
 * publish waits until the village has taken the message in, so what the village knows at a
 * simulated moment never depends on how fast the machine runs.
 */
export class SimNeighbour {
  private client: MqttClient | null = null;
  private nextHeartbeat = 0;

  constructor(
    readonly village: StoryNeighbour,
    private readonly broker: FederationBroker,
    private readonly clock: Clock,
    private readonly hearing: Hearing,
  ) {}

  async start(): Promise<void> {
    const id = this.village.id;
    this.client = await mqtt.connectAsync(this.broker.url, {
      clientId: `tend-${id}-federation`,
      username: id,
      password: this.broker.password(id),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      will: { topic: fedTopic(id, 'link'), payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline' })), qos: 1, retain: true },
    });
    await this.publish([
      ['link', { v: 1, state: 'online', at: this.iso() }],
      ['summary', this.summary()],
    ]);
    this.nextHeartbeat = this.clock.now() + NEIGHBOUR_HEARTBEAT_MS;
  }

  /** The summary again when its heartbeat is due. */
  async tick(): Promise<void> {
    if (!this.client || this.clock.now() < this.nextHeartbeat) return;
    while (this.nextHeartbeat <= this.clock.now()) this.nextHeartbeat += NEIGHBOUR_HEARTBEAT_MS;
    await this.publish([['summary', this.summary()]]);
  }

  /** What the story has it say: an offer with what it counts, or that the offer is withdrawn. */
  async say(news: NeighbourNews): Promise<void> {
    const at = this.iso();
    const offer: FedOffer =
      'withdrawn' in news
        ? { v: 1, at, text: null, withdrawn: true, source: 'edited' }
        : { v: 1, at, text: news.offer, withdrawn: false, source: 'edited', ...quantities(news) };
    await this.publish([['offer', offer]]);
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    await c
      .publishAsync(fedTopic(this.village.id, 'link'), JSON.stringify({ v: 1, state: 'offline', at: this.iso() }), { qos: 1, retain: true })
      .catch(() => undefined);
    await c.endAsync().catch(() => undefined);
  }

  private summary(): FedSummary {
    const n = this.village;
    return {
      v: 1,
      at: this.iso(),
      name: n.name,
      population: n.population,
      water_days_current: n.water_days_current,
      water_days_minimum: n.water_days_minimum,
      water_percent: n.water_percent,
      water_status: 'ok',
      power_hours_left: n.power_hours_left,
      power_soc_percent: n.power_soc_percent,
      power_status: 'ok',
      cold_at_risk: 0,
      cold_status: 'ok',
      weather_status: 'ok',
      sensors_online: 6,
      sensors_total: 6,
    };
  }

  /** Publish retained at QoS 1 and wait until the village has taken each message in. */
  private async publish(news: [FedKind, object][]): Promise<void> {
    const c = this.client;
    if (!c) throw new Error(`${this.village.name} is not connected to the federation`);
    const before = this.hearing.metrics().received;
    for (const [kind, body] of news) await c.publishAsync(fedTopic(this.village.id, kind), JSON.stringify(body), { qos: 1, retain: true });
    const deadline = Date.now() + HEAR_TIMEOUT_MS;
    while (this.hearing.metrics().received < before + news.length) {
      if (Date.now() > deadline) throw new Error(`the village did not hear ${this.village.name}'s news`);
      await new Promise((r) => setImmediate(r));
    }
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function quantities(news: Exclude<NeighbourNews, { withdrawn: true }>): Partial<FedOffer> {
  const out: Partial<FedOffer> = {};
  for (const k of QUANTITY_KINDS) if (news[k] !== undefined) out[k] = news[k];
  return out;
}
