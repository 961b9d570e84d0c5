// The serving side's shared parts, the same for every kind of content. When a partner is due our
// buffer map: never sent one, sent one a period ago, or (past the least gap) our map changed since.
// The answer to a request: a queued request whose
// partner's latest map shows the chunk gets nothing (it got it elsewhere meanwhile: an implicit
// cancel), one for a chunk no longer held gets a Missing reject, the others get the chunk. What
// differs per kind is passed in: where the chunk is read from (a live buffer, a piece store) and what
// a chunk sent counts towards (send window, copies, counters).
import type { LivePartner } from '../live-partners.js';
import type { PeerAddress } from '../ports.js';
import type { ServeRequest } from '../upload-queue.js';
import { RejectReason, type PlaneCore } from './plane-core.js';

export interface ServedChunk {
  timestampMs: number;
  signature: Uint8Array;
  data: Uint8Array;
}

/** Sends our map to every partner due one; `changed(p)`: ours differs from the one it last got. */
export function advertiseDue(core: PlaneCore, now: number, changed: (p: LivePartner) => boolean, send: (p: LivePartner) => void): void {
  const c = core.config;
  for (const p of core.partners.all()) {
    const age = now - p.mapSentAt;
    if (age >= c.bufferMapPeriodMs || (age >= c.bufferMapMinGapMs && changed(p))) send(p);
  }
}

/**
 * A DataChunkReq's id and sender checked before anything else: false (the request goes no further)
 * for an id that is no chunk index, and, with a NotPartner reject, for a peer that is not a partner.
 */
export function requestAdmissible(core: PlaneCore, from: PeerAddress, chunkId: number): boolean {
  if (!Number.isSafeInteger(chunkId) || chunkId < 0) return false;
  if (core.partners.has(from.peerId) || core.engine.isPartner(core.contentId, from.peerId)) return true;
  rejectRequest(core, from, chunkId, RejectReason.NotPartner);
  return false;
}

/** Serves one queued request; returns the bytes sent (0: nothing sent). */
export function serveRequest(core: PlaneCore, r: ServeRequest<PeerAddress>, read: (chunkId: number) => ServedChunk | undefined, sentOne: (bytes: number) => void): number {
  if (core.maps.get(r.peerId)?.has(r.chunkId)) {
    core.counters.servesCancelled++;
    return 0;
  }
  const chunk = read(r.chunkId);
  if (!chunk) {
    rejectRequest(core, r.peer, r.chunkId, RejectReason.Missing);
    return 0;
  }
  const sent = core.send(r.peer, {
    type: 'DataChunkResp',
    peerId: core.selfId,
    contentId: core.contentId,
    chunkId: r.chunkId,
    timestampMs: chunk.timestampMs,
    signature: chunk.signature,
    data: chunk.data,
  });
  if (sent > 0) {
    sentOne(sent);
    core.partners.exchanged(r.peerId, core.clock.now(), true);
  }
  return sent;
}

/** A DataChunkReject, counted as a request refused. */
export function rejectRequest(core: PlaneCore, to: PeerAddress, chunkId: number, reason: string): void {
  core.counters.requestsRefused++;
  core.send(to, { type: 'DataChunkReject', peerId: core.selfId, contentId: core.contentId, chunkId, reason });
}
