// Totals that include stale parts say so: how many tanks and cold units are stale, and the
// prompt's reserves name the figures that include them.
import { afterEach, describe, expect, it } from 'vitest';
import { reservesOf } from '../../../services/assembly/prompt.ts';
import type { ReserveStatus } from '../../../core/types.ts';
import { rig, T0, type Rig } from './fixture.ts';

let r: Rig | null = null;
afterEach(() => {
  r?.reserve.stop();
  r?.storage.close();
  r = null;
});
const status = () => ({ ...r!.reserve.status({ rejected_total: 0 }), alerts: [], assembly: [] }) as ReserveStatus;

describe('stale parts', () => {
  it('counts stale tanks and cold units; the prompt reserves name the figures that include them', () => {
    r = rig();
    r.feed('east', 1000);
    r.feed('north', 600);
    r.feed('fridge', 3);
    const shed = () => {
      for (const id of ['soc', 'volts', 'load', 'solar']) r!.feed(id, 50);
    };
    shed();
    let s = status();
    expect(s.water.stale_tanks).toBe(0);
    expect(s.cold.stale_units).toBe(0);
    expect(reservesOf(s).includes_stale).toEqual([]);

    // two minutes on, only the north tank, the fridge and the power shed report again
    r.clock.set(T0 + 2 * 60_000);
    r.feed('north', 601);
    r.feed('fridge', 3);
    shed();
    s = status();
    expect(s.water.stale_tanks).toBe(1);
    expect(s.water.tanks.find((t) => t.id === 'east')).toMatchObject({ stale: true, liters: 2000 });
    // the stale tank's last litres still count in the total
    expect(s.water.liters).toBeCloseTo(2000 + s.water.tanks.find((t) => t.id === 'north')!.liters!, 1);
    expect(s.cold.stale_units).toBe(0);
    expect(reservesOf(s).includes_stale).toEqual(['The water figures include East tank, not heard since 26 Nov 06:00 UTC']);

    // the coldroom goes offline too; the shed's battery stays current
    r.reserve.setDeviceOnline('coldroom', false, T0 + 2 * 60_000 + 1);
    s = status();
    expect(s.cold.stale_units).toBe(1);
    expect(s.power.stale).toBe(false);
    expect(reservesOf(s).includes_stale).toEqual([
      'The water figures include East tank, not heard since 26 Nov 06:00 UTC',
      'The cold storage figures include Clinic fridge, not heard since 26 Nov 06:02 UTC',
    ]);
    r.reserve.setDeviceOnline('shed', false, T0 + 2 * 60_000 + 1);
    expect(reservesOf(status()).includes_stale).toContain('Some of the power readings are not current');
  });
});
