// The tracker's registry: the contents it knows (kind, title) and, per content, the peers holding
// it, with an expiry refreshed by their joins and Membership messages. Pure state; no I/O.
import type { Contact, ContentInfo, ContentKind, MemberInfo, Membership, Reachability } from '../protocol/messages.js';

export interface RegistryPeer {
  peerId: string;
  contact: Contact;
  /** Seq of the last Membership seen (0 while only a join is known). */
  seq: number;
  partnerCount: number;
  /** The peer's own classification from its last Membership ('unknown' while only a join is known). */
  reachability: Reachability;
  /** The registry forgets the peer at this time unless refreshed. */
  expiresAt: number;
  contents: Set<string>;
}

export interface RegistryContent {
  info: ContentInfo;
  /** Peer ids in registration order (the deputy round-robin walks it). */
  members: Set<string>;
  rrCursor: number;
}

export interface TrackerRegistryOptions {
  /** Longest time an entry stays without news (trackerMemberTtlMs). */
  trackerMemberTtlMs: number;
  /** Assumed TTL of a peer known only from its join (the engine's memberTtlMs). */
  joinTtlMs: number;
}

export class TrackerRegistry {
  private readonly peers = new Map<string, RegistryPeer>();
  private readonly byContent = new Map<string, RegistryContent>();

  constructor(private readonly opts: TrackerRegistryOptions) {}

  /** Makes a content known (no-op when it is); returns it and whether it was created. */
  ensureContent(contentId: string, kind: ContentKind, title = contentId): { content: RegistryContent; created: boolean } {
    const existing = this.byContent.get(contentId);
    if (existing) {
      // A title given later (a source's join after its Membership made the content known) wins
      // over the default title, which is the id.
      if (title !== contentId && existing.info.title === contentId) existing.info = { ...existing.info, title };
      return { content: existing, created: false };
    }
    const content: RegistryContent = {
      info: { contentId, kind, title, sizeBytes: 0 },
      members: new Set(),
      rrCursor: 0,
    };
    this.byContent.set(contentId, content);
    return { content, created: true };
  }

  /** Publishes (or updates) a content's catalogue entry. */
  publish(info: ContentInfo): { content: RegistryContent; created: boolean } {
    const r = this.ensureContent(info.contentId, info.kind, info.title);
    r.content.info = { ...info };
    return r;
  }

  /**
   * A member's ContentAnnounce (a publisher telling title and size): the content must exist and the
   * peer must have joined it. The first size announced sticks; a title replaces only the default
   * (the id). Returns whether anything changed.
   */
  describe(contentId: string, peerId: string, title: string, sizeBytes: number): boolean {
    const content = this.byContent.get(contentId);
    if (!content || !content.members.has(peerId)) return false;
    const info = content.info;
    const next = { ...info };
    if (typeof title === 'string' && title !== '' && info.title === contentId) next.title = title;
    if (info.sizeBytes === 0 && Number.isSafeInteger(sizeBytes) && sizeBytes > 0) next.sizeBytes = sizeBytes;
    if (next.title === info.title && next.sizeBytes === info.sizeBytes) return false;
    content.info = next;
    return true;
  }

  content(contentId: string): RegistryContent | undefined {
    return this.byContent.get(contentId);
  }

  contents(): RegistryContent[] {
    return [...this.byContent.values()];
  }

  peer(peerId: string): RegistryPeer | undefined {
    return this.peers.get(peerId);
  }

  get peerCount(): number {
    return this.peers.size;
  }

  /** A join: the peer holds the content from now on. The content must exist. */
  register(contentId: string, peerId: string, contact: Contact, now: number): void {
    const content = this.byContent.get(contentId);
    if (!content) return;
    const ttl = Math.min(this.opts.joinTtlMs, this.opts.trackerMemberTtlMs);
    let p = this.peers.get(peerId);
    if (!p) {
      p = { peerId, contact: { ...contact }, seq: 0, partnerCount: 0, reachability: 'unknown', expiresAt: now + ttl, contents: new Set() };
      this.peers.set(peerId, p);
    } else {
      p.contact = { ...contact };
      p.expiresAt = Math.max(p.expiresAt, now + ttl);
    }
    p.contents.add(contentId);
    content.members.add(peerId);
  }

  unregister(contentId: string, peerId: string): void {
    this.byContent.get(contentId)?.members.delete(peerId);
    const p = this.peers.get(peerId);
    if (!p) return;
    p.contents.delete(contentId);
    if (p.contents.size === 0) this.peers.delete(peerId);
  }

  /**
   * A Membership (checked to come from the peer itself). Newer seq refreshes the entry and syncs its
   * contents with the announced list (known contents only). Unknown peers are added only when
   * `addUnknown` (open trackers); returns whether the peer is now registered.
   */
  applyMembership(msg: Membership, now: number, addUnknown: boolean): boolean {
    let p = this.peers.get(msg.peerId);
    if (p && msg.seq <= p.seq) return true;
    const listed = new Set(Array.isArray(msg.activeContents) ? msg.activeContents : []);
    const known = [...listed].filter((c) => this.byContent.has(c));
    if (!p) {
      if (!addUnknown || known.length === 0) return false;
      p = { peerId: msg.peerId, contact: { ...msg.contact }, seq: 0, partnerCount: 0, reachability: 'unknown', expiresAt: now, contents: new Set() };
      this.peers.set(msg.peerId, p);
    }
    p.seq = msg.seq;
    p.contact = { ...msg.contact };
    p.partnerCount = Number.isFinite(msg.partnerCount) && msg.partnerCount >= 0 ? msg.partnerCount : 0;
    p.reachability = (['public', 'mapped', 'nat'] as const).find((r) => r === msg.reachability) ?? 'unknown';
    const ttl = Number.isFinite(msg.ttlMs) && msg.ttlMs > 0 ? msg.ttlMs : 0;
    p.expiresAt = now + Math.min(ttl, this.opts.trackerMemberTtlMs);
    for (const c of [...p.contents]) if (!listed.has(c)) this.unregister(c, p.peerId);
    for (const c of known) {
      p.contents.add(c);
      this.byContent.get(c)?.members.add(p.peerId);
    }
    if (p.contents.size === 0) {
      this.peers.delete(p.peerId);
      return false;
    }
    return true;
  }

  /** Live peers holding a content, except `exclude`. */
  activeMembers(contentId: string, now: number, exclude?: string): RegistryPeer[] {
    const content = this.byContent.get(contentId);
    if (!content) return [];
    const out: RegistryPeer[] = [];
    for (const id of content.members) {
      const p = this.peers.get(id);
      if (p && p.expiresAt > now && id !== exclude) out.push(p);
    }
    return out;
  }

  /** The entry as a members-list item; its TTL is what remains of the registry's trust. */
  memberInfo(p: RegistryPeer, now: number): MemberInfo {
    return {
      peerId: p.peerId,
      contact: { ...p.contact },
      seq: p.seq,
      ttlMs: Math.max(0, p.expiresAt - now),
      partnerCount: p.partnerCount,
      reachability: p.reachability,
    };
  }

  /**
   * Next deputy, round-robin over the content's members: live, not `exclude`, fewer than
   * `maxPartners` partners. Members already partnered (so with a populated mCache) are preferred;
   * a newcomer is used only when nobody else qualifies.
   */
  nextDeputy(contentId: string, now: number, exclude: string, maxPartners: number): RegistryPeer | undefined {
    const content = this.byContent.get(contentId);
    if (!content || content.members.size === 0) return undefined;
    const ids = [...content.members];
    let fallback: { peer: RegistryPeer; index: number } | undefined;
    for (let k = 0; k < ids.length; k++) {
      const index = (content.rrCursor + k) % ids.length;
      const p = this.peers.get(ids[index] as string);
      // A deputy behind a NAT cannot be dialled by the joiner it would be sent to.
      if (!p || p.peerId === exclude || p.expiresAt <= now || p.partnerCount >= maxPartners || p.reachability === 'nat') continue;
      if (p.partnerCount > 0) {
        content.rrCursor = index + 1;
        return p;
      }
      fallback ??= { peer: p, index };
    }
    if (fallback) content.rrCursor = fallback.index + 1;
    return fallback?.peer;
  }

  /** Forgets peers whose time is up; returns their ids. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const p of this.peers.values()) if (p.expiresAt <= now) gone.push(p.peerId);
    for (const id of gone) {
      const p = this.peers.get(id);
      for (const c of p?.contents ?? []) this.byContent.get(c)?.members.delete(id);
      this.peers.delete(id);
    }
    return gone;
  }
}
