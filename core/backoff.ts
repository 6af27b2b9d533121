// Reconnect delay for a lost link (serial port, external broker, federation): 1 s, 2 s, 4 s … capped at 30 s ("a growing,
// capped delay"). No jitter: each port has one client, so there is no herd to spread out.
export interface BackoffOptions {
  first_ms?: number;
  max_ms?: number;
  factor?: number;
}

export class Backoff {
  private attempt = 0;
  private last = 0;
  private readonly first: number;
  private readonly max: number;
  private readonly factor: number;

  constructor(opts: BackoffOptions = {}) {
    this.first = opts.first_ms ?? 1000;
    this.max = opts.max_ms ?? 30_000;
    this.factor = opts.factor ?? 2;
  }

  /** the delay before the next attempt; each call grows the next one */
  next(): number {
    const d = Math.min(this.max, this.first * this.factor ** this.attempt);
    if (d < this.max) this.attempt++;
    this.last = d;
    return d;
  }

  /** true once the delay has reached its cap: the link has been failing for a while */
  get capped(): boolean {
    return this.last >= this.max;
  }

  /** the link works again: start from the first delay next time */
  reset(): void {
    this.attempt = 0;
    this.last = 0;
  }
}
