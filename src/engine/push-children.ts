// The sending side of pushed sub-streams (docs/live-push.md): which partners subscribed to which of
// our sub-streams, until when (a lease their renewals extend), and whether we take one more.
// Admission is the caller's rule (live-server.ts): a source takes a few children per sub-stream; a
// viewer takes a sub-stream only while it is fed itself, never from its own parent there, and while
// its pushes stay within what its uplink measurably carries. A renewal keeps what was accepted unless
// `keep` says otherwise (no longer fed, or shedding load). Pure: time is passed in.

export interface PushChildrenOptions {
  count: number;
  leaseMs: number;
}

interface Child {
  mask: number;
  expiresAt: number;
}

export class PushChildren {
  private readonly children = new Map<string, Child>();
  private bySub: string[][] | undefined;

  constructor(private readonly opts: PushChildrenOptions) {}

  /** (child, sub-stream) pairs we push. */
  get pairs(): number {
    let n = 0;
    for (const c of this.children.values()) n += popcount(c.mask);
    return n;
  }

  /** The sub-streams a partner holds now (0: none). */
  childMask(peerId: string): number {
    return this.children.get(peerId)?.mask ?? 0;
  }

  /** Partners subscribed to sub-stream s. */
  childrenOf(s: number): readonly string[] {
    this.bySub ??= this.index();
    return this.bySub[s] ?? [];
  }

  /**
   * A SubstreamSub: returns the mask accepted. A sub-stream already held is kept while `keep(s)`;
   * a new one is taken when `admit(s)` (called with the pairs counted so far).
   */
  onSub(peerId: string, mask: number, now: number, keep: (s: number) => boolean, admit: (s: number) => boolean): number {
    const old = this.children.get(peerId)?.mask ?? 0;
    let accepted = 0;
    this.children.delete(peerId);
    this.bySub = undefined;
    for (let s = 0; s < this.opts.count; s++) {
      if (!((mask >>> s) & 1)) continue;
      if ((old >>> s) & 1 ? keep(s) : admit(s)) accepted |= 1 << s;
    }
    if (accepted !== 0) this.children.set(peerId, { mask: accepted, expiresAt: now + this.opts.leaseMs });
    // admit() may have rebuilt the index from the children without this one.
    this.bySub = undefined;
    return accepted >>> 0;
  }

  /** Drops one child's sub-stream (we cannot feed it any more); it re-chooses when it next renews. */
  drop(peerId: string, s: number): void {
    const c = this.children.get(peerId);
    if (!c) return;
    c.mask &= ~(1 << s);
    if (c.mask === 0) this.children.delete(peerId);
    this.bySub = undefined;
  }

  expire(now: number): void {
    for (const [peerId, c] of this.children) {
      if (c.expiresAt <= now) {
        this.children.delete(peerId);
        this.bySub = undefined;
      }
    }
  }

  dropPeer(peerId: string): void {
    if (this.children.delete(peerId)) this.bySub = undefined;
  }

  private index(): string[][] {
    const out: string[][] = Array.from({ length: this.opts.count }, () => []);
    for (const [peerId, c] of this.children) for (let s = 0; s < this.opts.count; s++) if ((c.mask >>> s) & 1) out[s]?.push(peerId);
    return out;
  }
}

export function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}
