// Needs beside offers, with real villages (embedded broker, ingest, reserve, alerts, assembly,
// web) federated through a real Mosquitto: Hillside's tank runs low and its assembly publishes a
// need; Riverside's reserves give a computed offer; Meadow offers nothing and needs hands. Both
// Hillside and Riverside are told, as a fact, that Riverside's offer could meet Hillside's need,
// and Hillside's prompt lists its neighbours' offers and needs side by side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVillage, type Village } from '../../../services/village.ts';
import type { FederationView } from '../../../services/federation/federation.ts';
import { checkText } from '../../../services/assembly/language.ts';
import type { AssemblyPrompt } from '../../../core/types.ts';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.ts';
import { tempDir, waitFor } from '../../helpers/net.ts';
import { realVillageConfig, tankReading } from './fixtures.ts';

const NAMES = ['hillside', 'riverside', 'meadow'];
let broker: Mosquitto;
let tmp: { dir: string; remove(): void };
const villages = new Map<string, Village>();
const v = (id: string) => villages.get(id)!;

const federation = async (id: string) => (await fetch(`${v(id).webUrl}/api/federation`)).json() as Promise<FederationView>;
const postNeed = (id: string, body: unknown, token = v(id).token) =>
  fetch(`${v(id).webUrl}/api/federation/need`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

// 1,600 mm = 40,000 L; 40,000 − 7 days × 2,700 L (180 people at 15 L) = 21,100 → "about 21,000"
const FACT = 'Riverside offers 21,000 L of water; Hillside has said it needs 1,500 L of water.';

beforeAll(async () => {
  tmp = tempDir('tend-fed-needs-');
  broker = await startMosquitto({ users: Object.fromEntries(NAMES.map((n) => [n, `pw-${n}`])) });
  for (const n of NAMES) {
    villages.set(n, await startVillage({ config: realVillageConfig(n, broker.url), storageDir: `${tmp.dir}/${n}`, webPort: 0, brokerPort: 0, log: () => {} }));
  }
}, 60_000);

afterAll(async () => {
  for (const x of villages.values()) await x.stop().catch(() => {});
  await broker?.close();
  tmp?.remove();
}, 60_000);

describe('needs beside offers, between real villages', () => {
  it('refuses a need without the token or with bad figures, with the reason', async () => {
    expect((await postNeed('hillside', { need: 'water' }, 'wrong-token')).status).toBeGreaterThanOrEqual(401);
    const bad: [unknown, RegExp][] = [
      [{ need: 'x'.repeat(501) }, /at most 500/],
      [{ need: 'water', water_liters: -5 }, /water_liters is -5/],
      [{ need: 'water', water_liters: 1e12 }, /water_liters/],
      [{ need: 'people', hands: 1.5 }, /whole number/],
      [{ need: 'water', water_liters: '1500' }, /not a number/],
      [{ need: '', hands: 3 }, /a few words/],
      [{ water_liters: 100 }, /need is missing/],
      [{ need: 42 }, /not a text/],
    ];
    for (const [body, reason] of bad) {
      const r = await postNeed('hillside', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(reason);
    }
    expect((await federation('hillside')).own.need).toBeNull();
  });

  it('points out to both villages that an offer could meet a need, and lists needs beside offers in the prompt', async () => {
    for (const n of NAMES) await tankReading(v(n), 1600);
    // Meadow offers nothing for now, and needs hands
    const meadow = v('meadow');
    const withdraw = await fetch(`${meadow.webUrl}/api/federation/offer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${meadow.token}` },
      body: JSON.stringify({ withdrawn: true }),
    });
    expect(withdraw.status).toBe(200);
    expect((await postNeed('meadow', { need: 'people for pipe repair', hands: 4 })).status).toBe(200);

    // the storm empties Hillside's tank: 100 mm = 2,500 L → water low, critical → a crisis prompt
    await tankReading(v('hillside'), 100);
    await waitFor(
      () =>
        v('hillside')
          .assembly.prompts()
          .some((p) => p.status === 'open'),
      30_000,
      "Hillside's crisis prompt",
    );

    // its assembly says what it needs
    const posted = await postNeed('hillside', { need: 'drinking water for the school', water_liters: 1500, hands: 2 });
    expect(posted.status).toBe(200);
    const own = ((await posted.json()) as FederationView).own;
    expect(own.need).toMatchObject({ text: 'drinking water for the school', quantities: { water_liters: 1500, hands: 2 } });

    // Riverside sees Hillside's need beside its figures, and the fact
    const atRiverside = await waitFor(
      async () => {
        const f = await federation('riverside');
        const h = f.neighbours.find((n) => n.village === 'hillside');
        return h?.need && f.matches.length ? { f, h } : null;
      },
      30_000,
      "Hillside's need at Riverside",
    );
    expect(atRiverside.h.need).toMatchObject({ text: 'drinking water for the school', quantities: { water_liters: 1500, hands: 2 } });
    expect(atRiverside.h.offer).toBeNull();
    expect(atRiverside.f.own.offer_quantities).toEqual({ water_liters: 21_000 });
    expect(atRiverside.f.matches).toEqual([
      { offered_by: 'riverside', needed_by: 'hillside', what: 'water_liters', offered: 21_000, needed: 1500, covers: true, stale: false, text: FACT },
    ]);

    // Hillside sees the same fact, Riverside's offer with what it counts, and Meadow's need
    const atHillside = await waitFor(
      async () => {
        const f = await federation('hillside');
        return f.matches.length && f.neighbours.find((n) => n.village === 'meadow')?.need ? f : null;
      },
      30_000,
      'the fact at Hillside',
    );
    expect(atHillside.matches.map((m) => m.text)).toEqual([FACT]);
    const riverside = atHillside.neighbours.find((n) => n.village === 'riverside')!;
    expect(riverside.offer).toBe('can share about 21,000 litres of water');
    expect(riverside.offer_quantities).toEqual({ water_liters: 21_000 });
    expect(riverside.need).toBeNull();
    expect(atHillside.neighbours.find((n) => n.village === 'meadow')).toMatchObject({
      offer: null,
      need: { text: 'people for pipe repair', quantities: { hands: 4 } },
    });
    // Meadow's need for hands meets no offer of hands: no fact about it
    expect(atHillside.matches.some((m) => m.needed_by === 'meadow')).toBe(false);

    // Hillside's prompt: offers and needs side by side, the fact, and a question about it
    const prompt = await waitFor(
      async () => {
        const open = (await (await fetch(`${v('hillside').webUrl}/api/assembly`)).json()) as AssemblyPrompt[];
        const p = open.find((x) => x.status === 'open');
        return p && p.neighbours.length === 2 && p.neighbours.some((n) => n.matches?.length) ? p : null;
      },
      30_000,
      "the neighbours' needs and offers in Hillside's prompt",
    );
    const byVillage = Object.fromEntries(prompt.neighbours.map((n) => [n.village, n]));
    expect(byVillage.riverside).toMatchObject({
      offer: 'can share about 21,000 litres of water',
      quantities: { water_liters: 21_000 },
      matches: [FACT],
    });
    expect(byVillage.riverside!.offering).toBeUndefined();
    expect(byVillage.meadow).toMatchObject({
      offering: false,
      offer: 'no offer at present',
      need: 'people for pipe repair (the help of 4 people)',
      need_quantities: { hands: 4 },
    });
    const asked = prompt.questions.find((q) => q.startsWith(FACT));
    expect(asked).toBe(`${FACT} Would the assembly like to take this up with the neighbouring village?`);
    expect(checkText('match question', asked!)).toEqual([]);
    // only villages that offer something are named as offering help
    const offerQuestion = prompt.questions.find((q) => q.startsWith('Neighbouring villages offer help'));
    expect(offerQuestion).toContain('riverside');
    expect(offerQuestion).not.toContain('meadow');
  }, 120_000);

  it('clearing the need takes the fact away on both sides, and the need survives a restart until then', async () => {
    // a restart keeps the need (SQLite) and publishes it again
    const cfg = v('hillside').config;
    await v('hillside').stop();
    villages.set('hillside', await startVillage({ config: cfg, storageDir: `${tmp.dir}/hillside`, webPort: 0, brokerPort: 0, log: () => {} }));
    expect((await federation('hillside')).own.need?.text).toBe('drinking water for the school');

    expect((await postNeed('hillside', { need: null })).status).toBe(200);
    expect((await federation('hillside')).own.need).toBeNull();
    expect((await federation('hillside')).matches).toEqual([]);
    await waitFor(
      async () => {
        const f = await federation('riverside');
        const h = f.neighbours.find((n) => n.village === 'hillside');
        return h && h.need === null && f.matches.length === 0;
      },
      30_000,
      'the need cleared at Riverside',
    );
  }, 90_000);
});
