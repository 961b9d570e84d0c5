// A main node's data plane spans two overlays: the central one, reached through the uplink (engine
// U), and the segment's, where it is the local tracker's peer (engine S). Both engines carry the same
// peer id; this bridge shows them to LiveChannels as ONE engine, so one buffer per channel is filled
// from both sides and served to both: chunks flow from the uplink overlay into the segment overlay.
//
// - partners = segment partners, then uplink partners not also on the segment (a sibling main node
//   is reached over the segment, never over the uplink: it is blocked on U);
// - sends go out through the engine whose partner the peer is (else where we last heard it from);
// - every chunk received from an uplink partner is counted (uplink accounting and stall detection).
// - downloads ride the same bridge: a file the main node fetches over the uplink is served to local
//   nodes from the pieces it already holds (docs/main-node.md "Downloads through the main node").
// Sans-IO like the engines it wraps.
import type { MemberInfo, Message } from '../protocol/messages.js';
import type { ContentInfoSource, ContentMessageHandler } from '../engine/peer-engine.js';
import type { LiveChannelsEngine } from '../engine/live-channels.js';
import type { Clock, Destination, PartnerAddress } from '../engine/ports.js';
import type { ContentKind } from '../protocol/messages.js';

export type Side = 'uplink' | 'segment';

/** The part of PeerEngine the bridge uses (both sides). */
export interface BridgeEngine {
  readonly peerId: string;
  readonly partnersVersion: number;
  join(contentId: string, kind: ContentKind, title?: string): void;
  leave(contentId: string): void;
  isActive(contentId: string): boolean;
  partnersOf(contentId: string): PartnerAddress[];
  isPartner(contentId: string, peerId: string): boolean;
  isBlocked(contentId: string, peerId: string): boolean;
  dropPartner(contentId: string, peerId: string, reason: string, blockMs?: number): void;
  send(to: Destination, msg: Message): boolean;
  setContentMessageHandler(handler: ContentMessageHandler | undefined): void;
  knownMembers(contentId?: string): MemberInfo[];
  setContentInfoSource(source: ContentInfoSource | undefined): void;
}

export interface UplinkCounters {
  /** Chunk payload bytes received from uplink partners. */
  chunkBytesIn: number;
  chunksIn: number;
  /** Per content. */
  byContent: Map<string, number>;
  lastChunkAt: number;
  lastRequestAt: number;
}

export class BridgedEngine implements LiveChannelsEngine {
  readonly peerId: string;
  readonly uplinkCounters: UplinkCounters = { chunkBytesIn: 0, chunksIn: 0, byContent: new Map(), lastChunkAt: -Infinity, lastRequestAt: -Infinity };
  private readonly lastSide = new Map<string, Side>();
  private siblings = new Set<string>();

  constructor(
    readonly uplink: BridgeEngine,
    readonly segment: BridgeEngine,
    private readonly clock: Clock,
    /** How long a sibling main node stays blocked on the uplink engine (refreshed while it is one). */
    private readonly siblingBlockMs = 60_000,
  ) {
    if (uplink.peerId !== segment.peerId) throw new RangeError('both sides of a bridge must carry the same peer id');
    this.peerId = uplink.peerId;
  }

  get partnersVersion(): number {
    return this.uplink.partnersVersion + this.segment.partnersVersion;
  }

  /** Joins the content on both sides (the central tracker and the local one). */
  join(contentId: string, kind: ContentKind, title = ''): void {
    this.uplink.join(contentId, kind, title);
    this.segment.join(contentId, kind, title);
  }

  leave(contentId: string): void {
    this.uplink.leave(contentId);
    this.segment.leave(contentId);
  }

  isActive(contentId: string): boolean {
    return this.uplink.isActive(contentId) || this.segment.isActive(contentId);
  }

  partnersOf(contentId: string): PartnerAddress[] {
    const seg = this.segment.partnersOf(contentId);
    const ids = new Set(seg.map((p) => p.peerId));
    return [...seg, ...this.uplink.partnersOf(contentId).filter((p) => !ids.has(p.peerId))];
  }

  isPartner(contentId: string, peerId: string): boolean {
    return this.segment.isPartner(contentId, peerId) || this.uplink.isPartner(contentId, peerId);
  }

  /** Where a partner is reached (undefined for a non-partner). */
  sideOf(contentId: string, peerId: string): Side | undefined {
    if (this.segment.isPartner(contentId, peerId)) return 'segment';
    if (this.uplink.isPartner(contentId, peerId)) return 'uplink';
    return undefined;
  }

  dropPartner(contentId: string, peerId: string, reason: string, blockMs?: number): void {
    const seg = this.segment.isPartner(contentId, peerId);
    const up = this.uplink.isPartner(contentId, peerId);
    if (seg || !up) this.segment.dropPartner(contentId, peerId, reason, blockMs);
    if (up || !seg) this.uplink.dropPartner(contentId, peerId, reason, blockMs);
  }

  send(to: Destination, msg: Message): boolean {
    const id = to.peerId;
    let side: Side = 'uplink';
    if (id !== undefined) {
      if (this.segment.isPartner(msg.contentId, id)) side = 'segment';
      else if (!this.uplink.isPartner(msg.contentId, id)) side = this.lastSide.get(id) ?? 'uplink';
    }
    if (side === 'uplink' && msg.type === 'DataChunkReq') this.uplinkCounters.lastRequestAt = this.clock.now();
    return (side === 'segment' ? this.segment : this.uplink).send(to, msg);
  }

  /**
   * Members of a content known on either side (segment first), e.g. to ask for a manifest; each is
   * remembered on its side, so a send to it goes there (a segment member is never dialled from the
   * uplink engine, which would gossip it into the central overlay where nobody can reach it).
   */
  knownMembers(contentId?: string): MemberInfo[] {
    const seg = this.segment.knownMembers(contentId);
    const ids = new Set(seg.map((m) => m.peerId));
    for (const id of ids) if (!this.lastSide.has(id)) this.lastSide.set(id, 'segment');
    const up = this.uplink.knownMembers(contentId).filter((m) => !ids.has(m.peerId));
    for (const m of up) if (!this.lastSide.has(m.peerId)) this.lastSide.set(m.peerId, 'uplink');
    return [...seg, ...up];
  }

  /** Titles and sizes for ContentsResp on both sides. */
  setContentInfoSource(source: ContentInfoSource | undefined): void {
    this.uplink.setContentInfoSource(source);
    this.segment.setContentInfoSource(source);
  }

  setContentMessageHandler(handler: ContentMessageHandler | undefined): void {
    if (!handler) {
      this.uplink.setContentMessageHandler(undefined);
      this.segment.setContentMessageHandler(undefined);
      return;
    }
    this.segment.setContentMessageHandler((from, msg) => {
      this.lastSide.set(from.peerId, 'segment');
      handler(from, msg);
    });
    this.uplink.setContentMessageHandler((from, msg) => {
      this.lastSide.set(from.peerId, 'uplink');
      if (msg.type === 'DataChunkResp' && !this.segment.isPartner(msg.contentId, from.peerId)) {
        const c = this.uplinkCounters;
        const n = msg.data?.byteLength ?? 0;
        c.chunkBytesIn += n;
        c.chunksIn++;
        c.byContent.set(msg.contentId, (c.byContent.get(msg.contentId) ?? 0) + n);
        c.lastChunkAt = this.clock.now();
      }
      handler(from, msg);
    });
    if (this.lastSide.size > 4096) this.lastSide.clear();
  }

  /** Main nodes on the same segment: never partnered over the uplink. */
  setSiblings(ids: Iterable<string>): void {
    this.siblings = new Set([...ids].filter((id) => id !== this.peerId));
  }

  /** Keeps siblings blocked on the uplink side of every active content. */
  tick(contents: readonly string[]): void {
    for (const contentId of contents) {
      if (!this.uplink.isActive(contentId)) continue;
      for (const id of this.siblings) {
        if (this.uplink.isPartner(contentId, id) || !this.uplink.isBlocked(contentId, id)) {
          this.uplink.dropPartner(contentId, id, 'sibling-on-segment', this.siblingBlockMs);
        }
      }
    }
  }
}
