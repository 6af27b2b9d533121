// Hostile URLs against the real village's web server, sent raw over a socket (fetch would refuse
// or normalise them). A bad URL is a 400 with a short message and at most a short, rate-limited
// log line; a failure inside the server is a 500 that tells the client nothing of its insides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startTestVillage } from '../helpers/village.ts';
import type { Village } from '../../services/village.ts';
import { WebServer } from '../../services/web/server.ts';
import { VillageEventHub } from '../../services/events.ts';
import { fixtureStatus } from '../services/web/fixture-server.ts';
import { rawRequest } from '../services/web/raw-http.ts';
import { metricValue } from './helpers.ts';

let village: Village & { logs: string[]; cleanup(): Promise<void> };
beforeAll(async () => {
  village = await startTestVillage();
}, 30_000);
afterAll(() => village?.cleanup());

const webLines = () => village.logs.filter((l) => l.startsWith('web: '));

const BAD = [
  '/api/assembly/%ff',
  '/api/assembly/%ff/cap',
  '/api/assembly/%E0%A4%A/notes',
  '/api/assembly/abc%2',
  '/%',
  '/api/history?sensor=%ff%fe&hours=24',
  '/api/status?x=%zz',
  '//',
  `/api/assembly/${'a'.repeat(5000)}`,
  `/api/status?${'q'.repeat(5000)}`,
];

describe('bad URLs', () => {
  it('answers each with 400 and a short JSON message, and the server goes on', async () => {
    for (const target of BAD) {
      const r = await rawRequest(village.webPort, target);
      expect(r.status, target.slice(0, 60)).toBe(400);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { error: string };
      expect(body.error, target.slice(0, 60)).toMatch(/^bad URL: /);
      expect(r.body.length).toBeLessThan(200);
    }
    // a POST with a bad URL is refused the same way, before the token is asked for
    expect((await rawRequest(village.webPort, '/api/assembly/%ff/notes', { method: 'POST' })).status).toBe(400);
    const ok = await rawRequest(village.webPort, '/api/status');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).village.id).toBe('ashgrove');
    // a well-formed id that is not there is still a plain 404
    expect((await rawRequest(village.webPort, '/api/assembly/%41bc')).status).toBe(404);
  }, 30_000);

  it('logs a flood of them as a short line or two, with no URL dump and no stack', async () => {
    const refused = async () => metricValue((await rawRequest(village.webPort, '/metrics')).body, 'tend_http_refused_total', { reason: 'bad_url' }) ?? 0;
    const before = await refused();
    for (let i = 0; i < 300; i++) {
      const r = await rawRequest(village.webPort, i % 2 ? `/api/assembly/%ff${'x'.repeat(4000)}` : '/api/assembly/%ff');
      expect(r.status).toBe(400);
    }
    // every web line since the village started (the test above sent bad URLs too): one line per
    // 10 s window, and 300 requests take well under a minute even on a busy machine
    const lines = webLines();
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(6);
    for (const l of lines) {
      expect(l.length).toBeLessThan(300);
      expect(l).not.toMatch(/\n|\s+at /);
      expect(l).not.toContain('x'.repeat(200));
    }
    // each one is counted
    expect((await refused()) - before).toBe(300);
  }, 60_000);
});

describe('a failure inside the server', () => {
  it('answers 500 with a generic message, and logs the detail rate-limited', async () => {
    const logs: string[] = [];
    const web = new WebServer(
      {
        events: new VillageEventHub(),
        token: 'secret-token',
        status: () => fixtureStatus(Date.now()),
        sensors: () => {
          throw new Error('SQLITE_CORRUPT: database disk image is malformed at /var/lib/tend/tend.db');
        },
        links: () => [],
        history: () => null,
        metrics: new Registry(),
        health: () => ({ ok: true }),
        log: (line) => logs.push(line),
      },
      { host: '127.0.0.1', port: 0 },
    );
    await web.start();
    try {
      for (let i = 0; i < 50; i++) {
        const r = await rawRequest(web.port, '/api/sensors');
        expect(r.status).toBe(500);
        expect(JSON.parse(r.body)).toEqual({ error: 'internal error; the details are in the village log' });
        expect(r.body).not.toMatch(/SQLITE|tend\.db|\bat\b/);
      }
      const lines = logs.filter((l) => l.includes('SQLITE_CORRUPT'));
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(6);
      expect(lines[0]).toMatch(/^web: GET \/api\/sensors: Error: SQLITE_CORRUPT/);
    } finally {
      await web.stop();
    }
  });
});
