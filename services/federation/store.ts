// Federation state kept in the village's SQLite file (tables fed_*): the village's own edited or
// withdrawn offer, and the last news of each neighbour so the page can say when they were last
// heard even after a restart during a cut. Neighbour rows are written by the group commit.
import type { Storage } from '../storage.ts';
import type { NeighbourRecord } from './neighbours.ts';

export interface OwnOffer {
  /** the village's own text; null with withdrawn=false means "use the computed offer" */
  text: string | null;
  withdrawn: boolean;
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
      CREATE TABLE IF NOT EXISTS fed_neighbour (
        village TEXT PRIMARY KEY, record TEXT NOT NULL, received_at INTEGER NOT NULL);
    `);
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
      offer: db.prepare('SELECT text, withdrawn, updated_at FROM fed_offer WHERE id = 1'),
      delOffer: db.prepare('DELETE FROM fed_offer WHERE id = 1'),
      putOffer: db.prepare('INSERT OR REPLACE INTO fed_offer (id, text, withdrawn, updated_at) VALUES (1, ?, ?, ?)'),
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
    const row = this.st.offer.get() as { text: string | null; withdrawn: number; updated_at: string } | undefined;
    return row ? { text: row.text, withdrawn: row.withdrawn === 1, updated_at: row.updated_at } : null;
  }

  /** an edit from the page is rare and matters: written at once, not batched */
  saveOffer(o: OwnOffer | null): void {
    if (o === null) this.st.delOffer.run();
    else this.st.putOffer.run(o.text, o.withdrawn ? 1 : 0, o.updated_at);
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
