// `tend history flush --config FILE`: drains the outbox under storage.dir to InfluxDB by hand,
// with a progress bar and a rate. Safe to run while tend is stopped (it opens the same SQLite
// file); while tend runs, its own writer is already draining.
import type { Config } from '../../config/schema.ts';
import { VillageEventHub } from '../events.ts';
import { Storage } from '../storage.ts';
import { systemClock } from '../../core/types.ts';
import { History } from './index.ts';

type Out = { write(s: string): unknown; isTTY?: boolean };

export function progressLine(done: number, total: number, rate: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} points ${(frac * 100).toFixed(0)}% ${Math.round(rate)} points/s`;
}

export async function flushHistory(config: Config, out: Out, err: Out): Promise<number> {
  if (!config.influx) {
    err.write('tend history flush: the config has no influx: section, so there is nowhere to send history\n');
    return 2;
  }
  const storage = new Storage(config.storage.dir, { log: (m) => err.write(`${m}\n`) });
  const history = new History({ config, clock: systemClock, storage, events: new VillageEventHub(), log: (m) => err.write(`${m}\n`) });
  let lastDraw = 0;
  try {
    history.start();
    const total = history.stats().outbox_rows;
    out.write(`history outbox: ${total} points waiting for ${config.influx.url} (database ${config.influx.database})\n`);
    const sent = await history.flush((done, all, rate) => {
      const now = Date.now();
      if (now - lastDraw < 200 && done < all) return;
      lastDraw = now;
      out.write(out.isTTY ? `\r${progressLine(done, all, rate)}` : `${progressLine(done, all, rate)}\n`);
    });
    const s = history.stats();
    out.write(
      `${out.isTTY ? '\n' : ''}sent ${sent} points; ${s.outbox_rows} left, ${s.rejected_total} set aside as refused, ${s.dropped_total} dropped by the outbox bound\n`,
    );
    return 0;
  } catch (e) {
    err.write(`${out.isTTY ? '\n' : ''}tend history flush: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await history.stop();
    storage.close();
  }
}
