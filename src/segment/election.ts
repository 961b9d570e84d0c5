// Which main node on a segment is the local tracker, sans-IO. Main nodes probe the segment (LAN
// query) and hear the announces of the one that is; the rules:
//   - electing: an announce from a local tracker → follow it; nothing for waitMs → become it;
//   - leader: an announce from another local tracker with a lower peer id → follow it (two trackers
//     after a partition or a simultaneous start settle on the lowest id);
//   - follower: the tracker silent for leaderTimeoutMs, or its connection lost → electing again,
//     waiting rank × rankStepMs where rank is our place among the other main nodes of the last plan
//     (the lowest id takes over at once, the others only if it does not);
//   - a lower-id tracker heard while following another → follow the lower one.
import type { Contact } from '../protocol/messages.js';

export type ElectionState =
  | { kind: 'electing'; until: number }
  | { kind: 'leader'; since: number }
  | { kind: 'follower'; leaderId: string; contact: Contact; lastHeard: number };

export interface ElectionOptions {
  selfId: string;
  /** Time an electing main node listens before it becomes the tracker itself. */
  waitMs: number;
  /** A tracker not heard for this long is presumed gone. */
  leaderTimeoutMs: number;
  /** Extra wait per rank when re-electing after a loss. */
  rankStepMs: number;
}

export type ElectionChange =
  | { kind: 'became-leader' }
  | { kind: 'following'; leaderId: string; contact: Contact }
  | { kind: 'lost-leader'; leaderId: string };

export class SegmentElection {
  private s: ElectionState;

  constructor(private readonly opts: ElectionOptions, now: number) {
    this.s = { kind: 'electing', until: now + opts.waitMs };
  }

  get state(): ElectionState {
    return this.s;
  }

  get isLeader(): boolean {
    return this.s.kind === 'leader';
  }

  /** An announce from a local tracker (never ourselves). */
  heard(peerId: string, contact: Contact, now: number): ElectionChange | undefined {
    if (peerId === this.opts.selfId) return undefined;
    const s = this.s;
    if (s.kind === 'follower' && s.leaderId === peerId) {
      s.lastHeard = now;
      s.contact = { ...contact };
      return undefined;
    }
    if (s.kind === 'leader' && peerId > this.opts.selfId) return undefined; // it steps down
    if (s.kind === 'follower' && peerId > s.leaderId) return undefined; // keep the lower one
    this.s = { kind: 'follower', leaderId: peerId, contact: { ...contact }, lastHeard: now };
    return { kind: 'following', leaderId: peerId, contact: { ...contact } };
  }

  /** The connection to the tracker closed (the process died or the segment link went). */
  leaderLost(peerId: string, now: number, otherMains: readonly string[]): ElectionChange | undefined {
    const s = this.s;
    if (s.kind !== 'follower' || s.leaderId !== peerId) return undefined;
    return this.reelect(now, otherMains, peerId);
  }

  tick(now: number, otherMains: readonly string[]): ElectionChange | undefined {
    const s = this.s;
    if (s.kind === 'electing' && now >= s.until) {
      this.s = { kind: 'leader', since: now };
      return { kind: 'became-leader' };
    }
    if (s.kind === 'follower' && now - s.lastHeard > this.opts.leaderTimeoutMs) return this.reelect(now, otherMains, s.leaderId);
    return undefined;
  }

  private reelect(now: number, otherMains: readonly string[], lost: string): ElectionChange {
    const rivals = otherMains.filter((id) => id !== lost && id !== this.opts.selfId);
    const rank = rivals.filter((id) => id < this.opts.selfId).length;
    this.s = { kind: 'electing', until: now + rank * this.opts.rankStepMs };
    return { kind: 'lost-leader', leaderId: lost };
  }
}
