// Webhooks against a real HTTP server on loopback that is down first, then comes up: every
// change arrives, in order, once the receiver is back.
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhooks, type Webhooks } from '../../../services/assembly/webhooks.ts';
import { VillageEventHub } from '../../../services/events.ts';
import type { Alert } from '../../../core/types.ts';
import { freePort, waitFor } from '../../helpers/net.ts';
import { worldConfig } from '../alerts/world.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const alert = (n: number): Alert => ({
  id: `battery_low:battery:${n}`,
  rule: 'battery_low',
  subject: 'battery',
  domain: 'power',
  severity: 'watch',
  state: 'firing',
  title: `Battery bank is low (${n})`,
  detail: '',
  value: n,
  started_at: '2026-11-20T00:00:00.000Z',
  fired_at: null,
  resolved_at: null,
  incident_id: null,
});

/** One delivery as the receiver got it: the parsed JSON body and the tend headers. */
interface Received {
  body: { village: string; event: string; data: { value: number | null } };
  sig: string | undefined;
  event: string | undefined;
}

function receiver(port: number, got: Received[]): Promise<Server> {
  const srv = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      got.push({
        body: JSON.parse(data),
        sig: req.headers['x-tend-signature'] as string | undefined,
        event: req.headers['x-tend-event'] as string | undefined,
      });
      res.writeHead(204).end();
    });
  });
  return new Promise((r) => srv.listen(port, '127.0.0.1', () => r(srv)));
}

describe('webhooks', () => {
  it('retries with backoff while the receiver is down and delivers everything in order once it is up', async () => {
    const port = await freePort();
    const config = worldConfig({ webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret: 'hook-secret' }] });
    const events = new VillageEventHub();
    const logs: string[] = [];
    const hooks: Webhooks = startWebhooks({ config, events, log: (m) => logs.push(m), initialDelayMs: 50, maxDelayMs: 400 });
    cleanups.push(() => hooks.stop());
    for (let i = 1; i <= 5; i++) events.emit('alert', alert(i));
    await waitFor(() => hooks.stats()[0]!.failures >= 3, 10_000, 'retries while down');
    expect(hooks.stats()[0]).toMatchObject({ queued: 5, delivered: 0, state: 'retrying' });
    expect(logs.join('\n')).toMatch(/retrying with backoff/);

    const got: Received[] = [];
    const srv = await receiver(port, got);
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    events.emit('alert', alert(6));
    await waitFor(() => got.length === 6, 15_000, 'all six deliveries');
    expect(got.map((g) => g.body.data.value)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got[0]).toMatchObject({ event: 'alert', body: { village: 'ashgrove', event: 'alert' } });
    // the signature lets the receiver check the body came from this village
    const raw = JSON.stringify(got[0]!.body);
    expect(got[0]!.sig).toBe(`sha256=${createHmac('sha256', 'hook-secret').update(raw).digest('hex')}`);
    // the sender counts a delivery once the receiver's answer is in
    await waitFor(() => hooks.stats()[0]!.delivered === 6, 10_000, 'delivered count');
    expect(hooks.stats()[0]).toMatchObject({ queued: 0, delivered: 6, state: 'idle' });
  });

  it('keeps its queue bounded, dropping the oldest', async () => {
    const port = await freePort();
    const config = worldConfig({ webhooks: [{ url: `http://127.0.0.1:${port}/hook` }] });
    const events = new VillageEventHub();
    const hooks = startWebhooks({ config, events, maxQueue: 10, initialDelayMs: 10_000 });
    cleanups.push(() => hooks.stop());
    for (let i = 1; i <= 25; i++) events.emit('alert', alert(i));
    expect(hooks.stats()[0]).toMatchObject({ queued: 10, dropped: 15 });
  });
});
