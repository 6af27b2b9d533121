// Live streams (GET /api/stream, SSE) are capped per client address and in all
// (web.sse_max_per_address, web.sse_max_clients): past a cap the next one is a 503 with
// Retry-After and a message a person can read, and closing a stream frees its slot. Streams are
// raw sockets on the real village, bound to 127.0.0.x to come from different addresses.
import { afterEach, describe, expect, it } from 'vitest';
import { demoConfig, startTestVillage } from '../../helpers/village.ts';
import { waitFor } from '../../helpers/net.ts';
import { metricValue } from '../../robustness/helpers.ts';
import { rawRequest, rawStream, type RawStream } from './raw-http.ts';

const open: RawStream[] = [];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  for (const f of cleanup.splice(0)) await f();
});

async function village(perAddress: number, clients: number) {
  const config = demoConfig();
  config.web.sse_max_per_address = perAddress;
  config.web.sse_max_clients = clients;
  const v = await startTestVillage({ config });
  cleanup.push(() => v.cleanup());
  return v;
}

async function stream(port: number, localAddress = '127.0.0.1'): Promise<RawStream> {
  const s = await rawStream(port, { localAddress });
  open.push(s);
  return s;
}

/** the JSON error of a refused stream, once its body has arrived */
async function refusal(s: RawStream): Promise<string> {
  const body = await waitFor(() => (s.text().includes('}') ? s.text() : null), 5000, 'the 503 body');
  return (JSON.parse(body) as { error: string }).error;
}

describe('live stream caps', () => {
  it('refuses the stream past the per-address cap with 503, Retry-After and a readable message; closing one frees a slot', async () => {
    const v = await village(3, 100);
    const first = [await stream(v.webPort), await stream(v.webPort), await stream(v.webPort)];
    for (const s of first) {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream');
      await waitFor(() => s.text().includes('event: status'), 5000, 'the first status event');
    }
    const fourth = await stream(v.webPort);
    expect(fourth.status).toBe(503);
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThan(0);
    expect(await refusal(fourth)).toBe('too many live streams from 127.0.0.1 (at most 3); close another tab or window of this page, or try again later');
    // another address still gets its own streams
    expect((await stream(v.webPort, '127.0.0.2')).status).toBe(200);

    // closing one frees its slot, once the server has seen the socket close
    first[0]!.close();
    const again = await waitFor(
      async () => {
        const s = await stream(v.webPort);
        if (s.status === 200) return s;
        s.close();
        return null;
      },
      10_000,
      'a slot after closing a stream',
    );
    expect(again.status).toBe(200);
    // the page and the API are not capped by the streams
    expect((await rawRequest(v.webPort, '/api/status')).status).toBe(200);
    const metrics = (await rawRequest(v.webPort, '/metrics')).body;
    expect(metricValue(metrics, 'tend_http_refused_total', { reason: 'sse_address' })).toBeGreaterThanOrEqual(1);
    expect(v.logs.filter((l) => l.startsWith('web: refused a live stream')).length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('refuses the stream past the total cap, whichever address asks', async () => {
    const v = await village(2, 3);
    expect((await stream(v.webPort, '127.0.0.1')).status).toBe(200);
    expect((await stream(v.webPort, '127.0.0.2')).status).toBe(200);
    const third = await stream(v.webPort, '127.0.0.3');
    expect(third.status).toBe(200);
    const fourth = await stream(v.webPort, '127.0.0.4');
    expect(fourth.status).toBe(503);
    expect(fourth.headers['retry-after']).toBeDefined();
    expect(await refusal(fourth)).toBe('the live stream is full (3 readers at most); try again later');
    third.close();
    const again = await waitFor(
      async () => {
        const s = await stream(v.webPort, '127.0.0.4');
        if (s.status === 200) return s;
        s.close();
        return null;
      },
      10_000,
      'a slot after closing a stream',
    );
    expect(again.status).toBe(200);
  }, 30_000);
});
