// The peer side of joining a content through the tracker (thesis §3.3.5, Alice/Bob/Charles):
// TrackerJoin{allowRedirect:true} + Membership to the tracker; a TrackerRedirect sends us to a
// deputy with allowRedirect:false; a silent deputy (deputyTimeoutMs) sends us back to the tracker
// with allowRedirect:false; a silent tracker is asked again every trackerRetryMs. The member
// scheduler may also ask again (re-ask) when it runs out of candidates.
// Boxes announce, they do not hold on (DONet needs the tracker only at bootstrap): once every join
// is answered the connection to a tracker that answers joins only (it does not list itself) is
// closed (unless it is a partner, or we are behind a NAT and need it as rendezvous); a tracker that
// is also a peer stays connected like any member. Every trackerAnnouncePeriodMs (with jitter) the joined
// contents are announced again (TrackerJoin{allowRedirect:false} + Membership), which keeps the
// registry entry and brings fresh members; leaving sends TrackerLeave.
import type { Contact, ContentKind, MemberInfo, Membership, Message } from '../protocol/messages.js';
import { ErrorCode } from '../protocol/messages.js';
import type { Clock, Destination, EngineEvents, PeerAddress, Transport } from './ports.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineStats, JoinPhase } from './engine-stats.js';

export interface TrackerClientDeps {
  self: { peerId: string; contact: Contact };
  tracker?: Contact;
  clock: Clock;
  config: EngineConfig;
  stats: EngineStats;
  events?: EngineEvents;
  /** The engine's counting send. */
  send: (to: Destination, msg: Message) => boolean;
  /** A fresh own Membership (next seq). */
  membership: () => Membership;
  /** Access ticket to put in a join (IMS mode); none when absent. */
  ticketFor?: (contentId: string) => Uint8Array;
  /** Closes the tracker connection once the joins are answered; without it the connection stays. */
  transport?: Pick<Transport, 'disconnect' | 'isConnected'>;
  /** Whether the tracker connection must stay (the tracker is a partner; we need it as rendezvous). */
  keepTrackerConnection?: () => boolean;
  /** Re-announces and leaves over UDP to a tracker that answers joins only (src/net/udp-tracker-client.ts). */
  datagram?: TrackerDatagramPort;
}

/**
 * Datagram announces (after BEP 15): sends the messages to the tracker in datagrams; answers come
 * back through the engine's receive() as if from the tracker; `fallback` (TCP) is called when UDP
 * does not work out.
 */
export interface TrackerDatagramPort {
  announce(tracker: Contact, msgs: Message[], fallback: () => void): void;
}

/** The re-announce period varies by this fraction either way, so boxes started together spread out. */
export const ANNOUNCE_JITTER = 0.2;
/** The tracker connection stays this long after our last message to it (the answer and Membership pass). */
export const TRACKER_LINGER_MS = 2000;

interface JoinState {
  kind: ContentKind;
  title: string;
  phase: JoinPhase;
  /** allowRedirect of the outstanding tracker join. */
  allowRedirect: boolean;
  /** When the outstanding request (tracker or deputy) is given up. */
  deadline: number;
  deputy?: MemberInfo;
  /** Deputies asked for this join: their (late) answers must not be taken for the tracker's. */
  deputiesAsked: Set<string>;
  lastTrackerAskAt: number;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function sameContact(a: Contact, b: Contact): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

export class TrackerClient {
  private readonly joins = new Map<string, JoinState>();
  private trackerId: string | undefined;
  private nextAnnounceAt = Infinity;
  private lastTrackerSendAt = -Infinity;
  private announceRounds = 0;
  /** Whether the tracker listed itself in its last answer (then it is a peer, and stays connected). */
  private trackerIsPeer = true;

  constructor(private readonly deps: TrackerClientDeps) {}

  /** The tracker's peer id once a message revealed it. */
  get trackerPeerId(): string | undefined {
    return this.trackerId;
  }

  get hasTracker(): boolean {
    return this.deps.tracker !== undefined;
  }

  phase(contentId: string): JoinPhase | undefined {
    return this.joins.get(contentId)?.phase;
  }

  /** Starts joining; without a tracker the content counts as joined at once. */
  start(contentId: string, kind: ContentKind, title = ''): void {
    const now = this.deps.clock.now();
    const state: JoinState = {
      kind,
      title,
      phase: 'joined',
      allowRedirect: true,
      deadline: now,
      deputiesAsked: new Set(),
      lastTrackerAskAt: -Infinity,
    };
    this.joins.set(contentId, state);
    if (this.deps.tracker) this.askTracker(contentId, state, true);
    if (this.nextAnnounceAt === Infinity) this.scheduleAnnounce(now);
  }

  /** Leaves: tells the tracker (TrackerLeave) and forgets the join. */
  stop(contentId: string): void {
    if (!this.joins.delete(contentId)) return;
    const to = this.trackerDestination();
    if (to) this.sendToTracker(to, [{ type: 'TrackerLeave', peerId: this.deps.self.peerId, contentId }]);
    if (this.joins.size === 0) this.nextAnnounceAt = Infinity;
  }

  trackerDestination(): Destination | undefined {
    const contact = this.deps.tracker;
    if (!contact) return undefined;
    return this.trackerId !== undefined ? { peerId: this.trackerId, contact } : { contact };
  }

  /** The tracker while it may be a peer (it listed itself in its last answer, or has not answered yet); undefined for one that answers joins only. */
  peerTracker(): Destination | undefined {
    return this.trackerIsPeer ? this.trackerDestination() : undefined;
  }

  /** Whether `from` is the tracker (learning its id when its contact matches the configured one). */
  isTracker(from: PeerAddress): boolean {
    if (!this.deps.tracker) return false;
    if (this.trackerId !== undefined) return from.peerId === this.trackerId;
    if (from.contact && sameContact(from.contact, this.deps.tracker)) {
      this.trackerId = from.peerId;
      return true;
    }
    return false;
  }

  /** A TrackerMembers arrived (from the tracker or a deputy): the join is answered. */
  onMembers(contentId: string, from: PeerAddress, members?: unknown): void {
    const s = this.joins.get(contentId);
    if (!s) return;
    if (s.phase === 'asking-tracker' && !s.deputiesAsked.has(from.peerId)) {
      this.learnTracker(from);
      // A tracker that lists itself is also a peer (a partner candidate like any member): its
      // connection is kept. A front end that answers joins only is left once the joins are answered.
      if (from.peerId === this.trackerId && Array.isArray(members)) {
        this.trackerIsPeer = members.some((m) => typeof m === 'object' && m !== null && (m as MemberInfo).peerId === from.peerId);
      }
    }
    if (s.phase === 'asking-tracker' || s.phase === 'asking-deputy') s.phase = 'joined';
    s.deputy = undefined;
  }

  /** A TrackerRedirect: repeat the join at the deputy. Returns whether it was followed. */
  onRedirect(contentId: string, from: PeerAddress, deputy: MemberInfo): boolean {
    const s = this.joins.get(contentId);
    if (!s || s.phase !== 'asking-tracker') return false;
    this.learnTracker(from);
    const valid =
      typeof deputy === 'object' && deputy !== null && typeof deputy.peerId === 'string' &&
      deputy.peerId !== '' && deputy.peerId !== this.deps.self.peerId && deputy.peerId !== from.peerId &&
      typeof deputy.contact === 'object' && deputy.contact !== null;
    if (!valid) {
      this.askTracker(contentId, s, false);
      return false;
    }
    const now = this.deps.clock.now();
    s.phase = 'asking-deputy';
    s.deputy = deputy;
    s.deputiesAsked.add(deputy.peerId);
    s.deadline = now + this.deps.config.deputyTimeoutMs;
    const to: Destination = { peerId: deputy.peerId, contact: deputy.contact };
    this.deps.stats.redirectsFollowed++;
    this.deps.events?.redirected?.(contentId, deputy.peerId);
    this.sendJoin(to, contentId, s.kind, false, s.title);
    return true;
  }

  /** An Error message about a content we are joining. */
  onError(contentId: string, from: PeerAddress, code: number): void {
    const s = this.joins.get(contentId);
    if (!s) return;
    if (s.phase === 'asking-deputy' && s.deputy?.peerId === from.peerId) {
      // The deputy cannot help: back to the tracker, without redirect.
      this.askTracker(contentId, s, false);
      return;
    }
    if (code === ErrorCode.AccessDenied && (this.isTracker(from) || s.phase === 'asking-tracker')) {
      s.phase = 'refused';
      s.deputy = undefined;
    }
  }

  /**
   * The member scheduler found nothing to partner with: ask the tracker again (allowRedirect:false),
   * at most once per trackerRetryMs. Returns whether a join was sent.
   */
  reask(contentId: string): boolean {
    const s = this.joins.get(contentId);
    if (!s || !this.deps.tracker || s.phase !== 'joined') return false;
    if (this.deps.clock.now() - s.lastTrackerAskAt < this.deps.config.trackerRetryMs) return false;
    this.askTracker(contentId, s, false);
    s.phase = 'joined';
    return true;
  }

  /**
   * Points the client at another tracker (a local tracker found or replaced on the segment), or at
   * none: every content is joined again at the new one.
   */
  setTracker(contact: Contact | undefined): void {
    const cur = this.deps.tracker;
    if (cur === undefined ? contact === undefined : contact !== undefined && sameContact(cur, contact)) return;
    this.deps.tracker = contact ? { ...contact } : undefined;
    this.trackerId = undefined;
    this.trackerIsPeer = true;
    for (const [contentId, s] of this.joins) {
      if (contact) this.askTracker(contentId, s, true);
      else {
        s.phase = 'joined';
        s.deputy = undefined;
      }
    }
  }

  /**
   * Time-based work: retry a silent tracker, abandon a silent deputy, re-announce when the period
   * is up, close the tracker connection once nothing is pending.
   */
  tick(now: number): void {
    this.tickJoins(now);
    if (now >= this.nextAnnounceAt) this.reannounce(now);
    this.closeIdleTracker(now);
  }

  /** Re-announces at the next tick (our contact or reachability changed). */
  announceSoon(): void {
    if (this.joins.size > 0) this.nextAnnounceAt = this.deps.clock.now();
  }

  /** Every joined content again at the tracker (allowRedirect:false), then one Membership. */
  private reannounce(now: number): void {
    this.scheduleAnnounce(now);
    const to = this.trackerDestination();
    if (!to) return;
    const msgs: Message[] = [];
    for (const [contentId, s] of this.joins) {
      if (s.phase !== 'joined') continue;
      s.lastTrackerAskAt = now;
      this.deps.stats.trackerJoinsSent++;
      msgs.push(this.joinMessage(contentId, s.kind, false, s.title));
    }
    if (msgs.length === 0) return;
    msgs.push(this.deps.membership());
    this.deps.stats.trackerAnnounces++;
    this.sendToTracker(to, msgs);
  }

  /**
   * Messages for the tracker: in datagrams when UDP is on and the tracker answers joins only (a
   * front end we do not stay connected to); over TCP to a tracker that is also a peer (its
   * connection stays anyway), while behind a NAT (the tracker is our rendezvous: TCP stays), and as
   * UDP's fallback.
   */
  private sendToTracker(to: Destination, msgs: Message[]): void {
    const tcp = () => {
      this.lastTrackerSendAt = this.deps.clock.now();
      for (const m of msgs) this.deps.send(to, m);
    };
    const dg = this.deps.datagram;
    if (!dg || this.trackerIsPeer || this.trackerId === undefined || this.deps.keepTrackerConnection?.() === true) return tcp();
    this.deps.stats.trackerDatagramAnnounces++;
    dg.announce(to.contact, msgs, tcp);
  }

  /**
   * The jitter comes from our peer id and the announce count (FNV-1a), not from the engine's random
   * stream: boxes spread out, and the rest of the engine draws the same numbers as before.
   */
  private scheduleAnnounce(now: number): void {
    const period = this.deps.config.trackerAnnouncePeriodMs;
    const r = fnv1a(`${this.deps.self.peerId}#${this.announceRounds++}`) / 0x1_0000_0000;
    this.nextAnnounceAt = now + Math.max(1, Math.round(period * (1 - ANNOUNCE_JITTER + 2 * ANNOUNCE_JITTER * r)));
  }

  private closeIdleTracker(now: number): void {
    const t = this.deps.transport;
    const id = this.trackerId;
    if (!t || id === undefined || this.trackerIsPeer || now - this.lastTrackerSendAt < TRACKER_LINGER_MS) return;
    if (t.isConnected?.(id) !== true) return;
    for (const s of this.joins.values()) if (s.phase === 'asking-tracker') return;
    if (this.deps.keepTrackerConnection?.() === true) return;
    this.deps.stats.trackerDisconnects++;
    t.disconnect(id);
  }

  private tickJoins(now: number): void {
    for (const [contentId, s] of this.joins) {
      if (now < s.deadline) continue;
      if (s.phase === 'asking-tracker') {
        this.askTracker(contentId, s, s.allowRedirect);
      } else if (s.phase === 'asking-deputy') {
        this.deps.stats.deputyTimeouts++;
        this.deps.events?.warning?.({
          code: 'deputy-timeout',
          message: `deputy did not answer the join within ${this.deps.config.deputyTimeoutMs} ms; asking the tracker`,
          peerId: s.deputy?.peerId,
          contentId,
        });
        this.askTracker(contentId, s, false);
      }
    }
  }

  private askTracker(contentId: string, s: JoinState, allowRedirect: boolean): void {
    const to = this.trackerDestination();
    if (!to) return;
    const now = this.deps.clock.now();
    s.phase = 'asking-tracker';
    s.allowRedirect = allowRedirect;
    s.deputy = undefined;
    s.deadline = now + this.deps.config.trackerRetryMs;
    s.lastTrackerAskAt = now;
    this.sendJoin(to, contentId, s.kind, allowRedirect, s.title);
  }

  private sendJoin(to: Destination, contentId: string, kind: ContentKind, allowRedirect: boolean, title: string, withMembership = true): void {
    this.deps.stats.trackerJoinsSent++;
    if (to.contact === this.deps.tracker) this.lastTrackerSendAt = this.deps.clock.now();
    this.deps.send(to, this.joinMessage(contentId, kind, allowRedirect, title));
    // Announce ourselves right behind the join (after it, so the tracker has admitted us first).
    if (withMembership) this.deps.send(to, this.deps.membership());
  }

  private joinMessage(contentId: string, kind: ContentKind, allowRedirect: boolean, title: string): Message {
    const self = this.deps.self;
    return {
      type: 'TrackerJoin',
      peerId: self.peerId,
      contentId,
      contact: { ...self.contact },
      kind,
      title,
      allowRedirect,
      ticket: this.deps.ticketFor?.(contentId) ?? new Uint8Array(0),
    };
  }

  private learnTracker(from: PeerAddress): void {
    if (this.trackerId === undefined && this.deps.tracker) this.trackerId = from.peerId;
  }
}
