// Tracker role, sans-IO (thesis §3.3.5). The tracker is itself a peer: it wraps its own PeerEngine
// (which holds every content it knows and partners like anyone) and intercepts TrackerJoin,
// TrackerLeave and ContentsReq. A join is registered; while a content has fewer than
// redirectThreshold active members (or the joiner asks with allowRedirect:false) the answer is
// TrackerMembers (fewest-partners first, plus the tracker itself); beyond it, TrackerRedirect to a
// deputy chosen round-robin among members that still have room for partners.
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
import type { EngineSnapshot } from '../engine/engine-stats.js';
import { PeerEngine, type PeerEngineDeps } from '../engine/peer-engine.js';
import { sortByWithRandomTies } from '../engine/random-util.js';
import { TrackerRegistry } from './registry.js';

/** Admission hook (IMS tickets later): returns a refusal reason, or null to admit. */
export type AdmitFn = (join: TrackerJoin, from: PeerAddress) => string | null;

export interface TrackerEngineDeps extends PeerEngineDeps {
  admit?: AdmitFn;
  /**
   * An existing peer to be the tracker's own peer (a main node's segment peer becomes the local
   * tracker when elected, keeping its partners and data plane). Its tracker must be unset.
   */
  peer?: PeerEngine;
}

export interface TrackerContentSnapshot {
  id: string;
  kind: ContentKind;
  title: string;
  /** Active members in the registry. */
  members: number;
}

export interface TrackerStats {
  /** Per known content, its active registry members. */
  contents: TrackerContentSnapshot[];
  /** Peers the registry currently holds. */
  registeredPeers: number;
  /** Admitted joins, redirected joins, refused joins. */
  joins: number;
  redirects: number;
  refusedJoins: number;
}

/** The tracker's own peer snapshot plus the tracker part. */
export interface TrackerSnapshot extends EngineSnapshot {
  tracker: TrackerStats;
}

/** Sorts members behind a NAT after every dialable one in a join's answer. */
const NAT_RANK = 1_000_000;
/** How often the registry is swept for expired peers. */
const REGISTRY_SWEEP_MS = 500;
/** Admitted peers stay admitted this many registry TTLs after they were last heard of. */
const ADMITTED_MEMORY_TTLS = 6;

function validContact(c: unknown): c is Contact {
  const x = c as Contact | null;
  return typeof x === 'object' && x !== null && typeof x.host === 'string' && x.host !== '' && Number.isInteger(x.port);
}

export class TrackerEngine {
  /** The tracker's own peer (it holds every known content). */
  readonly peer: PeerEngine;
  private readonly registry: TrackerRegistry;
  private admit: AdmitFn | undefined;
  /** Admission mode only: peers admitted by a join, with when we last heard of them. */
  private readonly admitted = new Map<string, number>();
  private joins = 0;
  private redirects = 0;
  private refusedJoins = 0;
  private nextSweepAt = -Infinity;

  constructor(private readonly deps: TrackerEngineDeps) {
    this.peer = deps.peer ?? new PeerEngine({ ...deps, tracker: undefined });
    this.admit = deps.admit;
    this.registry = new TrackerRegistry({
      trackerMemberTtlMs: deps.config.trackerMemberTtlMs,
      joinTtlMs: deps.config.memberTtlMs,
    });
  }

  get peerId(): string {
    return this.peer.peerId;
  }

  setAdmit(admit: AdmitFn | undefined): void {
    this.admit = admit;
  }

  /** Makes a content known (catalogue) and held by the tracker's own peer. */
  publish(info: ContentInfo): void {
    this.registry.publish(info);
    this.peer.join(info.contentId, info.kind);
  }

  /** Same as PeerEngine.join for the tracker: the content becomes known and held (title = id). */
  join(contentId: string, kind: ContentKind): void {
    if (typeof contentId !== 'string' || contentId === '') return;
    this.registry.ensureContent(contentId, kind);
    this.peer.join(contentId, kind);
  }

  /** The tracker's peer stops holding the content (it stays in the registry for joiners). */
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
          return this.onJoin(from, msg);
        case 'TrackerLeave':
          if (msg.peerId === from.peerId) this.registry.unregister(msg.contentId, from.peerId);
          return;
        case 'ContentsReq':
          return this.onContentsReq(from, msg);
        case 'ContentAnnounce':
          if (msg.peerId === from.peerId) this.registry.describe(msg.contentId, from.peerId, msg.title, msg.sizeBytes);
          return;
        case 'Membership':
          if (msg.peerId === from.peerId && !this.onMembership(msg)) return;
          this.peer.receive(from, msg);
          return;
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
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + REGISTRY_SWEEP_MS;
    this.registry.expire(now);
    const forgetBefore = now - ADMITTED_MEMORY_TTLS * this.deps.config.trackerMemberTtlMs;
    for (const [id, seen] of this.admitted) if (seen < forgetBefore) this.admitted.delete(id);
  }

  snapshot(): TrackerSnapshot {
    const now = this.deps.clock.now();
    return {
      ...this.peer.snapshot(),
      tracker: {
        contents: this.registry.contents().map((c) => ({
          id: c.info.contentId,
          kind: c.info.kind,
          title: c.info.title,
          members: this.registry.activeMembers(c.info.contentId, now).length,
        })),
        registeredPeers: this.registry.peerCount,
        joins: this.joins,
        redirects: this.redirects,
        refusedJoins: this.refusedJoins,
      },
    };
  }

  /** Registry members of a content, as members-list entries (control API, tests). */
  members(contentId: string): MemberInfo[] {
    const now = this.deps.clock.now();
    return this.registry.activeMembers(contentId, now).map((p) => this.registry.memberInfo(p, now));
  }

  // ---- handlers -------------------------------------------------------------------------------

  private onJoin(from: PeerAddress, join: TrackerJoin): void {
    const self = this.peer.peerId;
    const contentId = join.contentId;
    if (join.peerId !== from.peerId || contentId === '' || (join.kind !== 'live' && join.kind !== 'download')) {
      this.sendError(from, contentId, ErrorCode.BadRequest, 'malformed TrackerJoin');
      return;
    }
    const reason = this.admit ? this.admit(join, from) : null;
    if (reason !== null) {
      this.refusedJoins++;
      this.sendError(from, contentId, ErrorCode.AccessDenied, reason || 'access denied');
      return;
    }
    this.joins++;
    const now = this.deps.clock.now();
    if (this.admit) this.admitted.set(from.peerId, now);
    // Unknown content: create it (the first joiner of a live channel is its source).
    const { created } = this.registry.ensureContent(contentId, join.kind, join.title || contentId);
    if (created || !this.peer.isActive(contentId)) this.peer.join(contentId, join.kind);

    const cfg = this.deps.config;
    const others = this.registry.activeMembers(contentId, now, from.peerId);
    this.registry.register(contentId, from.peerId, validContact(join.contact) ? join.contact : from.contact, now);

    if (join.allowRedirect && others.length >= cfg.redirectThreshold) {
      const deputy = this.registry.nextDeputy(contentId, now, from.peerId, cfg.maxPartners);
      if (deputy) {
        this.redirects++;
        this.deps.events?.redirected?.(contentId, deputy.peerId);
        this.peer.send(from, {
          type: 'TrackerRedirect',
          peerId: self,
          contentId,
          deputy: this.registry.memberInfo(deputy, now),
        });
        return;
      }
    }
    const max = Math.max(1, Math.min(cfg.membersReqMax, WireLimits.maxMembers));
    // Members the joiner can dial first (one behind a NAT can only dial others), fewest partners first.
    const rank = (p: { partnerCount: number; reachability: string }): number => (p.reachability === 'nat' ? NAT_RANK : 0) + p.partnerCount;
    const best = sortByWithRandomTies(this.deps.random, others, rank).slice(0, max - 1);
    const members = [this.peer.selfInfo(), ...best.map((p) => this.registry.memberInfo(p, now))];
    const observed = { ...(from.source ?? NO_CONTACT) };
    this.peer.send(from, { type: 'TrackerMembers', peerId: self, contentId, members, observed });
  }

  /** Registry side of a Membership; false when the message must not reach the tracker's peer. */
  private onMembership(msg: MessageOf<'Membership'>): boolean {
    const now = this.deps.clock.now();
    if (!validContact(msg.contact) || !Number.isSafeInteger(msg.seq)) return true; // the peer rejects it
    if (!this.admit) {
      this.registry.applyMembership(msg, now, true);
      return true;
    }
    // Admission mode: only peers admitted by a join are registered or gossiped about.
    if (!this.admitted.has(msg.peerId)) return false;
    this.admitted.set(msg.peerId, now);
    this.registry.applyMembership(msg, now, true);
    return true;
  }

  private onContentsReq(from: PeerAddress, msg: MessageOf<'ContentsReq'>): void {
    const word = typeof msg.word === 'string' ? msg.word.toLowerCase() : '';
    const contents = this.registry
      .contents()
      .map((c) => c.info)
      .filter((i) => word === '' || i.contentId.toLowerCase().includes(word) || i.title.toLowerCase().includes(word))
      .slice(0, WireLimits.maxContents)
      .map((i) => ({ ...i }));
    this.peer.send(from, { type: 'ContentsResp', peerId: this.peer.peerId, contentId: msg.contentId, contents });
  }

  private sendError(from: PeerAddress, contentId: string, code: number, message: string): void {
    this.peer.send(from, { type: 'Error', peerId: this.peer.peerId, contentId, code, message });
  }
}
