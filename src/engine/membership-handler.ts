// Incoming membership gossip (thesis §3.3.3, §3.3.5): a peer's own Membership, MembersReq answered
// with a random pick of members, member lists (MembersResp, TrackerMembers) merged into the mCache,
// and — as the tracker's deputy, which any peer is — a TrackerJoin answered with the members we know.
import type { MemberInfo, Membership, MessageOf } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import { NO_CONTACT, type PeerAddress, type Random } from './ports.js';
import type { OverlayHandlerDeps } from './handler-deps.js';
import { sample } from './random-util.js';

export interface MembershipHandlerDeps extends OverlayHandlerDeps {
  random: Random;
  /** The contents this peer is active in. */
  activeContents: () => Iterable<string>;
  isActive: (contentId: string) => boolean;
  /** Ourselves as a members-list entry. */
  selfInfo: () => MemberInfo;
  /** The tracker's peer id once learnt. */
  trackerPeerId: () => string | undefined;
  warn: (code: string, message: string, peerId?: string) => void;
}

export class MembershipHandler {
  constructor(private readonly deps: MembershipHandlerDeps) {}

  onMembership(from: PeerAddress, msg: Membership, now: number): void {
    const { members, partners, scheduler } = this.deps;
    if (msg.peerId !== from.peerId) {
      this.deps.stats.rejectedInput++;
      this.deps.warn('spoofed-membership', `Membership for ${String(msg.peerId)} arrived from another peer`, from.peerId);
      return;
    }
    if (members.applyMembership(msg, now) === 'ignored') return;
    // A partner that no longer lists a content has left it (its PartnershipRemove may be lost).
    const listed = members.get(msg.peerId)?.activeContents;
    for (const contentId of this.deps.activeContents()) {
      if (listed && !listed.has(contentId) && partners.isPartner(contentId, msg.peerId)) {
        scheduler.removePartner(contentId, msg.peerId, 'left-content', false);
      }
    }
  }

  onMembersReq(from: PeerAddress, msg: MessageOf<'MembersReq'>, now: number): void {
    const max = Math.max(0, Math.min(Number(msg.max) || 0, this.deps.config.membersReqMax, WireLimits.maxMembers));
    const list = this.membersListFor(msg.contentId, from.peerId, max, now, false);
    this.deps.stats.membersRespSent++;
    this.deps.send(from, { type: 'MembersResp', peerId: this.deps.selfId, contentId: msg.contentId, members: list });
  }

  /** A members list (MembersResp, TrackerMembers) for a content: merged, then partners sought if short. */
  onMembersList(contentId: string, list: unknown, now: number): void {
    const { partners, stats } = this.deps;
    if (!this.deps.isActive(contentId)) return void stats.ignoredInactive++;
    if (!Array.isArray(list)) return void stats.rejectedInput++;
    for (const info of list.slice(0, WireLimits.maxMembers)) this.deps.members.applyMemberInfo(info, contentId, now);
    if (partners.partnerCount(contentId) + partners.pendingCount(contentId) < this.deps.config.minPartners) {
      this.deps.scheduler.run(contentId);
    }
  }

  /** Any peer acts as the tracker's deputy: answer a join with the members we know (§3.3.5). */
  answerJoinAsDeputy(from: PeerAddress, msg: MessageOf<'TrackerJoin'>, now: number): void {
    this.deps.stats.deputyAnswers++;
    const list = this.membersListFor(msg.contentId, from.peerId, this.deps.config.membersReqMax, now, true);
    const observed = from.source ?? NO_CONTACT;
    this.deps.send(from, { type: 'TrackerMembers', peerId: this.deps.selfId, contentId: msg.contentId, members: list, observed: { ...observed } });
  }

  /**
   * Members active in a content (random pick), ourselves first when active, then (as a deputy) the
   * tracker; never the requester; at most `max` entries.
   */
  private membersListFor(contentId: string, requester: string, max: number, now: number, withTracker: boolean): MemberInfo[] {
    const { members } = this.deps;
    const out: MemberInfo[] = [];
    if (max <= 0) return out;
    if (this.deps.isActive(contentId)) out.push(this.deps.selfInfo());
    const trackerId = withTracker ? this.deps.trackerPeerId() : undefined;
    const tracker = trackerId !== undefined ? members.get(trackerId) : undefined;
    if (tracker && tracker.expiresAt > now && trackerId !== requester && out.length < max) {
      out.push(members.toMemberInfo(tracker, now));
    }
    const others = members
      .candidatesFor(contentId, now)
      .filter((m) => m.peerId !== requester && m.peerId !== trackerId);
    for (const m of sample(this.deps.random, others, max - out.length)) out.push(members.toMemberInfo(m, now));
    return out;
  }
}
