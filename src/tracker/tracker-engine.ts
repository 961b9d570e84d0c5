// Tracker role, sans-IO (thesis §3.3.5). The tracker intercepts TrackerJoin, TrackerLeave,
// ContentAnnounce and ContentsReq; its registry (a RegistryPort: in memory, or Redis shared by
// several front ends) holds who has what. A join is registered; while a content has fewer than
// redirectThreshold other members (or the joiner asks with allowRedirect:false) the answer is
// TrackerMembers (a random subset, fewest partners first); beyond it, TrackerRedirect to a deputy
// with room for partners. Every join costs O(answer size), whatever the channel's size.
// In its peer role (the default; always for a main node's local tracker) the tracker is also a
// peer: it wraps its own PeerEngine, holds the contents and lists itself first, and answers a
// download's ManifestReq from the copy its manifest desk keeps (manifest-desk.ts). A registry-only
// front end (registryOnly) answers joins and nothing else.
import type {
  ContentInfo,
  ContentKind,
  Contact,
  MemberInfo,
  Message,
  MessageOf,
  TrackerJoin,
} from '../protocol/messages.js';
import { ErrorCode, WireLimits } from '../protocol/messages.js';
import { NO_CONTACT, type PeerAddress } from '../engine/ports.js';
import { PeerEngine, type PeerEngineDeps } from '../engine/peer-engine.js';
import { sortByWithRandomTies } from '../engine/random-util.js';
import { Catalogue } from './catalogue.js';
import { ManifestDesk, type ManifestCheck } from './manifest-desk.js';
import { MemoryRegistry } from './memory-registry.js';
import { settle, type RegistryEntry, type RegistryPort } from './registry-port.js';
import { RateMeter } from './rate-meter.js';
import type { DatagramStats } from './datagram-front.js';
import type { TrackerSnapshot, TrackerStats } from './tracker-stats.js';

export type { TrackerContentSnapshot, TrackerSnapshot, TrackerStats } from './tracker-stats.js';

/** Admission hook (IMS tickets later): returns a refusal reason, or null to admit. */
export type AdmitFn = (join: TrackerJoin, from: PeerAddress) => string | null;

export interface TrackerEngineDeps extends PeerEngineDeps {
  admit?: AdmitFn;
  /**
   * An existing peer to be the tracker's own peer (a main node's segment peer becomes the local
   * tracker when elected, keeping its partners and data plane). Its tracker must be unset.
   */
  peer?: PeerEngine;
  /** Where registrations live; default: a new in-memory registry. */
  registry?: RegistryPort;
  /** A front end that only answers joins: its own peer holds no content and is never listed. */
  registryOnly?: boolean;
  /** Peer role: keep copies of download manifests (this check, config.trackerManifestCacheBytes); without it, none. */
  manifestCheck?: ManifestCheck;
}

/** Sorts members behind a NAT after every dialable one in a join's answer. */
const NAT_RANK = 1_000_000;
/** Admitted peers stay admitted this many registry TTLs after they were last heard of. */
const ADMITTED_MEMORY_TTLS = 6;
/** How often the admitted-peers memory is pruned. */
const ADMITTED_PRUNE_MS = 5000;
/** Contents listed in status (the largest first); the rest are only counted. */
export const STATUS_CONTENTS = 100;
/** Registry TTL as a multiple of the announce period when trackerMemberTtlMs is 0. */
export const TTL_PER_ANNOUNCE_PERIOD = 2.5;

function validContact(c: unknown): c is Contact {
  const x = c as Contact | null;
  return typeof x === 'object' && x !== null && typeof x.host === 'string' && x.host !== '' && Number.isInteger(x.port);
}

/** The registry TTL a tracker with this config gives a peer after its join or Membership. */
export function registryTtlMs(cfg: { trackerMemberTtlMs: number; trackerAnnouncePeriodMs: number }): number {
  return cfg.trackerMemberTtlMs > 0 ? cfg.trackerMemberTtlMs : Math.round(TTL_PER_ANNOUNCE_PERIOD * cfg.trackerAnnouncePeriodMs);
}

export class TrackerEngine {
  /** The tracker's own peer (in the peer role it holds every known content). */
  readonly peer: PeerEngine;
  readonly registry: RegistryPort;
  private readonly catalogue = new Catalogue();
  private readonly peerRole: boolean;
  private readonly ttlMs: number;
  private admit: AdmitFn | undefined;
  /** Admission mode only: peers admitted by a join, with when we last heard of them. */
  private readonly admitted = new Map<string, number>();
  private joins = 0;
  private redirects = 0;
  private refusedJoins = 0;
  private registryFailures = 0;
  private badJoins = 0;
  private readonly joinRate: RateMeter;
  private nextPruneAt = -Infinity;
  private datagramStats: (() => DatagramStats) | undefined;
  private readonly manifests: ManifestDesk | undefined;

  constructor(private readonly deps: TrackerEngineDeps) {
    this.peer = deps.peer ?? new PeerEngine({ ...deps, tracker: undefined });
    this.admit = deps.admit;
    this.registry = deps.registry ?? new MemoryRegistry(deps.random);
    this.peerRole = deps.registryOnly !== true;
    this.ttlMs = registryTtlMs(deps.config);
    this.joinRate = new RateMeter(deps.clock);
    const maxBytes = deps.config.trackerManifestCacheBytes;
    if (this.peerRole && deps.manifestCheck && maxBytes > 0) {
      this.manifests = new ManifestDesk({ maxBytes, check: deps.manifestCheck, clock: deps.clock, selfId: () => this.peer.peerId, send: (to, m) => this.peer.send(to, m) });
    }
  }

  get peerId(): string {
    return this.peer.peerId;
  }

  /** Where status reads the datagram front's counters (set when the tracker listens on UDP). */
  setDatagramStats(stats: (() => DatagramStats) | undefined): void {
    this.datagramStats = stats;
  }

  setAdmit(admit: AdmitFn | undefined): void {
    this.admit = admit;
  }

  /** Makes a content known (catalogue) and, in the peer role, held by the tracker's own peer. */
  publish(info: ContentInfo): void {
    this.catalogue.publish(info);
    if (this.peerRole) this.peer.join(info.contentId, info.kind);
  }

  /** Same as PeerEngine.join for the tracker: the content becomes known and held (title = id). */
  join(contentId: string, kind: ContentKind): void {
    if (typeof contentId !== 'string' || contentId === '') return;
    this.catalogue.ensure(contentId, kind);
    if (this.peerRole) this.peer.join(contentId, kind);
  }

  /** The tracker's peer stops holding the content (it stays in the catalogue for joiners). */
  leave(contentId: string): void {
    this.peer.leave(contentId);
  }

  receive(from: PeerAddress, msg: Message): void {
    try {
      if (!msg || typeof msg !== 'object' || !from || typeof from.peerId !== 'string') {
        this.peer.receive(from, msg);
        return;
      }
      switch (msg.type) {
        case 'TrackerJoin':
          this.onJoin(from, msg);
          return this.heard(from, [msg.contentId]);
        case 'TrackerLeave':
          if (msg.peerId === from.peerId && typeof msg.contentId === 'string') this.guard(this.registry.leave(msg.contentId, from.peerId));
          return;
        case 'ManifestReq':
          if (!this.manifests?.answer(from, msg)) this.peer.receive(from, msg);
          return;
        case 'ManifestResp':
          this.manifests?.take(msg);
          return this.peer.receive(from, msg);
        case 'ContentsReq':
          return this.onContentsReq(from, msg);
        case 'ContentAnnounce':
          if (msg.peerId === from.peerId && this.isMember(msg.contentId, from.peerId)) this.catalogue.describe(msg.contentId, msg.title, msg.sizeBytes);
          return;
        case 'Membership':
          if (msg.peerId === from.peerId && !this.onMembership(msg)) return;
          if (this.peerRole) this.peer.receive(from, msg);
          return this.heard(from, Array.isArray(msg.activeContents) ? msg.activeContents : []);
        default:
          this.peer.receive(from, msg);
      }
    } catch (err) {
      this.deps.events?.warning?.({ code: 'tracker-error', message: `tracker failed: ${String(err)}`, peerId: from?.peerId });
    }
  }

  peerDisconnected(peerId: string): void {
    this.peer.peerDisconnected(peerId);
  }

  tick(): void {
    this.peer.tick();
    const now = this.deps.clock.now();
    this.registry.expire(now);
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + ADMITTED_PRUNE_MS;
    this.manifests?.prune(now);
    const forgetBefore = now - ADMITTED_MEMORY_TTLS * this.ttlMs;
    for (const [id, seen] of this.admitted) if (seen < forgetBefore) this.admitted.delete(id);
  }

  snapshot(): TrackerSnapshot {
    const reg = this.registry.stats();
    const all = [...this.catalogue.all()].map((i) => ({ id: i.contentId, kind: i.kind, title: i.title, members: this.registry.memberCount(i.contentId) }));
    const contents = all.length > STATUS_CONTENTS ? all.sort((a, b) => b.members - a.members).slice(0, STATUS_CONTENTS) : all;
    return {
      ...this.peer.snapshot(),
      tracker: {
        contents,
        contentCount: all.length,
        registeredPeers: reg.peers,
        joins: this.joins,
        redirects: this.redirects,
        refusedJoins: this.refusedJoins,
        joinsPerSec: this.joinRate.perSecond(),
        registryFailures: this.registryFailures,
        badJoins: this.badJoins,
        registry: { backend: reg.backend, reachable: reg.reachable, ...(reg.lastError ? { lastError: reg.lastError } : {}) },
        ...(this.datagramStats ? { udp: this.datagramStats() } : {}),
        ...(this.manifests ? { manifests: this.manifests.stats() } : {}),
      },
    };
  }

  /** Registry members of a content, as members-list entries (in-memory registry: control API, tests). */
  members(contentId: string): MemberInfo[] {
    const now = this.deps.clock.now();
    const r = this.registry.members(contentId, now, Number.MAX_SAFE_INTEGER);
    if (r instanceof Promise) throw new Error('members(): the registry answers asynchronously; use membersAsync()');
    return r.map((p) => memberInfo(p, now));
  }

  async membersAsync(contentId: string, limit = WireLimits.maxMembers): Promise<MemberInfo[]> {
    const now = this.deps.clock.now();
    return (await this.registry.members(contentId, now, limit)).map((p) => memberInfo(p, now));
  }

  // ---- handlers -------------------------------------------------------------------------------

  /**
   * A join, Membership or leave that came in a datagram (src/tracker/datagram-front.ts): answered
   * through `reply` (the answer datagram), never through the transport. A Membership only refreshes
   * the registry (the tracker's peer has no connection to gossip with). Returns false for any other
   * message (not taken). `maxMembers` caps the answer's list (what fits one datagram).
   */
  receiveDatagram(from: PeerAddress, msg: Message, reply: (m: Message) => void, maxMembers?: number): boolean {
    try {
      switch (msg.type) {
        case 'TrackerJoin':
          this.onJoin(from, msg, reply, maxMembers);
          return true;
        case 'Membership':
          if (msg.peerId === from.peerId) this.onMembership(msg);
          return true;
        case 'TrackerLeave':
          if (msg.peerId === from.peerId && typeof msg.contentId === 'string') this.guard(this.registry.leave(msg.contentId, from.peerId));
          return true;
        default:
          return false;
      }
    } catch (err) {
      this.deps.events?.warning?.({ code: 'tracker-error', message: `tracker failed on a datagram: ${String(err)}`, peerId: from?.peerId });
      return true;
    }
  }

  private onJoin(from: PeerAddress, join: TrackerJoin, reply: (m: Message) => void = (m) => this.peer.send(from, m), maxMembers = Infinity): void {
    const contentId = join.contentId;
    if (join.peerId !== from.peerId || typeof contentId !== 'string' || contentId === '' || (join.kind !== 'live' && join.kind !== 'download')) {
      this.badJoins++;
      reply(this.error(typeof contentId === 'string' ? contentId : '', ErrorCode.BadRequest, 'malformed TrackerJoin'));
      return;
    }
    const reason = this.admit ? this.admit(join, from) : null;
    if (reason !== null) {
      this.refusedJoins++;
      reply(this.error(contentId, ErrorCode.AccessDenied, reason || 'access denied'));
      return;
    }
    this.joins++;
    this.joinRate.add();
    const now = this.deps.clock.now();
    if (this.admit) this.admitted.set(from.peerId, now);
    // Unknown content: create it (the first joiner of a live channel is its source).
    const created = this.catalogue.ensure(contentId, join.kind, join.title || contentId);
    if (this.peerRole && (created || !this.peer.isActive(contentId))) this.peer.join(contentId, join.kind);

    const cfg = this.deps.config;
    const max = Math.max(1, Math.min(cfg.membersReqMax, WireLimits.maxMembers, maxMembers));
    const sample = this.peerRole ? max - 1 : max;
    const answer = this.registry.join({
      contentId,
      peerId: from.peerId,
      contact: validContact(join.contact) ? join.contact : from.contact,
      now,
      ttlMs: this.ttlMs,
      sample,
      redirectThreshold: join.allowRedirect ? Math.max(1, cfg.redirectThreshold) : 0,
      maxPartners: cfg.maxPartners,
    });
    settle(
      answer,
      (r) => {
        const t = this.deps.clock.now();
        if (r.deputy) {
          this.redirects++;
          this.deps.events?.redirected?.(contentId, r.deputy.peerId);
          reply({ type: 'TrackerRedirect', peerId: this.peer.peerId, contentId, deputy: memberInfo(r.deputy, t, this.deps.config.memberTtlMs) });
          return;
        }
        // Members the joiner can dial first (one behind a NAT can only dial others), fewest partners first.
        const rank = (p: RegistryEntry): number => (p.reachability === 'nat' ? NAT_RANK : 0) + p.partnerCount;
        const best = sortByWithRandomTies(this.deps.random, [...r.members], rank).slice(0, sample);
        const members = [...(this.peerRole ? [this.peer.selfInfo()] : []), ...best.map((p) => memberInfo(p, t, this.deps.config.memberTtlMs))];
        const observed = { ...(from.source ?? NO_CONTACT) };
        reply({ type: 'TrackerMembers', peerId: this.peer.peerId, contentId, members, observed });
      },
      (err) => {
        this.registryFailures++;
        reply(this.error(contentId, ErrorCode.Overloaded, `tracker registry unavailable, retry later (${errText(err)})`));
      },
    );
  }

  /** Registry side of a Membership; false when the message must not reach the tracker's peer. */
  private onMembership(msg: MessageOf<'Membership'>): boolean {
    const now = this.deps.clock.now();
    if (!validContact(msg.contact) || !Number.isSafeInteger(msg.seq)) return true; // the peer rejects it
    if (this.admit) {
      // Admission mode: only peers admitted by a join are registered or gossiped about.
      if (!this.admitted.has(msg.peerId)) return false;
      this.admitted.set(msg.peerId, now);
    }
    const listed = Array.isArray(msg.activeContents) ? msg.activeContents : [];
    const contents = listed.filter((c) => typeof c === 'string' && this.catalogue.has(c));
    this.guard(
      this.registry.announce({
        peerId: msg.peerId,
        contact: msg.contact,
        seq: msg.seq,
        partnerCount: msg.partnerCount,
        reachability: msg.reachability,
        contents,
        now,
        ttlMs: this.ttlMs,
      }),
    );
    return true;
  }

  private onContentsReq(from: PeerAddress, msg: MessageOf<'ContentsReq'>): void {
    const word = typeof msg.word === 'string' ? msg.word.toLowerCase() : '';
    const contents: ContentInfo[] = [];
    for (const i of this.catalogue.all()) {
      if (contents.length >= WireLimits.maxContents) break;
      if (word === '' || i.contentId.toLowerCase().includes(word) || i.title.toLowerCase().includes(word)) contents.push({ ...i });
    }
    this.peer.send(from, { type: 'ContentsResp', peerId: this.peer.peerId, contentId: msg.contentId, contents });
  }

  /** Boxes that joined or announced (over TCP) download contents the manifest desk may lack a copy of. */
  private heard(from: PeerAddress, contentIds: unknown[]): void {
    if (!this.manifests) return;
    for (const id of contentIds) {
      if (typeof id === 'string' && this.catalogue.get(id)?.kind === 'download' && this.isMember(id, from.peerId)) this.manifests.heard(from, id);
    }
  }

  /** Whether the peer joined the content (a synchronous registry knows; otherwise the catalogue must). */
  private isMember(contentId: string, peerId: string): boolean {
    const reg = this.registry as RegistryPort & { isMember?: (c: string, p: string) => boolean };
    return reg.isMember ? reg.isMember(contentId, peerId) : this.catalogue.has(contentId);
  }

  /** A registry write nobody waits for: failures are counted (the registry logs them). */
  private guard(v: unknown): void {
    if (v instanceof Promise) v.catch(() => this.registryFailures++);
  }

  private error(contentId: string, code: number, message: string): Message {
    return { type: 'Error', peerId: this.peer.peerId, contentId, code, message: message.slice(0, WireLimits.maxTextBytes) };
  }
}

/**
 * A registry entry as a member for the wire. Handed to joiners (maxTtlMs), its TTL is at most the
 * member TTL a box announces for itself (engine.memberTtlMs): the registry keeps an entry for
 * minutes between announces, but a joiner told to keep a member that long would hold on to a box
 * that died a second after its last announce; with the member TTL it forgets it as fast as gossip would.
 */
function memberInfo(p: RegistryEntry, now: number, maxTtlMs = Infinity): MemberInfo {
  return { peerId: p.peerId, contact: { ...p.contact }, seq: p.seq, ttlMs: Math.min(maxTtlMs, Math.max(0, p.expiresAt - now)), partnerCount: p.partnerCount, reachability: p.reachability };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
