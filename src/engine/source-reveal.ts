// The source's advertising policy (keeps its upload near one copy of the stream): a newly published
// chunk is first shown in the buffer maps of only `firstCopies` partners, chosen round-robin, so they
// fetch it and the rest of the swarm gets it from them (rarity makes it their first choice); once the
// chunk is `revealMs` old every partner sees it, so nobody misses a deadline for want of a supplier.
// With firstCopies = 0 every chunk is shown to everyone at once (plain DONet).
// The source's own BufferMap still mirrors its buffer; only what each partner is shown is filtered.

export interface SourceRevealOptions {
  firstCopies: number;
  revealMs: number;
}

interface Published {
  at: number;
  to: readonly string[];
}

export class SourceReveal {
  private readonly published = new Map<number, Published>();
  private next = 0;

  constructor(private readonly opts: SourceRevealOptions) {}

  get active(): boolean {
    return this.opts.firstCopies > 0;
  }

  /** A chunk was published; returns the partners it is shown to first. */
  onPublish(chunkId: number, now: number, partners: readonly string[]): readonly string[] {
    const n = Math.min(this.opts.firstCopies, partners.length);
    const to: string[] = [];
    for (let i = 0; i < n; i++) to.push(partners[(this.next + i) % partners.length] as string);
    this.next = partners.length > 0 ? (this.next + n) % partners.length : 0;
    this.published.set(chunkId, { at: now, to });
    return to;
  }

  /** Whether the partner is shown the chunk now. */
  visible(chunkId: number, peerId: string, now: number): boolean {
    if (!this.active) return true;
    const p = this.published.get(chunkId);
    if (!p) return true;
    return now - p.at >= this.opts.revealMs || p.to.includes(peerId);
  }

  /** Forgets chunks below `chunkId` (they left the window). */
  forgetBelow(chunkId: number): void {
    for (const id of this.published.keys()) if (id < chunkId) this.published.delete(id);
  }
}
