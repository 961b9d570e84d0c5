// Peers not to partner with in a content until a time (a peer that sent a bad chunk, a partner
// replaced for supplying nothing). Consulted by the member scheduler (no partnership request to a
// blocked peer) and the partnership handler (its requests are refused). Entries expire.

const key = (contentId: string, peerId: string): string => `${contentId}\u0000${peerId}`;

export class PeerBlocklist {
  private readonly until = new Map<string, number>();

  /** Blocks the peer in the content until `untilMs` (never shortens an existing block). */
  block(contentId: string, peerId: string, untilMs: number): void {
    const k = key(contentId, peerId);
    const prev = this.until.get(k);
    if (prev === undefined || prev < untilMs) this.until.set(k, untilMs);
  }

  isBlocked(contentId: string, peerId: string, now: number): boolean {
    if (this.until.size === 0) return false;
    const k = key(contentId, peerId);
    const t = this.until.get(k);
    if (t === undefined) return false;
    if (t > now) return true;
    this.until.delete(k);
    return false;
  }

  /** Drops expired entries (and everything of a content when given one that is left). */
  prune(now: number, contentId?: string): void {
    const prefix = contentId === undefined ? undefined : `${contentId}\u0000`;
    for (const [k, t] of this.until) if (t <= now || (prefix !== undefined && k.startsWith(prefix))) this.until.delete(k);
  }

  get size(): number {
    return this.until.size;
  }
}
