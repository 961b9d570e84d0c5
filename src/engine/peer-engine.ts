// The sans-IO overlay engine of one peer: owns the mCache (membership.ts), the pCache
// (partnership.ts + partnership-handler.ts), the member scheduler, the announcer (own Membership)
// and the tracker client (wired in engine-parts.ts); dispatches incoming messages (gossip to
// membership-handler.ts) and does all time-based work in tick(). Talks to the world only through
// the injected ports. Data-plane messages (BufferMapInfo, DataChunk*, Manifest*: content-messages.ts)
// go to the content-message hook, where the live/download data scheduler plugs in.
import type { Contact, ContentKind, MemberInfo, Message, MessageOf } from '../protocol/messages.js';
import type { Destination, PartnerAddress, PeerAddress } from './ports.js';
import { newEngineStats, type EngineSnapshot, type EngineStats } from './engine-stats.js';
import type { MemberCache } from './membership.js';
import type { PartnerCache } from './partnership.js';
import type { MemberScheduler } from './member-scheduler.js';
import type { TrackerClient } from './tracker-client.js';
import type { Announcer } from './announcer.js';
import type { PartnershipHandler } from './partnership-handler.js';
import type { MembershipHandler } from './membership-handler.js';
import { PeerBlocklist } from './peer-blocklist.js';
import { engineConfigProblems } from './engine-config.js';
import { buildEngineParts, type EngineComponentDeps } from './engine-parts.js';
import {
  isContentMessage, matchingContents,
  type ContentInfoSource, type ContentMessage, type ContentMessageHandler,
} from './content-messages.js';

export type { ContentInfoSource, ContentMessage, ContentMessageHandler } from './content-messages.js';

export interface PeerEngineDeps extends EngineComponentDeps {
  /** Data-plane hook (see setContentMessageHandler). */
  onContentMessage?: ContentMessageHandler;
}

/** Least time between two mCache expiry scans. */
const EXPIRY_SCAN_MIN_GAP_MS = 100;

export class PeerEngine {
  readonly peerId: string;
  private readonly stats: EngineStats = newEngineStats();
  private readonly members: MemberCache;
  private readonly partners: PartnerCache;
  private readonly scheduler: MemberScheduler;
  private readonly trackerClient: TrackerClient;
  private readonly announcer: Announcer;
  private readonly partnerships: PartnershipHandler;
  private readonly gossip: MembershipHandler;
  private readonly contents = new Map<string, ContentKind>();
  private readonly blocklist = new PeerBlocklist();
  private contentHandler: ContentMessageHandler | undefined;
  private contentInfo: ContentInfoSource | undefined;
  private nextExpiryScanAt = -Infinity;

  constructor(private readonly deps: PeerEngineDeps) {
    const problems = engineConfigProblems(deps.config);
    if (problems.length > 0) throw new RangeError(`invalid engine config: ${problems.join('; ')}`);
    this.peerId = deps.self.peerId;
    this.contentHandler = deps.onContentMessage;
    const parts = buildEngineParts(deps, {
      stats: this.stats,
      contents: this.contents,
      blocklist: this.blocklist,
      send: (to, msg) => this.send(to, msg),
      warn: (code, message, peerId) => this.warn(code, message, peerId),
    });
    this.members = parts.members;
    this.partners = parts.partners;
    this.scheduler = parts.scheduler;
    this.trackerClient = parts.trackerClient;
    this.announcer = parts.announcer;
    this.partnerships = parts.partnerships;
    this.gossip = parts.gossip;
  }

  // ---- commands -------------------------------------------------------------------------------

  /** Activates a content and asks the tracker for it (TrackerJoin{allowRedirect:true} + Membership). */
  join(contentId: string, kind: ContentKind, title = ''): void {
    if (typeof contentId !== 'string' || contentId === '' || this.contents.has(contentId)) return;
    this.contents.set(contentId, kind);
    this.partners.activate(contentId);
    this.scheduler.add(contentId);
    this.trackerClient.start(contentId, kind, title);
  }

  /** Deactivates a content: PartnershipRemove to its partners, TrackerLeave to the tracker. */
  leave(contentId: string): void {
    if (!this.contents.has(contentId)) return;
    const had = this.partners.deactivate(contentId, 'left');
    for (const p of had) {
      this.send({ peerId: p.peerId, contact: p.contact }, { type: 'PartnershipRemove', peerId: this.peerId, contentId });
      this.scheduler.release(p.peerId);
    }
    this.scheduler.delete(contentId);
    this.trackerClient.stop(contentId);
    this.contents.delete(contentId);
    this.blocklist.prune(this.deps.clock.now(), contentId);
  }

  /** Data plane: ends a partnership (bad chunk, useless partner), blocking the peer here for blockMs. */
  dropPartner(contentId: string, peerId: string, reason: string, blockMs = 0): void {
    try {
      if (!this.contents.has(contentId)) return;
      const now = this.deps.clock.now();
      if (blockMs > 0) this.blocklist.block(contentId, peerId, now + blockMs);
      this.partners.takePending(contentId, peerId);
      this.scheduler.removePartner(contentId, peerId, reason, true);
    } catch (err) {
      this.warn('handler-error', `dropPartner failed: ${String(err)}`, peerId, contentId);
    }
  }

  /** Whether a peer is blocked from partnership in a content (see dropPartner). */
  isBlocked(contentId: string, peerId: string): boolean {
    return this.blocklist.isBlocked(contentId, peerId, this.deps.clock.now());
  }

  /** One message from a connection whose Hello said `from`. Never throws. */
  receive(from: PeerAddress, msg: Message): void {
    this.stats.messagesIn++;
    try {
      if (!from || typeof from.peerId !== 'string' || from.peerId === '' || from.peerId === this.peerId) {
        this.stats.rejectedInput++;
        return;
      }
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || typeof msg.contentId !== 'string') {
        this.stats.rejectedInput++;
        return;
      }
      const now = this.deps.clock.now();
      this.partners.heardFrom(from.peerId, now);
      this.dispatch(from, msg, now);
    } catch (err) {
      this.stats.rejectedInput++;
      this.warn('handler-error', `failed to handle ${String(msg?.type)}: ${String(err)}`, from?.peerId);
    }
  }

  /** The transport lost the connection to a peer: its partnerships end now. */
  peerDisconnected(peerId: string): void {
    try {
      const now = this.deps.clock.now();
      const { partnerIn, pendingIn } = this.partners.removeEverywhere(peerId, 'disconnected');
      this.stats.partnersLostDisconnect += partnerIn.length;
      // Do not ask it again right away where we had a relation (it may be gone for good).
      for (const contentId of [...partnerIn, ...pendingIn]) {
        this.partners.backoff(contentId, peerId, now + this.deps.config.partnerRetryBackoffMs);
      }
    } catch (err) {
      this.warn('handler-error', `peerDisconnected failed: ${String(err)}`, peerId);
    }
  }

  /** All time-based work; the driver calls it periodically (e.g. every 100 ms). */
  tick(): void {
    try {
      const now = this.deps.clock.now();
      this.trackerClient.tick(now);
      if (now >= this.nextExpiryScanAt) {
        this.nextExpiryScanAt = now + EXPIRY_SCAN_MIN_GAP_MS;
        this.members.expire(now);
        if (this.blocklist.size > 0) this.blocklist.prune(now);
      }
      this.announcer.tick(now);
      this.scheduler.tick(now);
    } catch (err) {
      this.warn('tick-error', `tick failed: ${String(err)}`);
    }
  }

  // ---- queries --------------------------------------------------------------------------------

  snapshot(): EngineSnapshot {
    return {
      peerId: this.peerId,
      role: this.deps.self.role,
      members: this.members.size,
      contents: [...this.contents].map(([id, kind]) => ({
        id,
        kind,
        partners: this.partners.partners(id).map((p) => p.peerId),
        pending: this.partners.pendingCount(id),
        join: this.trackerClient.phase(id) ?? 'joined',
      })),
      stats: { ...this.stats },
    };
  }

  isActive(contentId: string): boolean {
    return this.contents.has(contentId);
  }

  /** Increases whenever any partnership starts or ends (lets the data plane skip unchanged lists). */
  get partnersVersion(): number {
    return this.partners.version;
  }

  isPartner(contentId: string, peerId: string): boolean {
    return this.partners.isPartner(contentId, peerId);
  }

  partnersOf(contentId: string): PartnerAddress[] {
    return this.partners.partners(contentId).map((p) => ({ peerId: p.peerId, contact: { ...p.contact }, epoch: p.epoch }));
  }

  /** Known live members (of one content when given), as gossip entries. */
  knownMembers(contentId?: string): MemberInfo[] {
    const now = this.deps.clock.now();
    const out: MemberInfo[] = [];
    for (const e of this.members.all()) {
      if (e.expiresAt > now && (contentId === undefined || e.activeContents.has(contentId))) {
        out.push(this.members.toMemberInfo(e, now));
      }
    }
    return out;
  }

  /** Ourselves as a members-list entry. */
  selfInfo(): MemberInfo {
    return this.announcer.selfInfo();
  }

  /** Our contact or reachability changed (deps.self): send our Membership to partners and tracker now. */
  announceNow(): void {
    this.announcer.announceSoon();
    this.trackerClient.announceSoon();
  }

  /** Joins through another tracker from now on (or none): see TrackerClient.setTracker. */
  setTracker(contact: Contact | undefined): void {
    this.trackerClient.setTracker(contact);
  }

  /** The tracker's peer id once learnt (undefined before, and for the tracker itself). */
  get trackerPeerId(): string | undefined {
    return this.trackerClient.trackerPeerId;
  }

  /** Where the tracker is (its peer id once learnt) while it may be a peer; undefined without one, or for one that answers joins only. */
  trackerDestination(): Destination | undefined {
    return this.trackerClient.peerTracker();
  }

  // ---- hooks and plumbing ---------------------------------------------------------------------

  /** Installs (or clears) the data-plane hook for BufferMapInfo / DataChunk* / Manifest* / Features of active contents (a ContentRouter owns it). */
  setContentMessageHandler(handler: ContentMessageHandler | undefined): void {
    this.contentHandler = handler;
  }

  /** Installs where ContentsResp takes titles and sizes from (default: the id, size 0). */
  setContentInfoSource(source: ContentInfoSource | undefined): void {
    this.contentInfo = source;
  }

  /** Sends through the transport, counting; false when dropped. */
  send(to: Destination, msg: Message): boolean {
    this.stats.messagesOut++;
    let ok = false;
    try {
      ok = this.deps.transport.send(to, msg);
    } catch (err) {
      this.warn('send-error', `transport threw: ${String(err)}`, to.peerId);
    }
    if (!ok) this.stats.sendFailures++;
    return ok;
  }

  // ---- message handling -----------------------------------------------------------------------

  private dispatch(from: PeerAddress, msg: Message, now: number): void {
    if (isContentMessage(msg)) {
      this.onContentMessage(from, msg);
      return;
    }
    switch (msg.type) {
      case 'Membership':
        return this.gossip.onMembership(from, msg, now);
      case 'MembersReq':
        return this.gossip.onMembersReq(from, msg, now);
      case 'MembersResp':
        return this.gossip.onMembersList(msg.contentId, msg.members, now);
      case 'PartnershipReq':
        return this.partnerships.onRequest(from, msg);
      case 'PartnershipResp':
        return this.partnerships.onResponse(from, msg);
      case 'PartnershipRemove':
        return this.partnerships.onRemove(from, msg);
      case 'ContentsReq':
        return this.onContentsReq(from, msg);
      case 'TrackerJoin':
        return this.gossip.answerJoinAsDeputy(from, msg, now);
      case 'TrackerMembers':
        if (!this.contents.has(msg.contentId)) return void this.stats.ignoredInactive++;
        this.trackerClient.onMembers(msg.contentId, from, msg.members);
        return this.gossip.onMembersList(msg.contentId, msg.members, now);
      case 'TrackerRedirect':
        if (!this.contents.has(msg.contentId)) return void this.stats.ignoredInactive++;
        if (msg.deputy) this.members.applyMemberInfo(msg.deputy, msg.contentId, now);
        if (!this.trackerClient.onRedirect(msg.contentId, from, msg.deputy)) this.stats.rejectedInput++;
        return;
      case 'Error':
        this.stats.errorsReceived++;
        this.warn('peer-error', `error ${msg.code} from peer: ${String(msg.message)}`, from.peerId, msg.contentId);
        this.trackerClient.onError(msg.contentId, from, msg.code);
        return;
      default:
        // Hello/KeepAlive (transport's business), ContentsResp, TrackerLeave (trackers only).
        this.stats.ignoredOther++;
    }
  }

  private onContentsReq(from: PeerAddress, msg: MessageOf<'ContentsReq'>): void {
    const contents = matchingContents(this.contents, msg.word, this.contentInfo);
    this.send(from, { type: 'ContentsResp', peerId: this.peerId, contentId: msg.contentId, contents });
  }

  private onContentMessage(from: PeerAddress, msg: ContentMessage): void {
    if (!this.contents.has(msg.contentId)) return void this.stats.ignoredInactive++;
    // ---- DATA-PLANE HOOK: the live/download data scheduler plugs in here. ----
    if (this.contentHandler) this.contentHandler(from, msg);
    else this.stats.ignoredOther++;
  }

  private warn(code: string, message: string, peerId?: string, contentId?: string): void {
    try {
      this.deps.events?.warning?.({ code, message, peerId, contentId });
    } catch {
      // A throwing listener must not break the engine.
    }
  }
}
