// The HTTP client tend sends history and webhooks with answers as fetch() does, on a real server.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpFetch } from '../../core/http.ts';

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function serve(answer: (req: IncomingMessage, body: string) => { status: number; text?: string; delayMs?: number }): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const a = answer(req, body);
      setTimeout(() => res.writeHead(a.status).end(a.text ?? ''), a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('httpFetch', () => {
  it('posts the body with its headers and hands back the status and the text', async () => {
    let seen: { method?: string; type?: string; length?: string; body?: string } = {};
    const url = await serve((req, body) => {
      seen = { method: req.method, type: req.headers['content-type'], length: req.headers['content-length'], body };
      return { status: 400, text: 'unable to parse "ü"' };
    });
    const res = await httpFetch(`${url}/write?db=x`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'reading value=1 ü' });
    expect(seen).toEqual({ method: 'POST', type: 'text/plain', length: String(Buffer.byteLength('reading value=1 ü')), body: 'reading value=1 ü' });
    expect(res.ok).toBe(false);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('unable to parse "ü"');
  });

  it('sends URLSearchParams as a form, as fetch does, and says ok for a 2xx', async () => {
    let seen = { type: '', body: '' };
    const url = await serve((req, body) => {
      seen = { type: String(req.headers['content-type']), body };
      return { status: 204 };
    });
    const res = await httpFetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE "a b"' }) });
    expect(res.ok).toBe(true);
    expect(seen.type).toMatch(/^application\/x-www-form-urlencoded/);
    expect(new URLSearchParams(seen.body).get('q')).toBe('CREATE DATABASE "a b"');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('rejects a refused connection with a TypeError whose cause carries the code', async () => {
    const url = await serve(() => ({ status: 200 }));
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    const err = (await httpFetch(url).catch((e) => e)) as TypeError & { cause?: { code?: string } };
    expect(err).toBeInstanceOf(TypeError);
    expect(err.cause?.code).toBe('ECONNREFUSED');
  });

  it('rejects with the signal’s reason when aborted mid-request, and at once when aborted before', async () => {
    const url = await serve(() => ({ status: 200, text: 'late', delayMs: 2000 }));
    const ctl = new AbortController();
    const pending = httpFetch(url, { signal: ctl.signal });
    setTimeout(() => ctl.abort(new Error('writer stopped')), 50);
    await expect(pending).rejects.toThrow('writer stopped');
    await expect(httpFetch(url, { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('refuses an address that is not http or https', async () => {
    await expect(httpFetch('ftp://127.0.0.1/x')).rejects.toThrow(/ftp: is not http: or https:/);
  });
});
