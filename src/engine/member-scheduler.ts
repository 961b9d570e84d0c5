// Member scheduler (thesis §3.3.2.2): per content, every memberSchedulerPeriodMs, keeps the number
// of partners within [M, Mmax]:
//  - gives up partnership requests past their deadline;
//  - replaces partners we heard nothing from for partnerStaleMs;
//  - drops extras above Mmax (races), preferring partners that have the most other partners;
//  - below M, asks the best candidates (members active in the content, not partners, not pending,
//    not in back-off, not known to be full; fewest partners first, random tie-break) until
//    partners + pending reach M;
//  - with too few candidates, asks partners (or members holding the content) for more members,
//    and when still nothing turns up for trackerRetryMs, asks the tracker again.
import type { Message } from '../protocol/messages.js';
import type { Clock, Destination, EngineEvents, Random, Transport } from './ports.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineStats } from './engine-stats.js';
import type { MemberCache, MemberEntry } from './membership.js';
import type { PartnerCache } from './partnership.js';
import { sample, sortByWithRandomTies } from './random-util.js';

export interface MemberSchedulerDeps {
  selfId: string;
  clock: Clock;
  random: Random;
  config: EngineConfig;
  stats: EngineStats;
  events?: EngineEvents;
  members: MemberCache;
  partners: PartnerCache;
  transport: Transport;
  /** The engine's counting send. */
  send: (to: Destination, msg: Message) => boolean;
  /** Ask the tracker again for members of a content (the callee rate-limits). */
  reaskTracker: (contentId: string) => boolean;
  /** Peers whose connection is kept even without partnership (the tracker). */
  keepConnection?: (peerId: string) => boolean;
  /** Peers not to partner with in a content for now (blacklisted by the data plane). */
  isBlocked?: (contentId: string, peerId: string, now: number) => boolean;
}

interface ScheduleState {
  nextRunAt: number;
  lastMembersReqAt: number;
  /** Since when the content has had no candidate at all while short of partners. */
  starvedSince: number | undefined;
}

export class MemberScheduler {
  private readonly state = new Map<string, ScheduleState>();

  constructor(private readonly deps: MemberSchedulerDeps) {}

  /** Starts scheduling a content, first pass after a random fraction of a period (spreads load). */
  add(contentId: string): void {
    if (this.state.has(contentId)) return;
    const now = this.deps.clock.now();
    const phase = this.deps.random.next() * this.deps.config.memberSchedulerPeriodMs;
    this.state.set(contentId, { nextRunAt: now + phase, lastMembersReqAt: -Infinity, starvedSince: undefined });
  }

  delete(contentId: string): void {
    this.state.delete(contentId);
  }

  tick(now: number): void {
    for (const [contentId, s] of this.state) {
      if (now >= s.nextRunAt) this.run(contentId);
    }
  }

  /** One scheduler pass for a content now (also used right after new members arrived). */
  run(contentId: string): void {
    const s = this.state.get(contentId);
    const { partners, config, stats } = this.deps;
    if (!s || !partners.isActive(contentId)) return;
    const now = this.deps.clock.now();
    s.nextRunAt = now + config.memberSchedulerPeriodMs;

    for (const p of partners.expirePending(contentId, now)) {
      stats.partnershipTimeouts++;
      partners.backoff(contentId, p.peerId, now + config.partnerRetryBackoffMs);
      this.release(p.peerId);
    }

    for (const p of partners.stale(contentId, now - config.partnerStaleMs)) {
      stats.partnersRemovedStale++;
      this.removePartner(contentId, p.peerId, 'stale', true);
    }

    this.dropExtras(contentId);

    const have = partners.partnerCount(contentId) + partners.pendingCount(contentId);
    const need = config.minPartners - have;
    if (need <= 0) {
      s.starvedSince = undefined;
      return;
    }
    const eligible = this.candidates(contentId, now);
    for (const m of eligible.slice(0, need)) this.requestPartnership(contentId, m);
    if (eligible.length >= need) {
      s.starvedSince = undefined;
      return;
    }
    if (now - s.lastMembersReqAt >= config.membersReqIntervalMs) {
      s.lastMembersReqAt = now;
      this.askForMembers(contentId, now);
    }
    if (eligible.length === 0 && partners.pendingCount(contentId) === 0) {
      s.starvedSince ??= now;
      if (now - s.starvedSince >= config.trackerRetryMs && this.deps.reaskTracker(contentId)) s.starvedSince = now;
    } else {
      s.starvedSince = undefined;
    }
  }

  /** Members we could ask, best first (members known to be full would refuse: left out). */
  candidates(contentId: string, now: number): MemberEntry[] {
    const { partners, selfId } = this.deps;
    const max = this.deps.config.maxPartners;
    const pool = this.deps.members
      .candidatesFor(contentId, now)
      .filter(
        (m) =>
          m.peerId !== selfId &&
          m.partnerCount < max &&
          // Behind a NAT: it can dial us, we cannot dial it (unless a punched connection is up).
          (m.reachability !== 'nat' || this.deps.transport.isConnected?.(m.peerId) === true) &&

          !partners.isPartner(contentId, m.peerId) &&
          !partners.isPending(contentId, m.peerId) &&
          !partners.inBackoff(contentId, m.peerId, now) &&
          !this.deps.isBlocked?.(contentId, m.peerId, now),
      );
    return sortByWithRandomTies(this.deps.random, pool, (m) => m.partnerCount);
  }

  requestPartnership(contentId: string, m: MemberEntry): boolean {
    const { partners, config, stats } = this.deps;
    const now = this.deps.clock.now();
    const sent = this.deps.send(
      { peerId: m.peerId, contact: m.contact },
      { type: 'PartnershipReq', peerId: this.deps.selfId, contentId },
    );
    if (!sent) {
      partners.backoff(contentId, m.peerId, now + config.partnerRetryBackoffMs);
      return false;
    }
    stats.partnershipReqSent++;
    partners.addPending(contentId, m.peerId, m.contact, now, now + config.partnershipReqTimeoutMs);
    return true;
  }

  /**
   * Ends a partnership: optionally tells the peer (PartnershipRemove), backs off from it, and closes
   * the connection when no other relation with the peer remains.
   */
  removePartner(contentId: string, peerId: string, reason: string, notifyPeer: boolean): void {
    const { partners } = this.deps;
    const entry = partners.partners(contentId).find((p) => p.peerId === peerId);
    if (!partners.remove(contentId, peerId, reason)) return;
    const now = this.deps.clock.now();
    partners.backoff(contentId, peerId, now + this.deps.config.partnerRetryBackoffMs);
    if (notifyPeer && entry) {
      this.deps.send(
        { peerId, contact: entry.contact },
        { type: 'PartnershipRemove', peerId: this.deps.selfId, contentId },
      );
    }
    this.release(peerId);
  }

  /** Closes the connection to a peer we have no relation with any more. */
  release(peerId: string): void {
    if (this.deps.partners.hasRelation(peerId)) return;
    if (this.deps.keepConnection?.(peerId)) return;
    this.deps.transport.disconnect(peerId);
  }

  private dropExtras(contentId: string): void {
    const { partners, members, config } = this.deps;
    const extra = partners.partnerCount(contentId) - config.maxPartners;
    if (extra <= 0) return;
    // Drop those that lose least: the ones with the most other partners.
    const ranked = sortByWithRandomTies(
      this.deps.random,
      partners.partners(contentId),
      (p) => -(members.get(p.peerId)?.partnerCount ?? 0),
    );
    for (const p of ranked.slice(0, extra)) {
      this.deps.stats.partnersRemovedExtra++;
      this.removePartner(contentId, p.peerId, 'extra', true);
    }
  }

  private askForMembers(contentId: string, now: number): void {
    const { partners, members, selfId } = this.deps;
    let targets = partners.partners(contentId).map((p) => ({ peerId: p.peerId, contact: p.contact }));
    if (targets.length === 0) {
      targets = members
        .candidatesFor(contentId, now)
        .filter((m) => m.peerId !== selfId && m.reachability !== 'nat')
        .map((m) => ({ peerId: m.peerId, contact: m.contact }));
    }
    for (const t of sample(this.deps.random, targets, this.deps.config.membersReqFanout)) {
      this.deps.stats.membersReqSent++;
      this.deps.send(t, { type: 'MembersReq', peerId: selfId, contentId, max: this.deps.config.membersReqMax });
    }
  }
}
