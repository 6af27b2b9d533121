// The clock jumps (an NTP correction after a power cut) backwards and forwards by an hour while
// tanks drain steadily: no negative rates, no NaN, no lost readings, no leak alert out of it.
// The village runs on an injected clock that the test moves; readings travel over real MQTT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, startTestVillage } from '../helpers/village.ts';
import type { Alert, ReserveStatus } from '../../core/types.ts';

const HOUR = 3_600_000;
let now = Date.UTC(2026, 5, 1, 6, 0, 0);
const clock = { now: () => now };
let village: Awaited<ReturnType<typeof startTestVillage>>;
let north: MqttClient;
let hill: MqttClient;
const alerts: Alert[] = [];
beforeAll(async () => {
  village = await startTestVillage({ clock, tick: false });
  village.events.on('alert', (a) => alerts.push(a));
  north = await connectDevice(village, 'tank-north');
  hill = await connectDevice(village, 'tank-hill');
});
afterAll(async () => {
  north?.end(true);
  hill?.end(true);
  await village?.cleanup();
});

/** every rate and figure in the status is a finite, non-negative number or null */
function checkRates(s: ReserveStatus, when: string): void {
  const w = s.water;
  const ok = (v: number | null | undefined, what: string) => {
    if (v === null || v === undefined) return;
    expect(Number.isFinite(v), `${what} finite (${when})`).toBe(true);
    expect(v, `${what} ≥ 0 (${when})`).toBeGreaterThanOrEqual(0);
  };
  ok(w.draw_lph, 'water.draw_lph');
  ok(w.days_left_current, 'water.days_left_current');
  ok(w.days_left_minimum, 'water.days_left_minimum');
  ok(w.liters, 'water.liters');
  for (const t of w.tanks) {
    ok(t.draw_lph, `${t.id}.draw_lph`);
    ok(t.liters, `${t.id}.liters`);
  }
}

describe('clock jumps', () => {
  it('an hour back and an hour forward: rates stay ≥ 0, every reading lands, no leak alert', async () => {
    const sent = { 'tank-north': 0, 'tank-hill': 0 };
    // an ordinary day's draw, about 100 L/h from each tank
    let northDist = 400; // north: 0.2 mm a minute (≈ 8 L/mm); the device sends no time, receive time is used
    let hillLevel = 1800; // hill: 0.15 mm a minute (≈ 12 L/mm); it stamps its own (jumping) clock
    let drawSeen = false;
    const step = async (label: string) => {
      now += 60_000;
      northDist = Math.round((northDist + 0.2) * 100) / 100;
      hillLevel = Math.round((hillLevel - 0.15) * 100) / 100;
      await north.publishAsync('tend/ashgrove/dev/tank-north/reading', JSON.stringify({ distance_mm: northDist }), { qos: 1 });
      await hill.publishAsync('tend/ashgrove/dev/tank-hill/reading', JSON.stringify({ level_mm: hillLevel, ts: now }), { qos: 1 });
      sent['tank-north']++;
      sent['tank-hill']++;
      const s = village.refresh();
      checkRates(s, label);
      if ((s.water.draw_lph ?? 0) > 0) drawSeen = true;
      const n = s.water.tanks.find((t) => t.id === 'north')!;
      const h = s.water.tanks.find((t) => t.id === 'hill')!;
      // the latest reading is what the status shows, whatever the clock did
      expect(n.level_mm, label).toBeCloseTo(2100 - northDist, 0);
      expect(h.level_mm, label).toBeCloseTo(hillLevel, 0);
    };
    // 40 minutes of steady draw: a draw figure appears
    for (let i = 0; i < 40; i++) await step(`steady ${i}`);
    expect(drawSeen).toBe(true);
    const drawBefore = village.refresh().water.draw_lph!;
    expect(drawBefore).toBeGreaterThan(0);

    // NTP steps the clock back an hour
    now -= HOUR;
    for (let i = 0; i < 20; i++) await step(`after the jump back ${i}`);
    // and forward two hours (an hour past where it was)
    now += 2 * HOUR;
    for (let i = 0; i < 20; i++) await step(`after the jump forward ${i}`);
    // and a second, smaller wobble back and forth
    now -= 10 * 60_000;
    for (let i = 0; i < 5; i++) await step(`after a 10-minute step back ${i}`);
    now += 10 * 60_000;
    for (let i = 0; i < 15; i++) await step(`settled ${i}`);

    // no reading lost: every one accepted and none refused
    expect(village.ingest.accepted.get('tank-north')).toBe(sent['tank-north']);
    expect(village.ingest.accepted.get('tank-hill')).toBe(sent['tank-hill']);
    expect(village.ingest.rejectedTotal).toBe(0);
    // the draw is positive again after the jumps settle, and no leak was raised by a jump
    const s = village.refresh();
    checkRates(s, 'end');
    expect(s.water.draw_lph ?? 0).toBeGreaterThanOrEqual(0);
    expect(s.sensors.stale).not.toContain('north');
    // (the other devices never report, so sensor_offline alerts are expected; nothing about water)
    expect(alerts.filter((a) => a.domain === 'water').map((a) => `${a.rule}: ${a.title}`)).toEqual([]);
    // the history the page draws never runs backwards in time
    const hist = village.reserve.history('north', now - 4 * HOUR);
    expect(hist.length).toBeGreaterThan(0);
    for (let i = 1; i < hist.length; i++) expect(hist[i]!.ts).toBeGreaterThanOrEqual(hist[i - 1]!.ts);
    for (const p of hist) expect(Number.isFinite(p.value)).toBe(true);
  }, 180_000);
});
