// pCache: per active content, the partners (with when we last heard from them), our pending
// outgoing partnership requests (with deadlines) and a short back-off list of peers not to ask
// again yet. Pure state plus partnerAdded/partnerRemoved notifications; sending is done by callers.
import type { Contact } from '../protocol/messages.js';
import type { EngineEvents } from './ports.js';

export interface PartnerEntry {
  peerId: string;
  contact: Contact;
  since: number;
  lastHeardAt: number;
  /** Distinct for every partnership formed (see PartnerAddress.epoch). */
  epoch: number;
}

export interface PendingRequest {
  peerId: string;
  contact: Contact;
  sentAt: number;
  deadline: number;
}

/** Reasons carried in a refused PartnershipResp. */
export const RefusalReason = {
  Full: 'full',
  ContentNotActive: 'content-not-active',
  /** The slots left are kept for members behind NAT (engine.natReservedSlots). */
  ReservedForNat: 'reserved-for-nat',
} as const;

export type PartnershipDecision = { accepted: true } | { accepted: false; reason: string };

interface ContentPartners {
  partners: Map<string, PartnerEntry>;
  pending: Map<string, PendingRequest>;
  backoffUntil: Map<string, number>;
}

export interface PartnerCacheOptions {
  maxPartners: number;
  events?: EngineEvents;
}

export class PartnerCache {
  private readonly byContent = new Map<string, ContentPartners>();
  private changes = 0;

  /** Increases whenever a partner is added or removed (anywhere): cheap change detection. */
  get version(): number {
    return this.changes;
  }

  constructor(private readonly opts: PartnerCacheOptions) {}

  activate(contentId: string): void {
    if (!this.byContent.has(contentId)) {
      this.byContent.set(contentId, { partners: new Map(), pending: new Map(), backoffUntil: new Map() });
    }
  }

  /** Forgets a content; returns the partners it had (already notified as removed with `reason`). */
  deactivate(contentId: string, reason: string): PartnerEntry[] {
    const c = this.byContent.get(contentId);
    if (!c) return [];
    const had = [...c.partners.values()];
    for (const p of had) this.remove(contentId, p.peerId, reason);
    this.byContent.delete(contentId);
    return had;
  }

  isActive(contentId: string): boolean {
    return this.byContent.has(contentId);
  }

  contents(): string[] {
    return [...this.byContent.keys()];
  }

  partners(contentId: string): PartnerEntry[] {
    const c = this.byContent.get(contentId);
    return c ? [...c.partners.values()] : [];
  }

  partnerCount(contentId: string): number {
    return this.byContent.get(contentId)?.partners.size ?? 0;
  }

  isPartner(contentId: string, peerId: string): boolean {
    return this.byContent.get(contentId)?.partners.has(peerId) ?? false;
  }

  pendingCount(contentId: string): number {
    return this.byContent.get(contentId)?.pending.size ?? 0;
  }

  isPending(contentId: string, peerId: string): boolean {
    return this.byContent.get(contentId)?.pending.has(peerId) ?? false;
  }

  /** Decision on an incoming PartnershipReq (does not change state). */
  decide(contentId: string, peerId: string): PartnershipDecision {
    const c = this.byContent.get(contentId);
    if (!c) return { accepted: false, reason: RefusalReason.ContentNotActive };
    if (c.partners.has(peerId)) return { accepted: true };
    if (c.partners.size >= this.opts.maxPartners) return { accepted: false, reason: RefusalReason.Full };
    return { accepted: true };
  }

  /** Whether one more partner fits in this content. */
  hasRoom(contentId: string): boolean {
    const c = this.byContent.get(contentId);
    return c !== undefined && c.partners.size < this.opts.maxPartners;
  }

  /** Adds (or refreshes) a partner; clears a pending request to it. False when the content is inactive. */
  add(contentId: string, peerId: string, contact: Contact, now: number): boolean {
    const c = this.byContent.get(contentId);
    if (!c) return false;
    c.pending.delete(peerId);
    const existing = c.partners.get(peerId);
    if (existing) {
      existing.lastHeardAt = now;
      return true;
    }
    this.changes++;
    c.partners.set(peerId, { peerId, contact: { ...contact }, since: now, lastHeardAt: now, epoch: this.changes });
    this.opts.events?.partnerAdded?.(contentId, peerId);
    return true;
  }

  remove(contentId: string, peerId: string, reason: string): boolean {
    const c = this.byContent.get(contentId);
    if (!c || !c.partners.delete(peerId)) return false;
    this.changes++;
    this.opts.events?.partnerRemoved?.(contentId, peerId, reason);
    return true;
  }

  /** Removes the peer from every content (partner and pending); says where it was which. */
  removeEverywhere(peerId: string, reason: string): { partnerIn: string[]; pendingIn: string[] } {
    const partnerIn: string[] = [];
    const pendingIn: string[] = [];
    for (const [contentId, c] of this.byContent) {
      if (c.pending.delete(peerId)) pendingIn.push(contentId);
      if (this.remove(contentId, peerId, reason)) partnerIn.push(contentId);
    }
    return { partnerIn, pendingIn };
  }

  addPending(contentId: string, peerId: string, contact: Contact, now: number, deadline: number): void {
    this.byContent.get(contentId)?.pending.set(peerId, { peerId, contact: { ...contact }, sentAt: now, deadline });
  }

  takePending(contentId: string, peerId: string): PendingRequest | undefined {
    const c = this.byContent.get(contentId);
    const p = c?.pending.get(peerId);
    if (p) c?.pending.delete(peerId);
    return p;
  }

  /** Removes and returns the pending requests whose deadline passed; also prunes old back-offs. */
  expirePending(contentId: string, now: number): PendingRequest[] {
    const c = this.byContent.get(contentId);
    if (!c) return [];
    const gone: PendingRequest[] = [];
    for (const [id, p] of c.pending) {
      if (p.deadline <= now) {
        c.pending.delete(id);
        gone.push(p);
      }
    }
    for (const [id, until] of c.backoffUntil) if (until <= now) c.backoffUntil.delete(id);
    return gone;
  }

  /** Any message from a peer proves it alive: refresh it wherever it is a partner. */
  heardFrom(peerId: string, now: number): void {
    for (const c of this.byContent.values()) {
      const p = c.partners.get(peerId);
      if (p) p.lastHeardAt = now;
    }
  }

  /** Partners silent since before `heardBefore`. */
  stale(contentId: string, heardBefore: number): PartnerEntry[] {
    const c = this.byContent.get(contentId);
    if (!c) return [];
    return [...c.partners.values()].filter((p) => p.lastHeardAt < heardBefore);
  }

  /** Whether we have any relation (partner or pending request) with the peer, in any content. */
  hasRelation(peerId: string): boolean {
    for (const c of this.byContent.values()) {
      if (c.partners.has(peerId) || c.pending.has(peerId)) return true;
    }
    return false;
  }

  /** Distinct partner peers over all contents (our announced partner count). */
  distinctPartners(): Map<string, PartnerEntry> {
    const out = new Map<string, PartnerEntry>();
    for (const c of this.byContent.values()) for (const [id, p] of c.partners) out.set(id, p);
    return out;
  }

  backoff(contentId: string, peerId: string, until: number): void {
    this.byContent.get(contentId)?.backoffUntil.set(peerId, until);
  }

  inBackoff(contentId: string, peerId: string, now: number): boolean {
    const until = this.byContent.get(contentId)?.backoffUntil.get(peerId);
    return until !== undefined && until > now;
  }
}
