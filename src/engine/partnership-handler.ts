// Incoming partnership messages (thesis §3.3.4): PartnershipReq is accepted below Mmax on an active
// content, refused with a reason otherwise; PartnershipResp settles our pending request (an
// acceptance that no longer fits is undone with PartnershipRemove); PartnershipRemove ends one.
import type { MessageOf } from '../protocol/messages.js';
import type { Clock, PeerAddress } from './ports.js';
import type { OverlayHandlerDeps } from './handler-deps.js';
import { RefusalReason } from './partnership.js';

export interface PartnershipHandlerDeps extends OverlayHandlerDeps {
  clock: Clock;
  /** Peers not to partner with in a content for now (blacklisted by the data plane). */
  isBlocked?: (contentId: string, peerId: string, now: number) => boolean;
}

/** Refusal reason for a peer we blocked. */
export const BLOCKED_REASON = 'blocked';

export class PartnershipHandler {
  constructor(private readonly deps: PartnershipHandlerDeps) {}

  onRequest(from: PeerAddress, msg: MessageOf<'PartnershipReq'>): void {
    const { partners, stats } = this.deps;
    const contentId = msg.contentId;
    const blocked = this.deps.isBlocked?.(contentId, from.peerId, this.deps.clock.now()) ?? false;
    const decision = blocked ? { accepted: false as const, reason: BLOCKED_REASON } : partners.decide(contentId, from.peerId);
    if (decision.accepted) {
      stats.partnershipAccepted++;
      partners.add(contentId, from.peerId, from.contact, this.deps.clock.now());
    } else {
      stats.partnershipRefused++;
      if (decision.reason === RefusalReason.ContentNotActive) stats.ignoredInactive++;
    }
    this.deps.send(from, {
      type: 'PartnershipResp',
      peerId: this.deps.selfId,
      contentId,
      accepted: decision.accepted,
      reason: decision.accepted ? '' : decision.reason,
    });
  }

  onResponse(from: PeerAddress, msg: MessageOf<'PartnershipResp'>): void {
    const { partners, members, config, stats, scheduler } = this.deps;
    const contentId = msg.contentId;
    const now = this.deps.clock.now();
    partners.takePending(contentId, from.peerId);
    if (msg.accepted === true) {
      if (partners.isPartner(contentId, from.peerId)) return;
      if (!partners.hasRoom(contentId) || this.deps.isBlocked?.(contentId, from.peerId, now)) {
        // Inactive content, or full meanwhile (crossing requests): undo the other side's partnership.
        if (!partners.isActive(contentId)) stats.ignoredInactive++;
        this.deps.send(from, { type: 'PartnershipRemove', peerId: this.deps.selfId, contentId });
        scheduler.release(from.peerId);
        return;
      }
      // Also taken when our request had timed out: the other side did accept it.
      partners.add(contentId, from.peerId, from.contact, now);
      return;
    }
    stats.partnershipDenied++;
    if (!partners.isActive(contentId)) return;
    partners.backoff(contentId, from.peerId, now + config.partnerRetryBackoffMs);
    if (msg.reason === RefusalReason.Full) members.notePartnerCount(from.peerId, config.maxPartners);
    if (msg.reason === RefusalReason.ContentNotActive) members.markContentInactive(from.peerId, contentId);
    scheduler.release(from.peerId);
  }

  onRemove(from: PeerAddress, msg: MessageOf<'PartnershipRemove'>): void {
    const { partners, stats, config } = this.deps;
    const contentId = msg.contentId;
    if (!partners.isActive(contentId)) {
      stats.ignoredInactive++;
      return;
    }
    partners.takePending(contentId, from.peerId);
    partners.remove(contentId, from.peerId, 'removed-by-peer');
    partners.backoff(contentId, from.peerId, this.deps.clock.now() + config.partnerRetryBackoffMs);
  }
}
