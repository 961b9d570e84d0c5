// One content joined by the engine, of any kind (docs/data-plane.md): the receive switch, the
// partner refresh and the Features each new partner is told, the buffer maps taken from partners,
// and the tick. What differs per kind — the window, the picker and verifier of its fetching side,
// the serving rules, the messages only it knows (live sub-streams, a download's manifest) — sits
// behind PlaneKind: live-kind.ts and download-kind.ts are the two kinds.
//
// Messages, for every kind:
//   BufferMapInfo   → taken when it comes from a partner, decodes and fits the kind's window
//                     (kind.fits), then kind.mapUpdated;
//   BufferMapDelta  → the same, for the partner's previous map with the delta applied;
//   DataChunkReq    → kind.serve(id, no deadline);  DataChunkDue → kind.serve(id, dueInMs);
//   DataChunkCancel → kind.cancel;  Features → the partner's extras;
//   DataChunkResp   → kind.response;  DataChunkReject → kind.reject;
//   anything else   → kind.other (what only that kind knows; the rest is ignored there).
// Every message's encoded size is counted in first, as chunk or control traffic.
import type { DataChunkReject, DataChunkResp } from '../../protocol/messages.js';
import type { BufferMap } from '../buffer-map.js';
import type { ContentMessage } from '../content-messages.js';
import type { LivePartner } from '../live-partners.js';
import type { PeerAddress } from '../ports.js';
import { isChunkMessage, messageBytes, type DropPeer, type PlaneCore } from './plane-core.js';

export type { DropPeer } from './plane-core.js';
import { PlanePartners } from './plane-partners.js';

/** What one kind of content adds to the plane (the strategy PlaneContent runs). */
export interface PlaneKind {
  /** Features names told to each new partner (none: the base protocol only). */
  readonly features: readonly string[];
  partnerAdded(p: LivePartner, now: number): void;
  /** A partner is gone (its map already removed). */
  partnerRemoved(peerId: string): void;
  /** Whether a partner's decoded map describes this content's window. */
  fits(map: BufferMap): boolean;
  /** A partner's map was taken. */
  mapUpdated(now: number): void;
  serve(from: PeerAddress, chunkId: number, dueInMs: number | undefined): void;
  cancel(from: PeerAddress, chunkId: number): void;
  response(from: PeerAddress, msg: DataChunkResp): void;
  reject(from: PeerAddress, msg: DataChunkReject): void;
  /** A message only some kinds know. */
  other(from: PeerAddress, msg: ContentMessage): void;
  tick(now: number): void;
}

export class PlaneContent<K extends PlaneKind> {
  readonly kind: K;
  private readonly partners: PlanePartners;

  /** `makeKind` gets the plane's way to end a partnership. */
  constructor(
    private readonly core: PlaneCore,
    makeKind: (drop: DropPeer) => K,
  ) {
    this.partners = new PlanePartners(core, {
      added: (p, now) => {
        if (this.kind.features.length > 0) this.partners.announce(p, this.kind.features);
        this.kind.partnerAdded(p, now);
      },
      removed: (peerId) => this.kind.partnerRemoved(peerId),
    });
    this.kind = makeKind((peerId, reason, blockMs) => this.partners.drop(peerId, reason, blockMs));
  }

  receive(from: PeerAddress, msg: ContentMessage): void {
    const { kind } = this;
    this.core.counters.countIn(messageBytes(msg), isChunkMessage(msg));
    switch (msg.type) {
      case 'BufferMapInfo':
      case 'BufferMapDelta': {
        const map = msg.type === 'BufferMapInfo' ? this.partners.decodeMap(from, msg) : this.partners.applyDelta(from, msg);
        if (!map || !kind.fits(map)) return;
        const now = this.core.clock.now();
        this.core.maps.update(from.peerId, map, now);
        return kind.mapUpdated(now);
      }
      case 'DataChunkReq':
        return kind.serve(from, msg.chunkId, undefined);
      case 'DataChunkDue':
        return kind.serve(from, msg.chunkId, msg.dueInMs);
      case 'DataChunkCancel':
        return kind.cancel(from, msg.chunkId);
      case 'Features':
        return this.partners.onFeatures(from, msg);
      case 'DataChunkResp':
        return kind.response(from, msg);
      case 'DataChunkReject':
        return kind.reject(from, msg);
      default:
        return kind.other(from, msg);
    }
  }

  tick(now: number): void {
    this.partners.refresh(now);
    this.kind.tick(now);
  }
}
