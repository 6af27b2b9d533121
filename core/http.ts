// A small HTTP client for what tend sends out (history to InfluxDB/VictoriaMetrics, webhooks),
// shaped like the part of fetch() it uses, so fetch itself can stand in (a test's fake).
//
// Why not the global fetch: Node's fetch parses HTTP in WebAssembly (undici's llhttp), and its
// first request compiles that module: ~15 MB more resident memory for the life of the process
// and a peak of ~40 MB while it compiles, on a board where the whole gateway should fit in about
// 100 MB. node:http parses in the C parser Node already carries (docs/benchmarks.md, memory).
import http from 'node:http';
import type https from 'node:https';

export interface HttpInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type HttpFetch = (url: string, init?: HttpInit) => Promise<HttpAnswer>;

/** connections stay open between requests, as fetch keeps them (a batch a second to InfluxDB) */
let plainAgent: http.Agent | null = null;
let tlsAgent: https.Agent | null = null;

async function agentFor(protocol: string): Promise<{ request: typeof http.request; agent: http.Agent }> {
  if (protocol === 'http:') return { request: http.request, agent: (plainAgent ??= new http.Agent({ keepAlive: true, maxSockets: 4 })) };
  if (protocol === 'https:') {
    // TLS is loaded only by a village that sends to an https address
    const mod = await import('node:https');
    return { request: mod.request, agent: (tlsAgent ??= new mod.Agent({ keepAlive: true, maxSockets: 4 })) };
  }
  throw new TypeError(`fetch failed: ${protocol} is not http: or https:`);
}

/**
 * A request with fetch's answers: a network failure rejects with a TypeError whose `cause` is the
 * socket error (its `code`, e.g. ECONNREFUSED); an abort rejects with the signal's reason; any
 * HTTP status resolves. The body is read whole before the promise resolves (tend's answers are small).
 */
export const httpFetch: HttpFetch = async (url, init = {}) => {
  const target = new URL(url);
  const { request, agent } = await agentFor(target.protocol);
  const signal = init.signal;
  if (signal?.aborted) throw signal.reason;
  const body = init.body === undefined ? undefined : Buffer.from(String(init.body));
  const headers: Record<string, string | number> = { ...init.headers };
  if (body) {
    headers['content-length'] = body.length;
    if (init.body instanceof URLSearchParams && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  }
  return await new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    };
    const req = request(target, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => fail(new TypeError('fetch failed', { cause: err })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        const all = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          text: async () => all.toString('utf8'),
          arrayBuffer: async () => all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
        });
      });
    });
    const onAbort = () => {
      fail(signal!.reason);
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => fail(new TypeError('fetch failed', { cause: err })));
    req.end(body);
  });
};
