// The data plane's view of one content's partners: refreshed from the engine every tick (the engine's
// pCache is the truth), with what the data plane learns per partner — when it last exchanged a chunk
// with us either way (usefulness) and what buffer map it was last sent.
import type { BufferMap } from './buffer-map.js';
import type { PartnerAddress, PeerAddress } from './ports.js';

export interface LivePartner {
  address: PeerAddress;
  peerId: string;
  /** When the data plane first saw the partnership. */
  since: number;
  /** Last chunk exchanged either way (useful chunk received, or chunk served); -Infinity when none. */
  lastExchangeAt: number;
  /** Chunks it supplied to us (verified and stored) and chunks we served it. */
  chunksIn: number;
  chunksOut: number;
  /** Last time our buffer map went to it, and which map (identity) it was. */
  mapSentAt: number;
  mapSent: object | undefined;
  /** Our map as the partner holds it (the last map or delta it was sent), and when it was last sent a whole one: deltas are computed from it. */
  mapShown: BufferMap | undefined;
  mapFullAt: number;
  /** The engine's partnership epoch (PartnerAddress.epoch). */
  epoch: number | undefined;
  /** What it understands beyond the base protocol (its Features: 'due', 'cancel', 'map-delta'); empty until it says. */
  features: ReadonlySet<string>;
}

export interface PartnerChanges {
  added: LivePartner[];
  removed: LivePartner[];
}

const NO_FEATURES: ReadonlySet<string> = new Set();

const NO_CHANGES: PartnerChanges = Object.freeze({ added: [], removed: [] }) as PartnerChanges;

export class LivePartners {
  private readonly byId = new Map<string, LivePartner>();
  private idList: string[] = [];

  /** Partner ids in a stable order (order of arrival). */
  get ids(): readonly string[] {
    return this.idList;
  }

  get size(): number {
    return this.byId.size;
  }

  get(peerId: string): LivePartner | undefined {
    return this.byId.get(peerId);
  }

  has(peerId: string): boolean {
    return this.byId.has(peerId);
  }

  all(): IterableIterator<LivePartner> {
    return this.byId.values();
  }

  /** Aligns with the engine's current partner list; returns who came and went. */
  refresh(current: readonly PartnerAddress[], now: number): PartnerChanges {
    const same = (a: PartnerAddress): boolean => this.byId.get(a.peerId)?.epoch === a.epoch && this.byId.has(a.peerId);
    let changed = current.length !== this.byId.size;
    if (!changed) for (const a of current) if (!same(a)) changed = true;
    if (!changed) return NO_CHANGES;
    const added: LivePartner[] = [];
    const removed: LivePartner[] = [];
    const seen = new Set<string>();
    for (const a of current) {
      seen.add(a.peerId);
      if (same(a)) continue;
      // A partnership that ended and formed again since the last look is a new partner: what the
      // old one had queued, in flight or advertised is forgotten (removed) before it is added.
      const old = this.byId.get(a.peerId);
      if (old) removed.push(old);
      const p: LivePartner = { address: a, peerId: a.peerId, since: now, lastExchangeAt: -Infinity, chunksIn: 0, chunksOut: 0, mapSentAt: -Infinity, mapSent: undefined, mapShown: undefined, mapFullAt: -Infinity, epoch: a.epoch, features: NO_FEATURES };
      this.byId.set(a.peerId, p);
      added.push(p);
    }
    for (const [id, p] of this.byId) {
      if (!seen.has(id)) {
        this.byId.delete(id);
        removed.push(p);
      }
    }
    this.idList = [...this.byId.keys()];
    return { added, removed };
  }

  /** Forgets one partner at once (we ended the partnership ourselves). */
  remove(peerId: string): LivePartner | undefined {
    const p = this.byId.get(peerId);
    if (!p) return undefined;
    this.byId.delete(peerId);
    this.idList = [...this.byId.keys()];
    return p;
  }

  /** A chunk went to (`out`) or came from the partner. */
  exchanged(peerId: string, now: number, out: boolean): void {
    const p = this.byId.get(peerId);
    if (!p) return;
    p.lastExchangeAt = now;
    if (out) p.chunksOut++;
    else p.chunksIn++;
  }
}
