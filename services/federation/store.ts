// Federation state kept in the village's SQLite file (tables fed_*): the village's own edited or
// withdrawn offer, its need, and the last news of each neighbour so the page can say when they were last
// heard even after a restart during a cut. Neighbour rows are written by the group commit.
import type { Storage } from '../storage.ts';
import type { NeighbourRecord } from './neighbours.ts';
import type { Quantities } from './topics.ts';

export interface OwnOffer {
  /** the village's own text; null with withdrawn=false means "use the computed offer" */
  text: string | null;
  withdrawn: boolean;
  updated_at: string;
  /** what the offer counts, when the village said (absent on offers kept before needs existed) */
  quantities?: Quantities;
}

/** What the assembly has said the village needs from its neighbours. */
export interface OwnNeed {
  text: string;
  quantities: Quantities;
  updated_at: string;
}

export class FederationStore {
  private dirty = new Map<string, NeighbourRecord | null>();
  private registered = false;
  private stmts: ReturnType<FederationStore['prepare']> | null = null;

  constructor(private readonly storage: Storage) {}

  /** create tables (called from start(), never from a constructor) */
  open(): void {
    this.storage.db.exec(`
      CREATE TABLE IF NOT EXISTS fed_offer (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        text TEXT, withdrawn INTEGER NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS fed_need (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        text TEXT NOT NULL, quantities TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS fed_neighbour (
        village TEXT PRIMARY KEY, record TEXT NOT NULL, received_at INTEGER NOT NULL);
    `);
    // offers kept before needs existed have no quantities column yet
    const cols = this.storage.db.prepare('PRAGMA table_info(fed_offer)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'quantities')) this.storage.db.exec('ALTER TABLE fed_offer ADD COLUMN quantities TEXT');
    this.stmts = this.prepare();
    if (!this.registered) {
      this.registered = true;
      this.storage.register({ flush: () => this.flush() });
    }
  }

  /** statements prepared once per open(), not on every call */
  private prepare() {
    const db = this.storage.db;
    return {
      offer: db.prepare('SELECT text, withdrawn, updated_at, quantities FROM fed_offer WHERE id = 1'),
      delOffer: db.prepare('DELETE FROM fed_offer WHERE id = 1'),
      putOffer: db.prepare('INSERT OR REPLACE INTO fed_offer (id, text, withdrawn, updated_at, quantities) VALUES (1, ?, ?, ?, ?)'),
      need: db.prepare('SELECT text, quantities, updated_at FROM fed_need WHERE id = 1'),
      delNeed: db.prepare('DELETE FROM fed_need WHERE id = 1'),
      putNeed: db.prepare('INSERT OR REPLACE INTO fed_need (id, text, quantities, updated_at) VALUES (1, ?, ?, ?)'),
      neighbours: db.prepare('SELECT record FROM fed_neighbour'),
      putNeighbour: db.prepare('INSERT OR REPLACE INTO fed_neighbour (village, record, received_at) VALUES (?, ?, ?)'),
      delNeighbour: db.prepare('DELETE FROM fed_neighbour WHERE village = ?'),
    };
  }

  private get st(): NonNullable<FederationStore['stmts']> {
    if (!this.stmts) throw new Error('FederationStore: open() first');
    return this.stmts;
  }

  loadOffer(): OwnOffer | null {
    const row = this.st.offer.get() as { text: string | null; withdrawn: number; updated_at: string; quantities: string | null } | undefined;
    if (!row) return null;
    return { text: row.text, withdrawn: row.withdrawn === 1, updated_at: row.updated_at, quantities: parseQuantities(row.quantities) };
  }

  /** an edit from the page is rare and matters: written at once, not batched */
  saveOffer(o: OwnOffer | null): void {
    if (o === null) this.st.delOffer.run();
    else this.st.putOffer.run(o.text, o.withdrawn ? 1 : 0, o.updated_at, JSON.stringify(o.quantities ?? {}));
  }

  loadNeed(): OwnNeed | null {
    const row = this.st.need.get() as { text: string; quantities: string; updated_at: string } | undefined;
    return row ? { text: row.text, quantities: parseQuantities(row.quantities), updated_at: row.updated_at } : null;
  }

  /** like the offer: a person's edit, written at once */
  saveNeed(n: OwnNeed | null): void {
    if (n === null) this.st.delNeed.run();
    else this.st.putNeed.run(n.text, JSON.stringify(n.quantities), n.updated_at);
  }

  loadNeighbours(): NeighbourRecord[] {
    const rows = this.st.neighbours.all() as { record: string }[];
    const out: NeighbourRecord[] = [];
    for (const row of rows) {
      try {
        out.push(JSON.parse(row.record) as NeighbourRecord);
      } catch {
        // a damaged row is skipped; the broker's retained copy refills it
      }
    }
    return out;
  }

  /** queue a neighbour's record (null: forget it) for the next group commit */
  queueNeighbour(village: string, r: NeighbourRecord | null): void {
    this.dirty.set(village, r);
    this.storage.commitSoon();
  }

  private flush(): void {
    if (this.dirty.size === 0 || !this.storage.db.open) return;
    const { putNeighbour: put, delNeighbour: del } = this.st;
    for (const [village, r] of this.dirty) {
      if (r) put.run(village, JSON.stringify(r), r.received_at);
      else del.run(village);
    }
    this.dirty.clear();
  }
}

/** quantities as kept; a damaged value keeps the words and drops the figures (the page can set them again) */
function parseQuantities(json: string | null): Quantities {
  if (!json) return {};
  try {
    const q = JSON.parse(json) as unknown;
    return q && typeof q === 'object' ? (q as Quantities) : {};
  } catch {
    return {};
  }
}
