// A tiny stand-in for the village web server: serves the real page files from services/web/page
// and fixture JSON for the APIs, with an SSE stream the test controls. Lets the page be tested
// in Chromium without the whole village; page.village.test.ts runs the page against the real one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AssemblyPrompt, Alert, LinkStatus, ReserveStatus, SensorHealth } from '../../../core/types.ts';

export const PAGE_DIR = join(import.meta.dirname, '../../../services/web/page');
const TYPES: Record<string, string> = {
  '/': 'text/html; charset=utf-8',
  '/app.js': 'text/javascript; charset=utf-8',
  '/icons.js': 'text/javascript; charset=utf-8',
  '/style.css': 'text/css; charset=utf-8',
};

export interface FixtureState {
  status: ReserveStatus;
  sensors: SensorHealth[];
  links: LinkStatus[];
  alerts: Alert[];
  prompts: AssemblyPrompt[];
  federation: unknown | null;
  history: Record<string, { ts: number; value: number }[]>;
}

export interface FixtureServer {
  url: string;
  state: FixtureState;
  token: string;
  posts: { path: string; auth: string | undefined; body: unknown }[];
  /** send one SSE event to every open stream */
  push(event: 'status' | 'alert' | 'assembly', data: unknown): void;
  /** end every open stream (the page should reconnect) */
  dropStreams(): void;
  streams(): number;
  /**
   * Hold the answers to GET `path` from now on: each is made when asked (the state as it was) and
   * sent only when `release()` is called, as a slow network delivers an old answer late.
   * `letNewThrough()` answers later requests at once while the held ones still wait, so a newer
   * answer can overtake them.
   */
  hold(path: string): { asked(): number; release(): void; letNewThrough(): void };
  close(): Promise<void>;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function fixtureStatus(now: number): ReserveStatus {
  return {
    village: { id: 'ashgrove', name: 'Ashgrove', population: 180 },
    at: iso(now),
    water: {
      liters: 30_800,
      capacity_liters: 53_133,
      percent: 58,
      draw_lph: 140,
      days_left_current: 9.2,
      days_left_minimum: 11.4,
      status: 'ok',
      tanks: [
        {
          id: 'north',
          name: 'North tank',
          liters: 9_876,
          capacity_liters: 12_566,
          percent: 78.6,
          level_mm: 1288,
          status: 'ok',
          last_seen: iso(now - 12_000),
          stale: false,
        },
        {
          id: 'school',
          name: 'School tank',
          liters: 5_432,
          capacity_liters: 10_800,
          percent: 50.3,
          level_mm: 905,
          status: 'ok',
          last_seen: iso(now - 4_000),
          stale: false,
        },
        {
          id: 'hill',
          name: 'Hill cistern',
          liters: 15_500,
          capacity_liters: 19_000,
          percent: 81.6,
          level_mm: 1660,
          status: 'ok',
          last_seen: iso(now - 14 * 60_000),
          stale: true,
        },
      ],
    },
    power: {
      soc_percent: 64,
      stored_kwh: 38.4,
      usable_kwh: 26.4,
      load_w: 2400,
      solar_w: 3100,
      net_w: 700,
      hours_left: 11,
      voltage_v: 51.8,
      status: 'ok',
      stale: false,
    },
    cold: {
      status: 'watch',
      units: [
        {
          id: 'fridge-kitchen',
          name: 'Kitchen fridge',
          temp_c: 6.2,
          safe_max_c: 5,
          minutes_above_safe: 22,
          door_open: null,
          status: 'watch',
          last_seen: iso(now - 3_000),
          stale: false,
        },
        {
          id: 'freezer',
          name: 'Community freezer',
          temp_c: -19,
          safe_max_c: -15,
          minutes_above_safe: 0,
          door_open: false,
          status: 'ok',
          last_seen: iso(now - 3_000),
          stale: false,
        },
      ],
    },
    weather: { pressure_hpa: 1004, pressure_tendency_hpa_3h: -4.2, wind_ms: 9.5, gust_ms: 18.3, rain_mm: 2, status: 'watch', stale: false },
    sensors: { online: 14, total: 15, stale: ['hill'], rejected_total: 3 },
    alerts: [],
    assembly: [],
  };
}

export function fixtureSensors(now: number): SensorHealth[] {
  return [
    {
      id: 'north',
      name: 'North tank',
      device: 'tank-north',
      kind: 'tank_distance',
      value: 9876,
      raw: 812,
      last_seen: iso(now - 12_000),
      stale: false,
      device_online: true,
    },
    {
      id: 'school',
      name: 'School tank',
      device: 'tank-school',
      kind: 'tank_pressure',
      value: 5432,
      raw: 8.9,
      last_seen: iso(now - 4_000),
      stale: false,
      device_online: true,
    },
    {
      id: 'hill',
      name: 'Hill cistern',
      device: 'tank-hill',
      kind: 'tank_level',
      value: 15500,
      raw: 1660,
      last_seen: iso(now - 14 * 60_000),
      stale: true,
      device_online: null,
    },
    {
      id: 'battery',
      name: 'Battery bank',
      device: 'power-shed',
      kind: 'battery_soc',
      value: 64,
      raw: 64,
      last_seen: iso(now - 2_000),
      stale: false,
      device_online: true,
    },
  ];
}

/** A firing alert as the stream sends it. */
export function fixtureAlert(id: string, severity: 'watch' | 'warning' | 'critical', title: string, now = Date.now()): Alert {
  return {
    id,
    rule: 'x',
    subject: 'y',
    domain: 'water',
    severity,
    state: 'firing',
    title,
    detail: '',
    value: null,
    started_at: iso(now),
    fired_at: iso(now),
    resolved_at: null,
    incident_id: null,
  };
}

export function fixturePrompt(now: number, over: Partial<AssemblyPrompt> = {}): AssemblyPrompt {
  return {
    id: 'p-1',
    incident_id: 'i-1',
    status: 'open',
    exercise: false,
    version: 1,
    opened_at: iso(now - 60_000),
    updated_at: iso(now - 30_000),
    closed_at: null,
    headline: 'Storm damage: North tank losing water, power unstable',
    situation: [
      { at: iso(now - 3 * 3600_000), text: 'Pressure fell 6.1 hPa in 3 hours.' },
      { at: iso(now - 40 * 60_000), text: 'North tank dropped 2,100 L in 20 minutes.' },
    ],
    damaged: ['North tank (losing water far faster than use)'],
    working: ['School tank', 'Hill cistern', 'Kitchen fridge'],
    urgent: ['Battery bank: about 9 hours left at current load'],
    can_wait: ['Clinic fridge is within its safe range'],
    reserves: { water_days_current: 3.1, water_days_minimum: 8.6, power_hours_left: 9, cold_units_at_risk: ['Kitchen fridge'] },
    neighbours: [{ village: 'Millbrook', offer: 'two people for pipe repair', heard_at: iso(now - 600_000) }],
    questions: ['Could the kitchens share the school tank?', 'Who can check the north tank pipe today?'],
    notes: [],
    ...over,
  };
}

export async function startFixtureServer(opts: { now?: number; port?: number } = {}): Promise<FixtureServer> {
  const now = opts.now ?? Date.now();
  const state: FixtureState = {
    status: fixtureStatus(now),
    sensors: fixtureSensors(now),
    links: [
      { name: 'embedded broker', kind: 'broker', state: 'listening', last_error: null, since: iso(now - 3600_000) },
      { name: 'shed serial', kind: 'serial', state: 'reconnecting', last_error: 'ENOENT /dev/ttyUSB0', since: iso(now - 120_000) },
    ],
    alerts: [],
    prompts: [],
    federation: {
      village: 'ashgrove',
      connected: true,
      own: { offer: '4,000 L of water', offer_source: 'computed', withdrawn: false, configured: true },
      neighbours: [
        {
          village: 'Millbrook',
          heard_at: iso(now - 90_000),
          water_days_current: 12.5,
          water_days_minimum: 20,
          power_hours_left: 30,
          cold_at_risk: [],
          incident_open: false,
          offer: 'two people for pipe repair',
        },
      ],
    },
    history: {
      north: Array.from({ length: 100 }, (_, i) => ({ ts: now - (100 - i) * 5 * 60_000, value: 11_000 - i * 10 })),
    },
  };
  const token = 'fixture-token-123';
  const posts: FixtureServer['posts'] = [];
  const clients = new Set<ServerResponse>();
  const holds = new Map<string, { waiting: (() => void)[]; asked: number }>();
  const send = (res: ServerResponse, code: number, text: string) => {
    res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  };
  const json = (res: ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    const held = holds.get(new URL(res.req.url ?? '/', 'http://x').pathname);
    if (res.req.method !== 'GET' || !held) return send(res, code, text);
    held.asked++;
    held.waiting.push(() => send(res, code, text));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c) => {
        s += c;
      });
      req.on('end', () => resolve(s));
    });

  const server: Server = createServer(async (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const p = u.pathname;
    if (req.method === 'GET' && TYPES[p]) {
      const file = p === '/' ? 'index.html' : p.slice(1);
      res.writeHead(200, { 'content-type': TYPES[p], 'cache-control': 'no-store' });
      res.end(readFileSync(join(PAGE_DIR, file)));
      return;
    }
    if (p === '/api/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 500\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (req.method === 'GET' && p === '/api/status') return json(res, 200, state.status);
    if (req.method === 'GET' && p === '/api/sensors') return json(res, 200, { sensors: state.sensors, links: state.links });
    if (req.method === 'GET' && p === '/api/alerts') return json(res, 200, state.alerts);
    if (req.method === 'GET' && p === '/api/assembly') return json(res, 200, state.prompts);
    if (req.method === 'GET' && p === '/api/federation') {
      return state.federation ? json(res, 200, state.federation) : json(res, 404, { error: 'federation off' });
    }
    if (req.method === 'GET' && p === '/api/history') {
      const sensor = u.searchParams.get('sensor') ?? '';
      return json(res, 200, { sensor, points: state.history[sensor] ?? [] });
    }
    const m = /^\/api\/assembly\/([^/]+)\/notes$/.exec(p);
    if (req.method === 'POST' && (m || p === '/api/drill' || p === '/api/federation/offer')) {
      const raw = await readBody(req);
      let body: unknown = null;
      try {
        body = JSON.parse(raw);
      } catch {
        /* keep null */
      }
      posts.push({ path: p, auth: req.headers.authorization, body });
      if (req.headers.authorization !== `Bearer ${token}`) return json(res, 401, { error: 'bad token' });
      if (m) {
        const prompt = state.prompts.find((x) => x.id === decodeURIComponent(m[1]));
        if (!prompt) return json(res, 404, { error: 'no such prompt' });
        const b = body as { author: string; text: string };
        prompt.notes = [...prompt.notes, { at: iso(Date.now()), author: b.author, text: b.text }];
        prompt.updated_at = iso(Date.now());
        for (const c of clients) c.write(`event: assembly\ndata: ${JSON.stringify(prompt)}\n\n`);
        return json(res, 201, prompt);
      }
      if (p === '/api/federation/offer') {
        const b = body as { offer?: string | null; withdrawn?: boolean };
        const fed = state.federation as { own: { offer: string | null; offer_source: string; withdrawn: boolean } };
        fed.own = {
          ...fed.own,
          offer: b.withdrawn ? null : (b.offer ?? 'computed offer'),
          offer_source: b.offer ? 'edited' : 'computed',
          withdrawn: !!b.withdrawn,
        };
        return json(res, 200, state.federation);
      }
      return json(res, 202, { ok: true });
    }
    json(res, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    token,
    posts,
    push(event, data) {
      if (event === 'status') state.status = data as ReserveStatus;
      for (const c of clients) c.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    dropStreams() {
      for (const c of clients) c.destroy();
      clients.clear();
    },
    streams: () => clients.size,
    hold(path) {
      const held = { waiting: [] as (() => void)[], asked: 0 };
      holds.set(path, held);
      return {
        asked: () => held.asked,
        release() {
          holds.delete(path);
          for (const answer of held.waiting.splice(0)) answer();
        },
        letNewThrough() {
          holds.delete(path);
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
