// Incoming partnership messages (thesis §3.3.4): PartnershipReq is accepted below Mmax on an active
// content, refused with a reason otherwise; PartnershipResp settles our pending request (an
// acceptance that no longer fits is undone with PartnershipRemove); PartnershipRemove ends one.
// A public or mapped node keeps engine.natReservedSlots of its slots for members behind NAT: they
// can only dial, so a slot a dialable peer could fill elsewhere is worth more to them.
import type { MessageOf, Reachability } from '../protocol/messages.js';
import type { Clock, PeerAddress } from './ports.js';
import type { OverlayHandlerDeps } from './handler-deps.js';
import { RefusalReason } from './partnership.js';

export interface PartnershipHandlerDeps extends OverlayHandlerDeps {
  clock: Clock;
  /** Peers not to partner with in a content for now (blacklisted by the data plane). */
  isBlocked?: (contentId: string, peerId: string, now: number) => boolean;
  /** Our own reachability (mutable, set by the node's reachability test); absent: never reserve. */
  self?: { reachability?: Reachability };
}

/** Refusal reason for a peer we blocked. */
export const BLOCKED_REASON = 'blocked';

export class PartnershipHandler {
  constructor(private readonly deps: PartnershipHandlerDeps) {}

  onRequest(from: PeerAddress, msg: MessageOf<'PartnershipReq'>): void {
    const { partners, stats } = this.deps;
    const contentId = msg.contentId;
    const blocked = this.deps.isBlocked?.(contentId, from.peerId, this.deps.clock.now()) ?? false;
    const decision = blocked
      ? { accepted: false as const, reason: BLOCKED_REASON }
      : this.reservedForNat(contentId, from.peerId)
        ? { accepted: false as const, reason: RefusalReason.ReservedForNat }
        : partners.decide(contentId, from.peerId);
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

  /**
   * Whether a request from `peerId` must be refused because the free slots are the ones reserved
   * for `nat` members: we are public or mapped, it is not known as `nat` (our mCache), it is not a
   * partner already, and taking it would leave fewer free slots than reserved slots not yet held by
   * `nat` partners.
   */
  private reservedForNat(contentId: string, peerId: string): boolean {
    const { config, members, partners } = this.deps;
    const reach = this.deps.self?.reachability;
    if (config.natReservedSlots <= 0 || (reach !== 'public' && reach !== 'mapped')) return false;
    if (members.get(peerId)?.reachability === 'nat' || partners.isPartner(contentId, peerId)) return false;
    const current = partners.partners(contentId);
    if (current.length >= config.maxPartners) return false; // full for anyone: decide() says so
    const natHeld = current.filter((p) => members.get(p.peerId)?.reachability === 'nat').length;
    const stillReserved = Math.max(0, config.natReservedSlots - natHeld);
    return current.length + stillReserved >= config.maxPartners;
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
