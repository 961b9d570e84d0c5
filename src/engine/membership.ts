// mCache: the members a peer knows (thesis §3.3.2.1), fed by Membership announcements (from the
// member itself) and by gossip (MembersResp/TrackerMembers entries). Rules:
//  - an own Membership with a newer seq replaces the entry and sets expiry to now + its TTL;
//    same or older seq is ignored;
//  - a gossip entry inserts or updates only when its seq is newer, and carries the REMAINING TTL of
//    the announcement it comes from, so gossip can never keep a silent member alive past the TTL its
//    last own announcement gave (same seq only adds the content the gossip was about);
//  - entries expire at expiresAt; the cache is bounded (evict the entry closest to expiry);
//  - our own peer is never stored.
import type { Contact, MemberInfo, Membership, Reachability } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import type { EngineEvents } from './ports.js';
import type { EngineStats } from './engine-stats.js';

export interface MemberEntry {
  peerId: string;
  contact: Contact;
  seq: number;
  /** Clock time after which the member is forgotten. */
  expiresAt: number;
  partnerCount: number;
  /** Whether the member's contact can be dialled ('nat': never dial it, it dials us). */
  reachability: Reachability;
  activeContents: Set<string>;
  /** True when activeContents comes from the member's own Membership (complete list). */
  authoritative: boolean;
}

export type MemberUpdate = 'added' | 'updated' | 'ignored';

export interface MemberCacheOptions {
  selfId: string;
  maxEntries: number;
  /** Longest TTL believed; longer announcements are clamped to it. */
  maxTtlMs: number;
  events?: EngineEvents;
  stats?: EngineStats;
}

function validContact(c: unknown): c is Contact {
  if (typeof c !== 'object' || c === null) return false;
  const { host, port } = c as Contact;
  return typeof host === 'string' && host.length > 0 && Number.isInteger(port) && port >= 0 && port <= 65535;
}

const REACHABILITIES: readonly Reachability[] = ['unknown', 'public', 'mapped', 'nat'];
function cleanReach(r: unknown): Reachability {
  return REACHABILITIES.includes(r as Reachability) ? (r as Reachability) : 'unknown';
}

function validSeq(seq: unknown): seq is number {
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
}

export class MemberCache {
  private readonly entries = new Map<string, MemberEntry>();
  /** Lower bound of every entry's expiresAt (exact right after a scan). */
  private earliestExpiry = Number.POSITIVE_INFINITY;

  constructor(private readonly opts: MemberCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get(peerId: string): MemberEntry | undefined {
    return this.entries.get(peerId);
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  all(): IterableIterator<MemberEntry> {
    return this.entries.values();
  }

  /** A Membership message; the caller has checked it comes from `msg.peerId` itself. */
  applyMembership(msg: Membership, now: number): MemberUpdate {
    if (msg.peerId === this.opts.selfId || !validSeq(msg.seq) || !validContact(msg.contact)) return 'ignored';
    const ttl = this.clampTtl(msg.ttlMs);
    if (ttl === null) return 'ignored';
    const existing = this.entries.get(msg.peerId);
    if (existing && msg.seq <= existing.seq) return 'ignored';
    const contents = Array.isArray(msg.activeContents)
      ? msg.activeContents.slice(0, WireLimits.maxContents).filter((c) => typeof c === 'string')
      : [];
    return this.put(existing, {
      peerId: msg.peerId,
      contact: { host: msg.contact.host, port: msg.contact.port },
      seq: msg.seq,
      expiresAt: now + ttl,
      partnerCount: this.cleanCount(msg.partnerCount),
      reachability: cleanReach(msg.reachability),
      activeContents: new Set(contents),
      authoritative: true,
    });
  }

  /** One gossip entry (MembersResp/TrackerMembers/TrackerRedirect) about `contentId`. */
  applyMemberInfo(info: MemberInfo, contentId: string, now: number): MemberUpdate {
    if (typeof info !== 'object' || info === null) return 'ignored';
    if (typeof info.peerId !== 'string' || info.peerId === '' || info.peerId === this.opts.selfId) return 'ignored';
    if (!validSeq(info.seq) || !validContact(info.contact)) return 'ignored';
    const ttl = this.clampTtl(info.ttlMs);
    if (ttl === null) return 'ignored';
    const existing = this.entries.get(info.peerId);
    if (existing && info.seq < existing.seq) return 'ignored';
    if (existing && info.seq === existing.seq) {
      // Same announcement: nothing fresher, but a partial (gossip-built) list may learn a content.
      if (!existing.authoritative && contentId !== '' && !existing.activeContents.has(contentId)) {
        existing.activeContents.add(contentId);
        return 'updated';
      }
      return 'ignored';
    }
    const contents = new Set<string>(existing ? existing.activeContents : []);
    if (contentId !== '') contents.add(contentId);
    return this.put(existing, {
      peerId: info.peerId,
      contact: { host: info.contact.host, port: info.contact.port },
      seq: info.seq,
      expiresAt: now + ttl,
      partnerCount: this.cleanCount(info.partnerCount),
      reachability: cleanReach(info.reachability),
      activeContents: contents,
      authoritative: false,
    });
  }

  /** Removes members whose time is up; returns their ids. Cheap when nothing can have expired. */
  expire(now: number): string[] {
    if (now < this.earliestExpiry) return [];
    const gone: string[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (const [id, e] of this.entries) {
      if (e.expiresAt <= now) gone.push(id);
      else if (e.expiresAt < earliest) earliest = e.expiresAt;
    }
    this.earliestExpiry = earliest;
    for (const id of gone) {
      this.entries.delete(id);
      if (this.opts.stats) this.opts.stats.membersExpired++;
      this.opts.events?.memberExpired?.(id);
    }
    return gone;
  }

  /** Live members that announced (or were reported) active in `contentId`. */
  candidatesFor(contentId: string, now: number): MemberEntry[] {
    const out: MemberEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.expiresAt > now && e.activeContents.has(contentId)) out.push(e);
    }
    return out;
  }

  /** The entry as a gossip item: remaining TTL, never more than the member's own announcement gave. */
  toMemberInfo(e: MemberEntry, now: number): MemberInfo {
    return {
      peerId: e.peerId,
      contact: { host: e.contact.host, port: e.contact.port },
      seq: e.seq,
      ttlMs: Math.max(0, e.expiresAt - now),
      partnerCount: e.partnerCount,
      reachability: e.reachability,
    };
  }

  /** The member told us it is not (or no longer) in this content. */
  markContentInactive(peerId: string, contentId: string): void {
    this.entries.get(peerId)?.activeContents.delete(contentId);
  }

  /** Local knowledge about a member's load (e.g. it refused us because it is full). */
  notePartnerCount(peerId: string, partnerCount: number): void {
    const e = this.entries.get(peerId);
    if (e) e.partnerCount = this.cleanCount(partnerCount);
  }

  remove(peerId: string): boolean {
    return this.entries.delete(peerId);
  }

  private put(existing: MemberEntry | undefined, entry: MemberEntry): MemberUpdate {
    if (!existing && this.entries.size >= this.opts.maxEntries && !this.makeRoom(entry.expiresAt)) {
      if (this.opts.stats) this.opts.stats.membersEvicted++;
      return 'ignored';
    }
    this.entries.set(entry.peerId, entry);
    if (entry.expiresAt < this.earliestExpiry) this.earliestExpiry = entry.expiresAt;
    if (!existing) this.opts.events?.memberAdded?.(entry.peerId);
    return existing ? 'updated' : 'added';
  }

  /** Evicts the entry closest to expiry if it expires before `expiresAt`; false when the newcomer loses. */
  private makeRoom(expiresAt: number): boolean {
    let victim: MemberEntry | undefined;
    for (const e of this.entries.values()) {
      if (!victim || e.expiresAt < victim.expiresAt) victim = e;
    }
    if (!victim || victim.expiresAt >= expiresAt) return false;
    this.entries.delete(victim.peerId);
    if (this.opts.stats) this.opts.stats.membersEvicted++;
    return true;
  }

  private clampTtl(ttl: unknown): number | null {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) return null;
    return Math.min(ttl, this.opts.maxTtlMs);
  }

  private cleanCount(n: unknown): number {
    return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
  }
}
