// The alert book and the assembly on a fake clock and a hand-driven World, recording everything
// they announce. `alerting` reads both the way the tests ask (alerts from the book, prompts, notes,
// CAP and drills from the assembly); each step is one judgement followed by the assembly, as the
// village's status loop runs it.
import type { ConfigInput } from '../../../config/schema.ts';
import { AlertBook } from '../../../services/alerts/book.ts';
import { Assembly } from '../../../services/assembly/assembly.ts';
import { VillageEventHub } from '../../../services/events.ts';
import { Storage } from '../../../services/storage.ts';
import type { Alert, AssemblyPrompt, Incident, NeighbourOffer, ReserveStatus } from '../../../core/types.ts';
import { FakeClock, World, type WorldVillage, worldConfig } from './world.ts';

export const MIN = 60_000;
export const HOUR = 3_600_000;

export interface Harness {
  clock: FakeClock;
  world: World;
  storage: Storage;
  events: VillageEventHub;
  book: AlertBook;
  assembly: Assembly;
  alerting: {
    alerts: AlertBook['alerts'];
    prompts: Assembly['prompts'];
    prompt: Assembly['prompt'];
    addNote: Assembly['addNote'];
    cap: Assembly['cap'];
    startDrill: Assembly['startDrill'];
  };
  alerts: Alert[];
  incidents: Incident[];
  prompts: AssemblyPrompt[];
  /** the status the world showed when each prompt event was emitted */
  promptStatus: ReserveStatus[];
  offers: NeighbourOffer[];
  /** advance the clock by `ms`, let every sensor report, evaluate */
  step(ms: number, change?: (w: World) => void): void;
  /** step every `every` ms for `total` ms, changing the world before each step */
  run(total: number, every: number, change?: (w: World, elapsed: number) => void): void;
  /** alerts announced for a rule, by id */
  ids(rule: string): string[];
  restart(): Harness;
}

export function harness(alerts?: ConfigInput['alerts'], opts: { dir?: string; clock?: FakeClock; world?: World; village?: WorldVillage } = {}): Harness {
  const clock = opts.clock ?? new FakeClock();
  const config = opts.world?.config ?? worldConfig(alerts, opts.village);
  const world = opts.world ?? new World(config, clock);
  const storage = new Storage(opts.dir ?? ':memory:');
  const events = new VillageEventHub();
  const offers: NeighbourOffer[] = [];
  const book = new AlertBook({ config, clock, storage, events });
  const assembly = new Assembly({ config, clock, storage, events, alerts: book, neighbours: () => offers });
  const alerting: Harness['alerting'] = {
    alerts: (o) => book.alerts(o),
    prompts: () => assembly.prompts(),
    prompt: (id) => assembly.prompt(id),
    addNote: (id, note) => assembly.addNote(id, note),
    cap: (id) => assembly.cap(id),
    startDrill: (o) => assembly.startDrill(o),
  };
  const h: Harness = {
    clock,
    world,
    storage,
    events,
    book,
    assembly,
    alerting,
    alerts: [],
    incidents: [],
    prompts: [],
    promptStatus: [],
    offers,
    step(ms, change) {
      clock.advance(ms);
      change?.(world);
      world.report();
      const status = world.status();
      assembly.follow(book.judge(status, world.sensors()), status);
    },
    run(total, every, change) {
      for (let e = every; e <= total; e += every) h.step(every, change ? (w) => change(w, e) : undefined);
    },
    ids(rule) {
      return [...new Set(h.alerts.filter((a) => a.rule === rule).map((a) => a.id))];
    },
    restart() {
      assembly.stop();
      book.stop();
      storage.close();
      return harness(alerts, { dir: opts.dir, clock, world, village: opts.village });
    },
  };
  events.on('alert', (a) => h.alerts.push(a));
  events.on('incident', (i) => h.incidents.push(i));
  events.on('assembly', (p) => {
    h.prompts.push(p);
    h.promptStatus.push(world.status());
  });
  book.start();
  assembly.start();
  return h;
}
