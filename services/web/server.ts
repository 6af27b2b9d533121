// The web page and HTTP API (docs/architecture.md, "HTTP API" and "The reserve status").
// Reads are open; write endpoints need the token (Authorization: Bearer …). Bodies are small and
// size-limited. The page is static files with no external resources, so it works offline.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { PAGE_DIR } from '../../core/paths.ts';
import { languageName, languages, pageWords } from '../../core/i18n.ts';
import { hostPort, listen } from '../../core/listen.ts';
import type { VillageEventHub } from '../events.ts';
import { MAX_URL_LENGTH, NOTE_LIMITS, SSE_LIMITS } from '../../core/limits.ts';
import { moduleLog, type Logger, type LogSink } from '../../core/log.ts';
import { autoHistory } from './history-span.ts';
import type { Alert, AssemblyPrompt, DeviceRefusal, LinkStatus, ManualReading, PromptNote, ReserveStatus, SensorHealth } from '../../core/types.ts';

const MAX_BODY = 16 * 1024;
/** an SSE client this far behind is cut off rather than buffered without bound */
const MAX_SSE_BACKLOG = 1024 * 1024;
/** what a 500 tells the client; the detail goes to the village log only */
const INTERNAL_ERROR = 'internal error; the details are in the village log';

/** What the web server reads from the village: a narrow interface, not the village itself. */
export interface WebSources {
  events: VillageEventHub;
  token: string;
  status(): ReserveStatus;
  sensors(): SensorHealth[];
  /** each device's last refusal by the embedded broker, shown with its sensors */
  lastRefusals?(): ReadonlyMap<string, DeviceRefusal>;
  links(): LinkStatus[];
  /** the last `hours` of a sensor on the village clock, means per `stepMs` (5 min); null for an unknown sensor */
  history(sensorId: string, hours: number, stepMs?: number): { ts: number; value: number }[] | null;
  /** the village clock (epoch ms), for the sparklines' span; the system clock without it */
  now?(): number;
  metrics: Registry;
  health(): { ok: boolean; [k: string]: unknown };
  alerts?: {
    alerts(): Alert[];
  };
  assembly?: {
    prompts(): AssemblyPrompt[];
    prompt(id: string): AssemblyPrompt | undefined;
    /** every note of a prompt (the prompt itself carries only the latest) */
    notes(id: string): PromptNote[];
    addNote(id: string, note: { author: string; text: string }): AssemblyPrompt;
    cap(id: string): string;
    /** when the exercise ends (epoch ms), or null while one is running */
    startDrill(): number | null;
    /** false when no exercise is running */
    stopDrill(): boolean;
    /** the assembly's own tool (docs/assembly.md); errors carry code not_found / closed / invalid */
    addDecision?(id: string, body: Record<string, unknown>): { decision: unknown; prompt: AssemblyPrompt };
    take?(id: string, item: string, body: Record<string, unknown>): AssemblyPrompt;
    release?(id: string, item: string, body: Record<string, unknown>): AssemblyPrompt;
    record?(id: string): unknown;
    recordMarkdown?(id: string): string;
  };
  federation?: {
    view(): unknown;
    /** `figures`: the body, for the quantities it may carry (water_liters, power_kwh, freezer_liters, hands) */
    setOffer(text: string | null, withdrawn?: boolean, figures?: Record<string, unknown>): void;
    /** the body as posted: {need: text or null, water_liters?, power_kwh?, freezer_liters?, hands?} */
    setNeed(body: Record<string, unknown>): void;
  };
  /** readings people enter (a dipstick, a meter); enter() throws an Error with a `reason` for bad input */
  manual?: {
    enter(body: Record<string, unknown>): ManualReading;
  };
  /** strapping a tank with the crew (services/strapping.ts); build() throws for points that cannot be a table */
  strapping?: {
    tanks(): unknown[];
    build(tankId: string | null, points: unknown): unknown;
  };
  log?: LogSink;
}

/** each sensor with its device's last refusal by the broker, when there is one */
function withRefusals(sensors: SensorHealth[], last: ReadonlyMap<string, DeviceRefusal> | undefined): SensorHealth[] {
  if (!last?.size) return sensors;
  return sensors.map((s) => {
    const r = last.get(s.device);
    return r ? { ...s, last_refusal: r } : s;
  });
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface WebOptions {
  host: string;
  port: number;
  tls?: { cert_file: string; key_file: string };
  /** live streams at most, in all and from one address (config web.sse_max_*; SSE_LIMITS by default) */
  sse?: { clients?: number; perAddress?: number };
}

export class WebServer {
  private server: Server | null = null;
  private readonly sse = new Set<ServerResponse>();
  /** open streams per client address, for the per-address cap */
  private readonly sseByAddress = new Map<string, number>();
  private readonly sseMax: { clients: number; perAddress: number };
  /** requests refused before any work: bad URLs, streams past the caps */
  private readonly refused: Counter<'reason'>;
  private readonly files = new Map<string, { body: Buffer; type: string }>();
  private readonly tokenDigest: Buffer;
  private readonly log: Logger;
  port = 0;
  url = '';

  constructor(
    private readonly src: WebSources,
    private readonly opts: WebOptions,
  ) {
    this.tokenDigest = createHash('sha256').update(src.token).digest();
    this.log = moduleLog(src.log, 'web');
    this.sseMax = { clients: opts.sse?.clients ?? SSE_LIMITS.clients, perAddress: opts.sse?.perAddress ?? SSE_LIMITS.perAddress };
    // one counter per registry: the village may build a second server when a port is taken
    this.refused =
      (src.metrics.getSingleMetric('tend_http_refused_total') as Counter<'reason'> | undefined) ??
      new Counter({
        name: 'tend_http_refused_total',
        help: 'HTTP requests refused before any work: bad_url, sse_address (too many streams from one address), sse_full',
        labelNames: ['reason'],
        registers: [src.metrics],
      });
  }

  async start(): Promise<void> {
    for (const [name, type] of [
      ['index.html', 'text/html; charset=utf-8'],
      ['app.js', 'text/javascript; charset=utf-8'],
      ['icons.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['strap.html', 'text/html; charset=utf-8'],
      ['strap.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      try {
        this.files.set(name, { body: readFileSync(join(PAGE_DIR, name)), type });
      } catch {
        this.files.set(name, {
          body: Buffer.from(name === 'index.html' ? '<!doctype html><title>tend</title><p>The page files are missing; the API is at /api/status.' : ''),
          type,
        });
      }
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: unknown) => this.fail(req, res, err));
    };
    // https is loaded only when the config gives a certificate: a plain page needs none of it
    this.server = this.opts.tls
      ? (await import('node:https')).createServer({ cert: readFileSync(this.opts.tls.cert_file), key: readFileSync(this.opts.tls.key_file) }, handler)
      : createHttpServer(handler);
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.port = await listen(this.server, this.opts.port, this.opts.host);
    this.url = `${this.opts.tls ? 'https' : 'http'}://${hostPort(this.opts.host, this.port)}`;
    const { events } = this.src;
    events.on('status', this.onStatus, 'web');
    events.on('alert', this.onAlert, 'web');
    events.on('assembly', this.onAssembly, 'web');
  }

  private onStatus = (s: ReserveStatus) => this.broadcast('status', s);
  private onAlert = (a: Alert) => this.broadcast('alert', a);
  private onAssembly = (p: AssemblyPrompt) => this.broadcast('assembly', p);

  private broadcast(event: string, data: unknown): void {
    if (this.sse.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.sse) {
      if (res.writableLength > MAX_SSE_BACKLOG) {
        res.destroy();
        this.sse.delete(res);
        continue;
      }
      res.write(frame);
    }
  }

  /** An error from a route: its own status and message, or a 500 that keeps the detail in the log. */
  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (err instanceof HttpError) {
      if (!res.headersSent) sendJson(res, err.status, { error: err.message });
      else res.end();
      return;
    }
    // a bug or a failing source: the client learns nothing of our insides, and a request that
    // always fails gives one line per error message per window, not one per request
    const e = err instanceof Error ? err : new Error(String(err));
    this.log.limited(`internal:${e.message.slice(0, 100)}`, () => `${req.method} ${(req.url ?? '').slice(0, 200)}: ${e.stack ?? e.message}`, 'error');
    if (!res.headersSent) sendJson(res, 500, { error: INTERNAL_ERROR });
    else res.end();
  }

  /**
   * The request target as a URL, or a 400 before any routing: too long, bad percent-encoding
   * anywhere (path or query), or not a target a URL can be made of (`//`). Checking the whole
   * target once means every decodeURIComponent below gets well-formed text.
   */
  private parseUrl(req: IncomingMessage): URL {
    const raw = req.url ?? '/';
    let problem: string | null = null;
    let url: URL | null = null;
    if (raw.length > MAX_URL_LENGTH) problem = `longer than ${MAX_URL_LENGTH} characters`;
    else {
      try {
        decodeURIComponent(raw);
        url = new URL(raw, 'http://x');
      } catch (err) {
        problem = err instanceof URIError ? 'bad percent-encoding' : 'not a path';
      }
    }
    if (url && !problem) return url;
    this.refused.inc({ reason: 'bad_url' });
    // the target is the client's; log a short, escaped start of it, at most one line per 10 s
    this.log.limited('bad-url', () => `bad URL from ${clientAddress(req)} (${problem}): ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '…' : ''}`);
    throw new HttpError(400, `bad URL: ${problem}`);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = this.parseUrl(req);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const { src } = this;
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/' || path === '/index.html') return this.file(res, 'index.html');
      if (path === '/app.js' || path === '/style.css' || path === '/icons.js') return this.file(res, path.slice(1));
      // strapping a tank with the crew: its own page, linked from the main one
      if (path === '/strap' || path === '/strap.html') return this.file(res, 'strap.html');
      if (path === '/strap.js') return this.file(res, 'strap.js');
      if (path === '/api/strapping') return sendJson(res, 200, { tanks: src.strapping?.tanks() ?? [] });
      // the village's language for the page: which languages there are, and each one's words
      if (path === '/languages') {
        const list = languages().map((tag) => ({ tag, name: languageName(tag) }));
        return sendJson(res, 200, { village: src.status().village.language ?? 'en', languages: list });
      }
      const lang = path.match(/^\/language\/([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.json$/);
      if (lang || path.startsWith('/language/')) {
        const words = lang ? pageWords(lang[1]!) : null;
        if (!words) throw new HttpError(404, `no language "${path.slice(10, 40)}"; there are ${languages().join(', ')}`);
        return sendJson(res, 200, words);
      }
      if (path === '/healthz') {
        const h = src.health();
        return sendJson(res, h.ok ? 200 : 503, h);
      }
      if (path === '/metrics') {
        const text = await src.metrics.metrics();
        res.writeHead(200, { 'content-type': src.metrics.contentType });
        return void res.end(text);
      }
      if (path === '/api/status') return sendJson(res, 200, src.status());
      if (path === '/api/sensors') return sendJson(res, 200, { sensors: withRefusals(src.sensors(), src.lastRefusals?.()), links: src.links() });
      if (path === '/api/history') {
        const sensor = url.searchParams.get('sensor') ?? '';
        if (url.searchParams.get('hours') === 'auto') {
          // the span that fits the history there is (history-span.ts): {sensor, hours, step_s, points}
          const auto = autoHistory(src, sensor);
          if (!auto) throw new HttpError(404, `no sensor "${sensor.slice(0, 64)}"`);
          return sendJson(res, 200, { sensor, ...auto });
        }
        const hours = Math.min(Math.max(Number(url.searchParams.get('hours') ?? 24) || 24, 1), 24 * 7);
        const points = src.history(sensor, hours);
        if (!points) throw new HttpError(404, `no sensor "${sensor.slice(0, 64)}"`);
        return sendJson(res, 200, { sensor, points });
      }
      if (path === '/api/stream') return this.stream(req, res);
      if (path === '/api/alerts') return sendJson(res, 200, src.alerts?.alerts() ?? []);
      if (path === '/api/assembly') return sendJson(res, 200, src.assembly?.prompts() ?? []);
      const cap = path.match(/^\/api\/assembly\/([^/]+)\/cap$/);
      if (cap) {
        const xml = src.assembly?.cap(decodeURIComponent(cap[1]!));
        if (!xml) throw new HttpError(404, 'no such prompt');
        res.writeHead(200, { 'content-type': 'application/cap+xml; charset=utf-8' });
        return void res.end(xml);
      }
      const allNotes = path.match(/^\/api\/assembly\/([^/]+)\/notes$/);
      if (allNotes) {
        if (!src.assembly) throw new HttpError(404, 'no such prompt');
        const id = decodeURIComponent(allNotes[1]!);
        if (!src.assembly.prompt(id)) throw new HttpError(404, 'no such prompt');
        const notes = src.assembly.notes(id);
        return sendJson(res, 200, { id, total: notes.length, notes });
      }
      const record = path.match(/^\/api\/assembly\/([^/]+)\/record$/);
      if (record && src.assembly?.record && src.assembly.recordMarkdown) {
        const id = decodeURIComponent(record[1]!);
        const format = url.searchParams.get('format') ?? 'json';
        if (format !== 'json' && format !== 'md') throw new HttpError(400, 'format is json or md');
        const assembly = src.assembly;
        const json = () => assembly.record!(id);
        if (format === 'json') return sendJson(res, 200, assemblyAnswer(json));
        const md = assemblyAnswer(() => assembly.recordMarkdown!(id));
        res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(md);
      }
      const one = path.match(/^\/api\/assembly\/([^/]+)$/);
      if (one) {
        const p = src.assembly?.prompt(decodeURIComponent(one[1]!));
        if (!p) throw new HttpError(404, 'no such prompt');
        return sendJson(res, 200, p);
      }
      if (path === '/api/federation') {
        return sendJson(res, 200, src.federation?.view() ?? { village: src.status().village.id, connected: false, neighbours: [] });
      }
      throw new HttpError(404, `nothing at ${path.slice(0, 100)}`);
    }
    if (method === 'POST') {
      this.requireToken(req);
      const notes = path.match(/^\/api\/assembly\/([^/]+)\/notes$/);
      if (notes) {
        if (!src.assembly) throw new HttpError(404, 'no such prompt');
        const body = await readJson(req);
        // the assembly checks the note against NOTE_LIMITS; here only the answer's status is chosen
        const author = typeof body.author === 'string' && body.author.trim() ? body.author : 'someone';
        const text = typeof body.text === 'string' ? body.text : '';
        try {
          return sendJson(res, 201, src.assembly.addNote(decodeURIComponent(notes[1]!), { author, text }));
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === 'not_found') throw new HttpError(404, (err as Error).message);
          if (code === 'closed') throw new HttpError(409, (err as Error).message);
          if (code === 'invalid') {
            const tooLong = text.trim().length > NOTE_LIMITS.text || author.trim().length > NOTE_LIMITS.author;
            throw new HttpError(tooLong ? 413 : 400, (err as Error).message);
          }
          throw err;
        }
      }
      const decision = path.match(/^\/api\/assembly\/([^/]+)\/decisions$/);
      if (decision && src.assembly?.addDecision) {
        const body = await readJson(req);
        const id = decodeURIComponent(decision[1]!);
        const a = src.assembly;
        const answer = () => a.addDecision!(id, body);
        return sendJson(res, 201, assemblyAnswer(answer));
      }
      const hold = path.match(/^\/api\/assembly\/([^/]+)\/items\/([^/]+)\/(take|release)$/);
      if (hold && src.assembly?.take && src.assembly.release) {
        const body = await readJson(req);
        const [id, item] = [decodeURIComponent(hold[1]!), decodeURIComponent(hold[2]!)];
        const a = src.assembly;
        const answer = () => (hold[3] === 'take' ? a.take!(id, item, body) : a.release!(id, item, body));
        return sendJson(res, 200, assemblyAnswer(answer));
      }
      if (path === '/api/readings') {
        if (!src.manual) throw new HttpError(404, 'manual readings are not running');
        const body = await readJson(req);
        try {
          return sendJson(res, 201, src.manual.enter(body));
        } catch (err) {
          // unknown sensor, not a number, out of range, a name or note too long: the reason says which
          if (typeof (err as { reason?: unknown }).reason === 'string') throw new HttpError(400, (err as Error).message);
          throw err;
        }
      }
      if (path === '/api/strapping') {
        if (!src.strapping) throw new HttpError(404, 'strapping is not running');
        const body = await readJson(req);
        try {
          return sendJson(res, 200, src.strapping.build(typeof body.tank === 'string' && body.tank ? body.tank : null, body.points));
        } catch (err) {
          // points not increasing, not numbers, too few; or a tank not in the config
          if ((err as Error).name === 'StrapError') throw new HttpError(400, (err as Error).message);
          throw err;
        }
      }
      if (path === '/api/drill') {
        if (!src.assembly) throw new HttpError(404, 'alerts are not running');
        const until = src.assembly.startDrill();
        if (until === null) throw new HttpError(409, 'an exercise is already running');
        return sendJson(res, 202, { started: true, exercise: true, ends_at: new Date(until).toISOString() });
      }
      if (path === '/api/drill/end') {
        if (!src.assembly) throw new HttpError(404, 'alerts are not running');
        if (!src.assembly.stopDrill()) throw new HttpError(409, 'no exercise is running');
        return sendJson(res, 200, { ended: true });
      }
      if (path === '/api/federation/offer') {
        if (!src.federation) throw new HttpError(404, 'federation is not configured');
        const body = await readJson(req);
        const withdrawn = body.withdrawn === true;
        // federation checks the text (FED_LIMITS.offer) and answers a clear message for the 400
        const text = typeof body.offer === 'string' ? body.offer.trim() : null;
        try {
          src.federation.setOffer(text || null, withdrawn, body);
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
        return sendJson(res, 200, src.federation.view());
      }
      if (path === '/api/federation/need') {
        if (!src.federation) throw new HttpError(404, 'federation is not configured');
        const body = await readJson(req);
        // federation checks the text (FED_LIMITS.need) and the figures, and answers a clear message for the 400
        try {
          src.federation.setNeed(body);
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
        return sendJson(res, 200, src.federation.view());
      }
      throw new HttpError(404, `nothing to post at ${path.slice(0, 100)}`);
    }
    res.setHeader('allow', 'GET, HEAD, POST');
    throw new HttpError(405, `${method} is not supported`);
  }

  private requireToken(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const ok = given !== '' && timingSafeEqual(createHash('sha256').update(given).digest(), this.tokenDigest);
    if (!ok) throw new HttpError(401, 'this needs the village write token (Authorization: Bearer <token>)');
  }

  private file(res: ServerResponse, name: string): void {
    const f = this.files.get(name);
    if (!f) throw new HttpError(404, 'not found');
    res.writeHead(200, {
      'content-type': f.type,
      'cache-control': 'no-cache',
      // everything the page needs comes from this server
      'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
      'x-content-type-options': 'nosniff',
    });
    res.end(f.body);
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    // every stream costs a socket and a write per event: cap them per address and in all
    const address = clientAddress(req);
    const fromAddress = this.sseByAddress.get(address) ?? 0;
    const { clients, perAddress } = this.sseMax;
    let refusal: { reason: 'sse_address' | 'sse_full'; message: string } | null = null;
    if (fromAddress >= perAddress) {
      refusal = {
        reason: 'sse_address',
        message: `too many live streams from ${address} (at most ${perAddress}); close another tab or window of this page, or try again later`,
      };
    } else if (this.sse.size >= clients) {
      refusal = { reason: 'sse_full', message: `the live stream is full (${clients} readers at most); try again later` };
    }
    if (refusal) {
      this.refused.inc({ reason: refusal.reason });
      const { reason, message } = refusal;
      this.log.limited(`refused:${reason}`, () => `refused a live stream from ${address}: ${reason} (${this.sse.size} open)`);
      res.setHeader('retry-after', String(SSE_LIMITS.retryAfterS));
      throw new HttpError(503, message);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\nevent: status\ndata: ${JSON.stringify(this.src.status())}\n\n`);
    this.sse.add(res);
    this.sseByAddress.set(address, fromAddress + 1);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    // 'close' on the response comes once, whether the client left, broadcast() cut it off, or we stopped
    res.once('close', () => {
      clearInterval(ping);
      this.sse.delete(res);
      const left = (this.sseByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.sseByAddress.set(address, left);
      else this.sseByAddress.delete(address);
    });
  }

  sseClients(): number {
    return this.sse.size;
  }

  async stop(): Promise<void> {
    const { events } = this.src;
    events.off('status', this.onStatus);
    events.off('alert', this.onAlert);
    events.off('assembly', this.onAssembly);
    for (const res of this.sse) res.destroy();
    this.sse.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections?.();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}

/** The peer's address, IPv4 clients of a dual-stack socket written as IPv4. */
function clientAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** An assembly call, its refusals as HTTP errors: 404 no such prompt or item, 409 closed, 400 a bad body. */
function assemblyAnswer<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const status = code === 'not_found' ? 404 : code === 'closed' ? 409 : code === 'invalid' ? 400 : 0;
    if (status) throw new HttpError(status, (err as Error).message);
    throw err;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the body is not a JSON object');
  }
}
