// TLS for the embedded broker and the web server when certificates are configured, tested with a
// self-signed pair made by openssl for 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startTestVillage, demoConfig } from '../helpers/village.ts';
import { tempDir, waitFor } from '../helpers/net.ts';
import type { ReserveStatus } from '../../core/types.ts';

const certs = tempDir('tend-tls-');
const cert = join(certs.dir, 'cert.pem');
const key = join(certs.dir, 'key.pem');
let village: Awaited<ReturnType<typeof startTestVillage>>;

beforeAll(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const config = demoConfig();
  config.broker = { embedded: { host: '127.0.0.1', port: 0, allow_anonymous: false, tls: { cert_file: cert, key_file: key } } };
  config.web = { ...config.web, tls: { cert_file: cert, key_file: key } };
  village = await startTestVillage({ config });
});
afterAll(async () => {
  await village?.cleanup();
  certs.remove();
});

function httpsJson<T>(url: string, ca: Buffer): Promise<T> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

describe('TLS', () => {
  it('serves MQTT over TLS and the API over HTTPS with the configured certificate', async () => {
    expect(village.brokerUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(village.webUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(cert);
    const device = await mqtt.connectAsync(village.brokerUrl, {
      username: 'tank-hill',
      password: 'demo-hill-c3d9',
      clientId: 'tank-hill-tls',
      ca,
      reconnectPeriod: 0,
    });
    await device.publishAsync('tend/ashgrove/dev/tank-hill/reading', JSON.stringify({ level_mm: 1200 }), { qos: 1 });
    const status = await waitFor(
      async () => {
        const s = await httpsJson<ReserveStatus>(`${village.webUrl}/api/status`, ca);
        return s.water.tanks.find((t) => t.id === 'hill')!.level_mm === 1200 ? s : null;
      },
      5000,
      'the reading over TLS',
    );
    expect(status.water.tanks.find((t) => t.id === 'hill')!.liters).toBe(9800);
    await device.endAsync();
  });

  it('refuses a client that does not trust the certificate, and plain MQTT on the TLS port', async () => {
    const attempt = (url: string) =>
      new Promise<'connected' | 'refused'>((resolve) => {
        const c = mqtt.connect(url, {
          username: 'tank-hill',
          password: 'demo-hill-c3d9',
          clientId: `tank-hill-${Math.random().toString(16).slice(2)}`,
          reconnectPeriod: 0,
          connectTimeout: 3000,
        });
        c.once('connect', () => {
          c.end(true);
          resolve('connected');
        });
        c.once('error', () => {
          c.end(true);
          resolve('refused');
        });
        c.once('close', () => {
          c.end(true);
          resolve('refused');
        });
      });
    expect(await attempt(village.brokerUrl)).toBe('refused');
    expect(await attempt(village.brokerUrl.replace('mqtts://', 'mqtt://'))).toBe('refused');
  });
});
