// Who is watching on a phone: a viewer is a browser session (or, without a cookie, an address) that
// fetched a playlist within the last VIEWER_IDLE_MS. At most `max` at once (web.maxViewers): a new
// one beyond that is refused until one leaves. Pure (time from `now`).

export const VIEWER_IDLE_MS = 15_000;

export type Admission = { ok: true } | { ok: false; active: number; max: number };

export class PhoneViewers {
  private readonly seen = new Map<string, { lastMs: number; channel: string }>();
  private refusedCount = 0;

  constructor(
    private readonly max: number,
    private readonly now: () => number,
    private readonly idleMs = VIEWER_IDLE_MS,
  ) {}

  /** `who` fetched the playlist of `channel`: admitted (and kept alive) or refused. */
  touch(who: string, channel: string): Admission {
    this.expire();
    const known = this.seen.get(who);
    if (!known && this.seen.size >= this.max) {
      this.refusedCount++;
      return { ok: false, active: this.seen.size, max: this.max };
    }
    this.seen.set(who, { lastMs: this.now(), channel });
    return { ok: true };
  }

  /** Is `who` a current viewer (segments are served to viewers only)? */
  has(who: string): boolean {
    this.expire();
    return this.seen.has(who);
  }

  get active(): number {
    this.expire();
    return this.seen.size;
  }

  get limit(): number {
    return this.max;
  }

  get refused(): number {
    return this.refusedCount;
  }

  /** Current viewers per channel. */
  perChannel(): Record<string, number> {
    this.expire();
    const out: Record<string, number> = {};
    for (const v of this.seen.values()) out[v.channel] = (out[v.channel] ?? 0) + 1;
    return out;
  }

  private expire(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [who, v] of this.seen) if (v.lastMs < cutoff) this.seen.delete(who);
  }
}
