// The plane's partner bookkeeping, the same for every kind of content: the partner view kept in step
// with the engine's partnerships (re-read when they changed), a partner's buffer map taken only from
// a partner and only when it decodes, and a partnership the plane itself ends (a bad chunk, a
// useless or complete partner): forgotten here at once, then removed, and blocked, in the engine.
// Partners tell each other what they understand beyond the base protocol (Features, once per
// partnership): a partner that said nothing is sent none of the extras.
import type { BufferMapDelta, BufferMapInfo, Features } from '../../protocol/messages.js';
import { BufferMap } from '../buffer-map.js';
import type { LivePartner } from '../live-partners.js';
import type { PeerAddress } from '../ports.js';
import type { PlaneCore } from './plane-core.js';

/** Features names: this plane takes DataChunkDue (requests with a deadline served first), DataChunkCancel. */
export const FEATURE_DUE = 'due';
export const FEATURE_CANCEL = 'cancel';
/** It takes BufferMapDelta (what changed in our map since the last one it got). */
export const FEATURE_MAP_DELTA = 'map-delta';
/** The names this build acts on; others in a partner's Features are ignored. */
const KNOWN = new Set([FEATURE_DUE, FEATURE_CANCEL, FEATURE_MAP_DELTA]);

export interface PartnerHooks {
  /** A new partner (to send it our map). */
  added(p: LivePartner, now: number): void;
  /** A partner is gone: everything kept about it goes (its map is already removed). */
  removed(peerId: string): void;
}

export class PlanePartners {
  private versionSeen: number | undefined;
  /** Features that came before this plane saw the partnership (peer id → names). */
  private readonly early = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly core: PlaneCore,
    private readonly hooks: PartnerHooks,
  ) {}

  /** Re-reads the engine's partners for this content when they changed (every call without a version). */
  refresh(now: number): void {
    const { core } = this;
    const version = core.engine.partnersVersion;
    if (version !== undefined && version === this.versionSeen) return;
    this.versionSeen = version;
    const changes = core.partners.refresh(core.engine.partnersOf(core.contentId), now);
    for (const p of changes.removed) this.forget(p.peerId);
    for (const p of changes.added) {
      p.features = this.early.get(p.peerId) ?? p.features;
      this.early.delete(p.peerId);
      this.hooks.added(p, now);
    }
    for (const id of this.early.keys()) if (!core.engine.isPartner(core.contentId, id)) this.early.delete(id);
  }

  /** A BufferMapInfo decoded, when it comes from a partner; undefined otherwise or when malformed (the previous map stays). */
  decodeMap(from: PeerAddress, msg: BufferMapInfo): BufferMap | undefined {
    return this.mapFrom(from, () => BufferMap.fromWire(msg));
  }

  /**
   * A BufferMapDelta applied to the partner's previous map (none yet: to an empty one, so its newest
   * chunks are known at once), when it comes from a partner; undefined otherwise or when malformed
   * (the previous map stays). The partner's next whole map mends whatever a lost delta left out.
   */
  applyDelta(from: PeerAddress, msg: BufferMapDelta): BufferMap | undefined {
    return this.mapFrom(from, () => BufferMap.applyDelta(this.core.maps.get(from.peerId) ?? BufferMap.empty(msg.floorId), msg));
  }

  /** The map `build` makes of a partner's message; undefined when the sender is no partner or the message is malformed. */
  private mapFrom(from: PeerAddress, build: () => BufferMap): BufferMap | undefined {
    const { core } = this;
    if (!core.partners.has(from.peerId) && !core.engine.isPartner(core.contentId, from.peerId)) return undefined;
    try {
      return build();
    } catch {
      return undefined;
    }
  }

  /** A partner's Features: what it understands beyond the base protocol (names we do not know are ignored). */
  onFeatures(from: PeerAddress, msg: Features): void {
    const { core } = this;
    const names = new Set(msg.names.filter((n) => KNOWN.has(n)));
    const p = core.partners.get(from.peerId);
    if (p) p.features = names;
    // The engine holds the partnership and this plane has not seen it yet: kept until refresh does.
    else if (core.engine.isPartner(core.contentId, from.peerId)) this.early.set(from.peerId, names);
  }

  /** Tells a new partner what this plane understands. */
  announce(p: LivePartner, names: readonly string[]): void {
    this.core.send(p.address, { type: 'Features', peerId: this.core.selfId, contentId: this.core.contentId, names: [...names] });
  }

  /** Ends a partnership from the data plane: forgotten here at once, removed (and blocked) in the engine. */
  drop(peerId: string, reason: string, blockMs: number): void {
    if (this.core.partners.remove(peerId)) this.forget(peerId);
    this.core.engine.dropPartner(this.core.contentId, peerId, reason, blockMs);
  }

  private forget(peerId: string): void {
    this.early.delete(peerId);
    this.core.maps.remove(peerId);
    this.hooks.removed(peerId);
  }
}
