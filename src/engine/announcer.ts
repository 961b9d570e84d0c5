// Our own Membership (thesis §3.3.4): seq, active contents, contact, TTL and partner count,
// sent every membershipPeriodMs to a few random members (gossip), and every
// membershipPartnerPeriodMs to every partner as well (their data planes hear from us far more
// often: buffer maps keep the partnership alive; the Membership keeps our mCache entry fresh). The tracker
// gets it with our joins and periodic re-announces (tracker-client.ts), or as a partner.
// A peer holding more contents than a Membership carries (a tracker's own peer) lists a random
// WireLimits.maxContents of them each time.
import type { Contact, MemberInfo, Membership, Reachability } from '../protocol/messages.js';
import type { Clock, Destination, Random } from './ports.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineStats } from './engine-stats.js';
import type { MemberCache } from './membership.js';
import type { PartnerCache } from './partnership.js';
import { sample } from './random-util.js';
import { WireLimits } from '../protocol/messages.js';

export interface AnnouncerDeps {
  self: { peerId: string; contact: Contact; reachability?: Reachability };
  clock: Clock;
  random: Random;
  config: EngineConfig;
  stats: EngineStats;
  members: MemberCache;
  partners: PartnerCache;
  activeContents: () => string[];
  send: (to: Destination, msg: Membership) => boolean;
}

export class Announcer {
  private seq = 0;
  private nextAt: number;
  /** Rounds until partners are included again (0: this round). */
  private roundsToPartners = 0;

  constructor(private readonly deps: AnnouncerDeps) {
    // Random phase so that peers started together do not announce in lockstep.
    const now = deps.clock.now();
    this.nextAt = now + deps.random.next() * deps.config.membershipPeriodMs;
  }

  /** A fresh own Membership (next seq). */
  next(): Membership {
    this.seq++;
    const all = this.deps.activeContents();
    return {
      type: 'Membership',
      peerId: this.deps.self.peerId,
      contentId: '',
      activeContents: all.length > WireLimits.maxContents ? sample(this.deps.random, all, WireLimits.maxContents) : all,
      seq: this.seq,
      contact: { ...this.deps.self.contact },
      ttlMs: this.deps.config.memberTtlMs,
      partnerCount: this.deps.partners.distinctPartners().size,
      reachability: this.deps.self.reachability ?? 'unknown',
    };
  }

  /** Ourselves as a members-list entry (the last announced seq). */
  selfInfo(): MemberInfo {
    return {
      peerId: this.deps.self.peerId,
      contact: { ...this.deps.self.contact },
      seq: this.seq,
      ttlMs: this.deps.config.memberTtlMs,
      partnerCount: this.deps.partners.distinctPartners().size,
      reachability: this.deps.self.reachability ?? 'unknown',
    };
  }

  /** Announces at once (our contact or reachability changed), instead of at the next period. */
  announceSoon(): void {
    this.nextAt = this.deps.clock.now();
    this.roundsToPartners = 0;
  }

  tick(now: number): void {
    if (now < this.nextAt) return;
    const c = this.deps.config;
    this.nextAt = now + c.membershipPeriodMs;
    const msg = this.next();
    const targets = new Map<string, Destination>();
    const partners = this.deps.partners.distinctPartners();
    if (this.roundsToPartners <= 0) {
      for (const [id, p] of partners) targets.set(id, { peerId: id, contact: p.contact });
      // Never so rare that a partner with nothing else from us would drop us or our mCache entry.
      const periodMs = Math.min(c.membershipPartnerPeriodMs, c.partnerStaleMs / 2, c.memberTtlMs / 2);
      this.roundsToPartners = Math.max(1, Math.floor(periodMs / c.membershipPeriodMs));
    }
    this.roundsToPartners--;
    const others: Array<{ peerId: string; contact: Contact }> = [];
    for (const e of this.deps.members.all()) {
      // A member behind a NAT cannot be dialled: it hears of us from partners and the tracker.
      if (e.expiresAt > now && !partners.has(e.peerId) && e.reachability !== 'nat') others.push({ peerId: e.peerId, contact: e.contact });
    }
    for (const d of sample(this.deps.random, others, c.membershipFanout)) targets.set(d.peerId, d);
    for (const to of targets.values()) this.deps.send(to, msg);
    this.deps.stats.membershipRounds++;
  }
}
