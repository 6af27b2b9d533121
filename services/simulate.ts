// `tend simulate`: replays a scenario file through the real pipeline on a simulated clock.
// A village starts on a temp storage dir with the embedded broker on a free port; each scenario
// device is a real MQTT client that logs in with its own id and secret; each line is published
// at its time (QoS 1, so the PUBACK says the reading is in), the clock is advanced, and the
// status and rules run as they would live. Output: a readable timeline in the village's time zone,
// or with --json one JSON object a line per alert, incident and assembly change (with
// --status-every, the status at a fixed simulated cadence too) and a final status
// (docs/architecture.md, "CLI"). `storm` adds the people's story (services/assembly/story.ts) and
// its neighbouring village: the village's federation then runs on a broker of this run's own, where
// the neighbour publishes its news on the simulated clock (simulate-neighbours.ts).
import { SCENARIO_DIR } from '../core/paths.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { topics } from '../firmware-bridge/protocol/topics.ts';
import { fmt, localParts } from '../core/format.ts';
import type { Alert, AssemblyPrompt, Clock, Incident, ReserveStatus } from '../core/types.ts';
import { startVillage, type Village } from './village.ts';
import { runStory, STORM_NEIGHBOURS, STORM_STORY, type StoryNeighbour, type StoryStep, type StoryWorld } from './assembly/story.ts';
import type { FederationBroker, SimNeighbour } from './simulate-neighbours.ts';

export const STORM_DIR = SCENARIO_DIR;
export const STORM_CONFIG = join(STORM_DIR, 'storm.yaml');
export const STORM_SCENARIO = join(STORM_DIR, 'storm.jsonl');
/** simulated time starts here unless --start says otherwise (fixed, so runs are comparable) */
export const DEFAULT_START = '2026-11-20T00:00:00Z';

export type ScenarioLine =
  | { t: number; device: string; reading: Record<string, number>; line: number }
  | { t: number; device: string; status: 'online' | 'offline'; line: number };

export class ScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ScenarioError';
  }
}

/** Parse a scenario file; every problem comes back as `FILE:LINE: message`. */
export function parseScenario(text: string, file: string, config: Config): ScenarioLine[] {
  const out: ScenarioLine[] = [];
  const problems: string[] = [];
  const devices = new Set(config.devices.map((d) => d.id));
  let lastT = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const where = `${file}:${i + 1}`;
    const s = raw.trim();
    if (!s) continue;
    if (problems.length >= 20) continue;
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch {
      problems.push(`${where}: not JSON`);
      continue;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) {
      problems.push(`${where}: expected a JSON object`);
      continue;
    }
    const r = o as Record<string, unknown>;
    if (typeof r.t !== 'number' || !Number.isFinite(r.t) || r.t < 0) {
      problems.push(`${where}: "t" is seconds from the start, a number ≥ 0`);
      continue;
    }
    if (r.t < lastT) {
      problems.push(`${where}: out of time order (t ${r.t} after ${lastT})`);
      continue;
    }
    lastT = r.t;
    if (typeof r.device !== 'string' || !devices.has(r.device)) {
      problems.push(`${where}: unknown device ${JSON.stringify(r.device)} (not in the config's devices)`);
      continue;
    }
    if ('status' in r) {
      if (r.status !== 'online' && r.status !== 'offline') {
        problems.push(`${where}: status is "online" or "offline"`);
        continue;
      }
      out.push({ t: r.t, device: r.device, status: r.status, line: i + 1 });
    } else if (r.reading && typeof r.reading === 'object' && !Array.isArray(r.reading)) {
      const reading = r.reading as Record<string, unknown>;
      const bad = Object.entries(reading).find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad) {
        problems.push(`${where}: reading.${bad[0]} is not a finite number`);
        continue;
      }
      out.push({ t: r.t, device: r.device, reading: reading as Record<string, number>, line: i + 1 });
    } else {
      problems.push(`${where}: a line has "reading": {metric: number, …} or "status": "online"|"offline"`);
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  if (!out.length) throw new ScenarioError([`${file}: no scenario lines`]);
  return out;
}

/** The simulated clock: moves only when the runner says. */
export class SimClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(ms: number): void {
    if (ms > this.t) this.t = ms;
  }
}

export interface SimOptions {
  config: string;
  scenario: string;
  speed: number | null;
  json: boolean;
  start: number;
  tickS: number;
  /** with --json: a status line every this many simulated seconds (null: only the final one) */
  statusEveryS?: number | null;
  storage: string | null;
  verbose: boolean;
  /** serve the page and API on a free port (tests compare prompts with /api/status) */
  web?: boolean;
  /** awaited after each status compute that changed a prompt, before the clock moves on */
  afterPromptChange?: (village: Village, prompts: AssemblyPrompt[]) => Promise<void>;
  /** what people do with the assembly's tool at simulated times (`storm`: the founding text's fortnight); then the record is printed */
  story?: StoryStep[];
  /**
   * neighbouring villages the story has (`storm`: Millbrook): the village's federation then runs on
   * a broker in this process, and each neighbour publishes its news there on the simulated clock
   */
  neighbours?: StoryNeighbour[];
}

const USAGE = `usage:
  tend simulate storm [--speed N] [--json]
  tend simulate --config FILE --scenario FILE.jsonl [--speed N] [--json]
options:
  --speed N     simulated seconds per real second (default: the whole scenario in about a minute;
                0 = as fast as the pipeline goes)
  --json        one JSON object a line per alert, incident and assembly change, then the status
  --start ISO   simulated start time (default ${DEFAULT_START})
  --tick S      run the rules every S simulated seconds between readings (default 60)
  --status-every S
                with --json: also the status every S simulated seconds, as {"t", "event": "status", …}
  --storage DIR keep the simulated village's SQLite here instead of a temp dir
  --verbose     also print the village's log lines
`;

function parseArgs(args: string[]): SimOptions | string {
  const o: SimOptions = {
    config: '',
    scenario: '',
    speed: null,
    json: false,
    start: Date.parse(DEFAULT_START),
    tickS: 60,
    statusEveryS: null,
    storage: null,
    verbose: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === 'storm') {
        o.config ||= STORM_CONFIG;
        o.scenario ||= STORM_SCENARIO;
        o.story = STORM_STORY;
        o.neighbours = STORM_NEIGHBOURS;
      } else if (a === '--config') o.config = val();
      else if (a === '--scenario') o.scenario = val();
      else if (a === '--json') o.json = true;
      else if (a === '--verbose') o.verbose = true;
      else if (a === '--storage') o.storage = val();
      else if (a === '--speed') {
        const n = Number(val());
        if (!Number.isFinite(n) || n < 0) return '--speed is a number ≥ 0 (simulated seconds per real second; 0 = as fast as possible)';
        o.speed = n;
      } else if (a === '--tick') {
        const n = Number(val());
        if (!Number.isFinite(n) || n < 1) return '--tick is a number of seconds ≥ 1';
        o.tickS = n;
      } else if (a === '--status-every') {
        const n = Number(val());
        if (!Number.isFinite(n) || n < 1) return '--status-every is a number of seconds ≥ 1';
        o.statusEveryS = n;
      } else if (a === '--start') {
        const n = Date.parse(val());
        if (!Number.isFinite(n)) return '--start is an ISO-8601 time';
        o.start = n;
      } else return `unknown argument ${a}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (!o.config || !o.scenario) return 'name a scenario: `storm`, or --config FILE --scenario FILE.jsonl';
  if (o.statusEveryS && !o.json) return '--status-every adds JSON lines: use it with --json';
  return o;
}

/** Run `tend simulate …`; returns the exit code (0 ok, 1 failure, 2 usage/config/scenario error). */
export async function runSimulate(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    out.write(`tend simulate: ${parsed}\n${USAGE}`);
    return 2;
  }
  const o = parsed;
  let config: Config;
  let lines: ScenarioLine[];
  try {
    config = loadConfig(o.config);
    let text: string;
    try {
      text = readFileSync(o.scenario, 'utf8');
    } catch (err) {
      throw new ScenarioError([`${o.scenario}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
    lines = parseScenario(text, o.scenario, config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ScenarioError) {
      out.write(`${err instanceof ConfigError ? err.problems.join('\n') : err.message}\n`);
      return 2;
    }
    throw err;
  }
  const missing = [...new Set(lines.map((l) => l.device))].filter((d) => !config.devices.find((x) => x.id === d)?.secret);
  if (missing.length && !('embedded' in config.broker && config.broker.embedded.allow_anonymous)) {
    out.write(`tend simulate: devices ${missing.join(', ')} have no plain secret in the config; simulated devices log in with it\n`);
    return 2;
  }
  const sim = new Simulation(config, lines, o, out);
  try {
    return await sim.run();
  } finally {
    await sim.close();
  }
}

export class Simulation {
  private clock: SimClock;
  private village: Village | null = null;
  private clients = new Map<string, MqttClient>();
  private tmp: string | null = null;
  private incidents = new Map<string, Incident>();
  private lastAlertState = new Map<string, string>();
  private logs: string[] = [];
  private fedBroker: FederationBroker | null = null;
  private readonly neighbours = new Map<string, SimNeighbour>();
  private changedPrompts: AssemblyPrompt[] = [];
  private readonly storyDone = new Set<StoryStep>();
  private readonly promptIds = new Set<string>();
  /** each prompt's questions as last printed, so an update shows only the new ones */
  private readonly asked = new Map<string, Set<string>>();
  /** simulated ms of the next --status-every line (Infinity: none) */
  private nextSample = Infinity;

  constructor(
    private readonly config: Config,
    private readonly lines: ScenarioLine[],
    private readonly o: SimOptions,
    private readonly out: NodeJS.WritableStream,
  ) {
    this.clock = new SimClock(o.start);
  }

  private t(): number {
    return Math.round((this.clock.now() - this.o.start) / 1000);
  }

  private write(s: string): void {
    this.out.write(s);
  }

  async run(): Promise<number> {
    const o = this.o;
    const config: Config = structuredClone(this.config);
    // the simulated village never touches a real one: its own broker on a free port, no web
    const allowAnon = 'embedded' in config.broker ? config.broker.embedded.allow_anonymous : false;
    config.broker = { embedded: { host: '127.0.0.1', port: 0, allow_anonymous: allowAnon } };
    config.alerts.webhooks = [];
    config.alerts.speech = false;
    delete config.influx;
    delete config.federation;
    // the story's neighbours: the real federation, on a broker of this run's own (loaded only then)
    const kit = o.neighbours?.length ? await import('./simulate-neighbours.ts') : null;
    if (kit && o.neighbours) {
      const fed = (this.fedBroker = await kit.startFederationBroker([config.village.id, ...o.neighbours.map((n) => n.id)]));
      config.federation = { url: fed.url, password: fed.password(config.village.id) };
    }
    const dir = o.storage ?? (this.tmp = mkdtempSync(join(tmpdir(), 'tend-simulate-')));
    config.storage.dir = dir;
    config.web.token_file = join(dir, 'web-token');
    const village = await startVillage({
      config,
      clock: this.clock,
      storageDir: dir,
      brokerPort: 0,
      web: !!o.web,
      webPort: 0,
      // the runner computes every status itself, after each batch of readings is in and at each
      // tick; no timer-driven compute sees half a batch
      tick: false,
      statusThrottleMs: 2 ** 31 - 1,
      federationConnect: kit?.connect311,
      log: (m) => (o.verbose ? this.write(`  [village] ${m}\n`) : this.logs.push(m)),
    });
    this.village = village;
    const speed = o.speed ?? Math.max(1, this.lines.at(-1)!.t / 60);
    if (speed === 0) {
      // As fast as the pipeline goes: a QoS 1 PUBACK waits for the group commit, which waits
      // a few ms for more rows to join it (and 30 ms after the one before); the runner waits for
      // every PUBACK of a batch, so each batch would wait that long. Here the runner commits on
      // the next turn after ingest took a message instead (results are the same: it computes the
      // status only once all are acked).
      let queued = false;
      const commitNext = () => {
        if (queued) return;
        queued = true;
        setImmediate(() => {
          queued = false;
          if (this.village) village.storage.commitNow();
        });
      };
      for (const e of ['reading', 'reject', 'device'] as const) village.events.on(e, commitNext, 'simulate');
    }
    village.events.on('alert', (a) => this.onAlert(a));
    village.events.on('incident', (i) => this.onIncident(i));
    village.events.on('assembly', (p) => {
      this.changedPrompts.push(structuredClone(p));
      if (!p.exercise) this.promptIds.add(p.id);
      this.onAssembly(p);
    });

    const last = this.lines.at(-1)!.t;
    if (!o.json) {
      this.write(
        `Simulating ${this.config.village.name} (${this.config.village.population} people): ${this.lines.length} readings over ${describeSpan(last)}` +
          `${speed > 0 ? `, ${fmt(speed)}× real time` : ', as fast as possible'}; times in ${this.config.village.timezone}\n\n`,
      );
    }
    if (o.json && o.statusEveryS) this.nextSample = o.start;

    // devices: real MQTT clients with their own credentials and an `offline` will (mqtt.js is
    // loaded here, so a village that runs without simulating never loads it)
    const { default: mqtt } = await import('mqtt');
    for (const id of new Set(this.lines.map((l) => l.device))) {
      const d = this.config.devices.find((x) => x.id === id)!;
      const status = topics.status(this.config.village.id, id);
      const c = await mqtt.connectAsync(village.brokerUrl, {
        // a client id belongs to its account (`<id>-…`); an anonymous one stays outside every device's
        clientId: d.secret ? `${id}-sim` : `sim-${id}`,
        username: d.secret ? id : undefined,
        password: d.secret,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        will: { topic: status, payload: Buffer.from('offline'), retain: true, qos: 1 },
      });
      this.clients.set(id, c);
      await c.publishAsync(status, 'online', { retain: true, qos: 1 });
    }

    if (kit && village.federation && this.fedBroker && o.neighbours) {
      await connected(village);
      for (const n of o.neighbours) {
        const sim = new kit.SimNeighbour(n, this.fedBroker, this.clock, village.federation);
        this.neighbours.set(n.id, sim);
        await sim.start();
      }
    }

    const wallStart = Date.now();
    const tickMs = o.tickS * 1000;
    let i = 0;
    while (i < this.lines.length) {
      const t = this.lines[i]!.t;
      // between readings the rules still run (hold times, staleness), as the village's tick would;
      // a --status-every time between ticks only reads the status of that moment, so the lines
      // it adds change nothing else (the rules run at the same times with or without it)
      const target = o.start + t * 1000;
      let nextTick = this.clock.now() + tickMs;
      for (;;) {
        const next = Math.min(nextTick, this.nextSample);
        if (next >= target) break;
        this.clock.set(next);
        if (next === nextTick) {
          nextTick += tickMs;
          this.sample(next, await this.refresh(village));
        } else {
          this.sample(next, statusNow(village));
        }
      }
      if (speed > 0) {
        const due = wallStart + (t * 1000) / speed;
        const wait = due - Date.now();
        if (wait > 5) await new Promise((r) => setTimeout(r, wait));
      }
      this.clock.set(target);
      const batch: Promise<unknown>[] = [];
      for (; i < this.lines.length && this.lines[i]!.t === t; i++) {
        const l = this.lines[i]!;
        const c = this.clients.get(l.device)!;
        if ('status' in l) batch.push(c.publishAsync(topics.status(this.config.village.id, l.device), l.status, { retain: true, qos: 1 }));
        else batch.push(c.publishAsync(topics.reading(this.config.village.id, l.device), JSON.stringify(l.reading), { qos: 1 }));
      }
      // QoS 1: the broker acknowledges once ingest has the reading (and it is durable)
      await Promise.all(batch);
      this.sample(target, await this.refresh(village));
    }
    const status = await this.refresh(village);
    this.finish(status);
    return 0;
  }

  /** With --status-every: the status line when `at` is the next sample time. */
  private sample(at: number, status: ReserveStatus): void {
    if (at !== this.nextSample) return;
    this.nextSample += this.o.statusEveryS! * 1000;
    this.emitJson('status', status);
  }

  private async refresh(village: Village): Promise<ReserveStatus> {
    // the neighbours' heartbeats due by now are heard before the status is judged
    for (const n of this.neighbours.values()) await n.tick();
    const status = village.refresh();
    if (this.o.story) await this.tellStory(village);
    const changed = this.changedPrompts;
    this.changedPrompts = [];
    if (changed.length && this.o.afterPromptChange) await this.o.afterPromptChange(village, changed);
    return status;
  }

  // ---- output

  private emitJson(event: string, obj: object): void {
    this.write(`${JSON.stringify({ t: this.t(), event, ...obj })}\n`);
  }

  private stamp(): string {
    return this.stampOf(this.clock.now());
  }

  private stampOf(at: string | number): string {
    return shortStamp(at, this.o.start, this.config.village.timezone);
  }

  private onAlert(a: Alert): void {
    if (this.o.json) return this.emitJson('alert', a);
    const prev = this.lastAlertState.get(a.id);
    const key = `${a.state}/${a.severity}`;
    this.lastAlertState.set(a.id, key);
    if (a.state === 'pending') return;
    if (a.state === 'resolved') {
      if (!prev || prev.startsWith('pending')) return;
      this.write(`${this.stamp()}  ended     ${a.title}\n`);
      return;
    }
    const word = prev?.startsWith('firing') ? 'now' : 'ALERT';
    this.write(`${this.stamp()}  ${word.padEnd(8)}  [${a.severity}] ${a.title}\n`);
  }

  private onIncident(i: Incident): void {
    if (this.o.json) return this.emitJson('incident', i);
    const prev = this.incidents.get(i.id);
    this.incidents.set(i.id, structuredClone(i));
    if (!prev) this.write(`${this.stamp()}  incident  ${i.id} opened${i.exercise ? ' (exercise)' : ''}\n`);
    if (i.crisis && !prev?.crisis) this.write(`${this.stamp()}  CRISIS    ${i.id} is a crisis: ${i.domains.join(', ')} affected together\n`);
    if (i.closed_at && !prev?.closed_at) this.write(`${this.stamp()}  incident  ${i.id} closed\n`);
  }

  private readonly printedVersion = new Map<string, number>();
  /** each prompt's neighbours' offers and needs as last printed, so an update shows them when they change */
  private readonly printedNeighbours = new Map<string, string>();

  private onAssembly(p: AssemblyPrompt): void {
    if (this.o.json) return this.emitJson('assembly', p);
    const list = (title: string, items: string[]) => (items.length ? `    ${title}:\n${items.map((x) => `      - ${x}\n`).join('')}` : '');
    const r = p.reserves;
    const reserves =
      `    reserves: water ${r.water_days_current === null ? '?' : fmt(r.water_days_current, 1)} days at current use, ` +
      `${r.water_days_minimum === null ? '?' : fmt(r.water_days_minimum, 1)} days at minimum use; power ${r.power_hours_left === null ? '?' : fmt(r.power_hours_left, 1)} hours; ` +
      `cold units at risk: ${r.cold_units_at_risk.join(', ') || 'none'}\n`;
    if (p.status === 'closed') {
      this.write(`${this.stamp()}  ALL CLEAR ${p.headline} (prompt ${p.id}, v${p.version}; CAP Cancel)\n${list('still working', p.working)}${reserves}\n`);
      return;
    }
    // a take or release changes who holds what without a new version: the PEOPLE line says it
    if (this.printedVersion.get(p.id) === p.version) return;
    this.printedVersion.set(p.id, p.version);
    const head = p.version === 1 ? 'ASSEMBLY  prompt opened' : `update    prompt v${p.version}`;
    const before = this.asked.get(p.id) ?? new Set<string>();
    this.asked.set(p.id, new Set(p.questions));
    const neighbours = JSON.stringify(p.neighbours.map((n) => [n.village, n.offer, n.need ?? null]));
    const neighboursChanged = (this.printedNeighbours.get(p.id) ?? '[]') !== neighbours;
    this.printedNeighbours.set(p.id, neighbours);
    this.write(`${this.stamp()}  ${head}: ${p.headline}\n`);
    if (p.version === 1) {
      this.write(
        list(
          'situation',
          p.situation.map((s) => `${this.stampOf(s.at)}  ${s.text}`),
        ) +
          list('damaged', p.damaged) +
          list('still working', p.working) +
          list('urgent (within a day)', p.urgent) +
          list('can wait', p.can_wait) +
          reserves +
          list('neighbours offer', p.neighbours.map(neighbourLine)) +
          list('questions for the assembly', p.questions) +
          list(
            'notes',
            p.notes.map((n) => `${n.author}: ${n.text}`),
          ) +
          '\n',
      );
    } else {
      const latest = p.situation.at(-1);
      // questions that are new in this version: unheld items, rest, a plan that no longer fits
      const fresh = p.questions.filter((q) => !before.has(q));
      this.write(
        (latest ? `    latest: ${this.stampOf(latest.at)}  ${latest.text}\n` : '') +
          list('damaged', p.damaged) +
          list('urgent (within a day)', p.urgent) +
          reserves +
          (neighboursChanged ? neighboursText(p, list) : '') +
          list('new questions', fresh) +
          list(
            'decided',
            (p.decisions ?? []).slice(-1).map((d) => `${this.stampOf(d.at)}  ${d.by ? `${d.by}: ` : ''}${d.text}`),
          ) +
          '\n',
      );
    }
  }

  /** The people's steps due by now, through the assembly as the API calls it. */
  private async tellStory(village: Village): Promise<void> {
    const world: StoryWorld = {
      assembly: village.assembly,
      need: (body) => {
        if (!village.federation) throw new Error('this simulation runs without a federation');
        village.federation.setNeed(body);
      },
      neighbour: async (id, news) => {
        const n = this.neighbours.get(id);
        if (!n) throw new Error(`no neighbouring village ${id} in this simulation`);
        await n.say(news);
      },
    };
    for (const { step, error } of await runStory(this.o.story!, world, this.t(), this.storyDone)) {
      if (this.o.json) this.emitJson('story', { told: step.told, error });
      else this.write(`${this.stamp()}  PEOPLE    ${step.told}${error ? ` (not done: ${error})` : ''}\n\n`);
    }
  }

  private finish(s: ReserveStatus): void {
    // the record of each prompt the story lived through, as the recovery assembly reads it
    if (this.o.story) {
      for (const id of this.promptIds) {
        const record = this.village!.assembly.record(id);
        if (this.o.json) this.emitJson('record', record);
        else this.write(`\n${this.village!.assembly.recordMarkdown(id)}`);
      }
    }
    if (this.o.json) return this.emitJson('status', s);
    const w = s.water;
    this.write(
      `\n${this.stamp()}  end of scenario. Water ${fmt(w.liters ?? 0)} L (${fmt(w.percent ?? 0)}%), ` +
        `${w.days_left_minimum === null ? '?' : fmt(w.days_left_minimum, 1)} days at minimum use; battery ${fmt(s.power.soc_percent ?? 0)}%; ` +
        `${s.alerts.length} active alerts, ${s.assembly.length} open prompts; ${s.sensors.online} of ${s.sensors.total} sensors reporting.\n`,
    );
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) await c.endAsync(true).catch(() => undefined);
    this.clients.clear();
    for (const n of this.neighbours.values()) await n.stop();
    this.neighbours.clear();
    if (this.village) await this.village.stop();
    this.village = null;
    await this.fedBroker?.stop();
    this.fedBroker = null;
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = null;
  }
}

/** "Millbrook: a repair crew …", with what it needs when it said */
function neighbourLine(n: AssemblyPrompt['neighbours'][number]): string {
  const name = (n as { name?: string | null }).name ?? n.village;
  return `${name}: ${n.offer}${n.need ? ` (it needs ${n.need})` : ''}`;
}

/** The neighbours' offers as they now stand, and how long the water lasts with them. */
function neighboursText(p: AssemblyPrompt, list: (title: string, items: string[]) => string): string {
  if (!p.neighbours.length) return '    neighbours offer: nothing now\n';
  const withOffers = (p.options?.water.levels ?? []).filter((l) => l.days_with_offers !== null).map((l) => l.text);
  return list('neighbours offer', p.neighbours.map(neighbourLine)) + list("water with the neighbours' offers", withOffers);
}

/** Wait until the village's federation link is up (the broker is in this process: a moment). */
async function connected(v: Village): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (v.federation?.link().state !== 'connected') {
    if (Date.now() > deadline) throw new Error('the simulated federation did not connect');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The status at this moment without running the rules: the alerts and prompts as they stand. */
function statusNow(v: Village): ReserveStatus {
  return { ...v.reserve.status({ rejected_total: v.ingest.rejectedTotal }), alerts: v.alerts.alerts(), assembly: v.assembly.prompts() };
}

function describeSpan(s: number): string {
  return s >= 2 * 86400 ? `${fmt(s / 86400, 1)} days` : s >= 7200 ? `${fmt(s / 3600, 1)} hours` : `${fmt(s / 60)} minutes`;
}

/**
 * "day 1 03:27": simulated time as the village reads it, the time of day in its zone and the
 * day counted from the start's date there (the day turns at the village's midnight).
 */
function shortStamp(at: string | number, start: number, timeZone: string): string {
  const d = localParts(at, timeZone);
  const s = localParts(start, timeZone);
  const day = Math.round((Date.UTC(d.year, d.month - 1, d.day) - Date.UTC(s.year, s.month - 1, s.day)) / 86_400_000);
  return `day ${day} ${String(d.hour).padStart(2, '0')}:${String(d.minute).padStart(2, '0')}`;
}
