// The embedded broker's packet limit and slow-subscriber protection patch aedes internals. A newer
// aedes without them must be said out loud at start, naming the protection that is off, instead
// of the patches quietly doing nothing. Checked on stub clients: aedes itself is never changed.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Aedes } from 'aedes';
import { checkAedesInternals, EmbeddedBroker, MAX_PACKET_BYTES, probeAedesInternals } from '../../../services/broker/embedded.ts';
import { DeviceAuth } from '../../../services/broker/auth.ts';
import { parseConfig } from '../../../config/load.ts';

/** a client with every internal the broker patches, as aedes 1.2 builds it */
function stubClient() {
  return {
    _parser: { parse: (_b: Buffer) => 0, packet: { length: -1 }, _list: { length: 0 } },
    deliver0: (_p: unknown, cb: () => void) => cb(),
    deliverQoS: (_p: unknown, cb: () => void) => cb(),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function testConfig() {
  return parseConfig({
    version: 1,
    village: { id: 'ashgrove', name: 'Ashgrove', population: 10 },
    broker: { embedded: { host: '127.0.0.1', port: 0 } },
    storage: { dir: ':memory:' },
  });
}

async function startBroker() {
  const lines: { line: string; level: string }[] = [];
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    auth: new DeviceAuth(testConfig(), () => []),
    onDeviceMessage: () => false,
    whenDurable: (done) => done(),
    log: (line, level) => lines.push({ line, level }),
  });
  await broker.start();
  cleanups.push(() => broker.stop());
  return lines;
}

describe('aedes internals the broker relies on', () => {
  it('are all there in the installed aedes', async () => {
    const aedes = await Aedes.createBroker({});
    cleanups.push(() => new Promise<void>((r) => aedes.close(() => r())));
    const errors: string[] = [];
    aedes.on('connectionError', (_c, err) => errors.push(err.message));
    expect(probeAedesInternals(aedes)).toEqual([]);
    // the probe is a throwaway client: nothing stays connected and nothing is reported as an error
    await new Promise((r) => setTimeout(r, 50));
    expect(aedes.connectedClients).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a complete stub passes', () => {
    expect(checkAedesInternals(stubClient())).toEqual([]);
  });

  it('a missing parser names the packet limit, once', () => {
    const c: Record<string, unknown> = stubClient();
    delete c._parser;
    const w = checkAedesInternals(c);
    expect(w).toHaveLength(1);
    expect(w[0]).toBe(
      `aedes internal client._parser.parse is missing (aedes changed?): the ${MAX_PACKET_BYTES / 1024} KiB packet limit is off (aedes buffers a packet of any announced size, up to 256 MB)`,
    );
  });

  it('a parser without its buffer list names the part of the packet limit that is off', () => {
    const c = stubClient();
    delete (c._parser as { _list?: unknown })._list;
    expect(checkAedesInternals(c)).toEqual([
      expect.stringMatching(
        /^aedes internal client\._parser\._list\.length is missing \(aedes changed\?\): the 256 KiB packet limit no longer sees the bytes already buffered/,
      ),
    ]);
  });

  it('a delivery function of another type names the slow-subscriber protection', () => {
    const c = { ...stubClient(), deliverQoS: 'not a function' };
    expect(checkAedesInternals(c)).toEqual([
      'aedes internal client.deliverQoS is a string, not a function (aedes changed?): the slow-subscriber protection is off (one subscriber that stops reading holds every publisher, and ingest, until drainTimeout)',
    ]);
  });

  it('a changed aedes gives one warning per internal, not a crash', () => {
    expect(checkAedesInternals({})).toHaveLength(3);
    expect(checkAedesInternals(null)).toHaveLength(3);
  });

  it('the broker says nothing at start with the installed aedes', async () => {
    const lines = await startBroker();
    expect(lines.filter((l) => l.line.includes('aedes internal'))).toEqual([]);
  });

  it('the broker warns once at start, naming the protection, when aedes lost an internal', async () => {
    // only this broker's clients lose their parser: aedes itself is left as it is
    const create = Aedes.createBroker.bind(Aedes);
    vi.spyOn(Aedes, 'createBroker').mockImplementation(async (opts) => {
      const aedes = await create(opts);
      const handle = aedes.handle;
      aedes.handle = (conn, req) => {
        const client = handle(conn, req) as unknown as Record<string, unknown>;
        delete client._parser;
        return client as never;
      };
      return aedes;
    });
    const lines = await startBroker();
    expect(lines).toEqual([
      {
        level: 'warn',
        line: `broker: aedes internal client._parser.parse is missing (aedes changed?): the ${MAX_PACKET_BYTES / 1024} KiB packet limit is off (aedes buffers a packet of any announced size, up to 256 MB)`,
      },
    ]);
  });
});
